#include "scenario/toml_text.hpp"

#include <doctest/doctest.h>

using namespace simrun;

TEST_CASE("toml_hazard: non-ASCII outside strings and comments is refused where it stands") {
    auto d = toml_hazard("a = 1\n\xcf\xbf = 2\n");
    REQUIRE(d);
    CHECK(d->pos.line == 2);
    CHECK(d->pos.column == 1);
    d = toml_hazard("name = \"x\"\xe3\x80\x82\n");  // 。 after a value
    REQUIRE(d);
    CHECK(d->pos.column == 11);
}

TEST_CASE("toml_hazard: strings and comments may hold any character") {
    CHECK_FALSE(toml_hazard("# \xcf\xbf \xe3\x80\x82\nname = \"\xcf\xbf\"  # \xce\xb1\nd = '\xcf\xbf'\nm = '''\n\xcf\xbf'''\n"));
    CHECK_FALSE(toml_hazard("m = \"\"\"a \\\"\xcf\xbf\"\"\"\n"));  // an escaped quote, then the code point: not after a line end
    CHECK_FALSE(toml_hazard("k = \"a\\\\\" # \" \xcf\xbf\n"));       // the string ends after an escaped backslash
}

TEST_CASE("toml_hazard: the two string positions toml++ 3.3.0 asks about whitespace") {
    auto d = toml_hazard("m = \"\"\"a \\\n   \xcf\xbf\"\"\"\n");
    REQUIRE(d);
    CHECK(d->pos.line == 2);
    CHECK(d->pos.column == 4);
    CHECK(d->message.find("U+03FF after a line-ending backslash") == 0);
    CHECK(toml_hazard("m = \"\"\"\\\xcf\xbf\"\"\"\n"));
    // Outside the affected ranges (CJK ideographs) the same place is fine.
    CHECK_FALSE(toml_hazard("m = \"\"\"a \\\n   \xe4\xb8\x80\"\"\"\n"));
}

TEST_CASE("parse_toml: toml++'s own errors come back positioned") {
    auto t = parse_toml("a = \n", "x.toml");
    REQUIRE_FALSE(t);
    CHECK(t.error().pos.line == 1);
    CHECK(parse_toml("a = 1\n", "x.toml"));
}

TEST_CASE("a lone carriage return is refused where it stands; CRLF is a line end") {
    auto d = lone_carriage_return("[scenario]\rname = 5\r");
    REQUIRE(d);
    CHECK(d->pos.line == 1);
    CHECK(d->pos.column == 11);
    CHECK(d->message.find("carriage return") != std::string::npos);
    d = lone_carriage_return("a = 1\r\nb = 2\r\nc = 3\rd = 4\n");
    REQUIRE(d);
    CHECK(d->pos.line == 3);
    CHECK(d->pos.column == 6);
    CHECK_FALSE(lone_carriage_return("a = 1\r\nb = \"x\"\r\n"));
    CHECK(lone_carriage_return("a = 1\r"));
    auto parsed = parse_toml("a = 1\rb = 2\n", "t.toml");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().pos.column == 6);
}

#include "util/json.hpp"
#include "util/json_value.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace simrun;

TEST_CASE("parse_json reads what append_json_string writes, escapes and all") {
    std::string text = "{\"a\":[1,-2.5,true,false,null],\"s\":";
    append_json_string(text, "tab\there \"quoted\" \\ é \x01");
    text += ",\"o\":{\"k\":\"v\"}}";
    auto v = parse_json(text);
    REQUIRE(v.ok());
    CHECK(v.value()["a"].size() == 5);
    CHECK(v.value()["a"][1].num() == -2.5);
    CHECK(v.value()["a"][2].boolean());
    CHECK(!v.value()["a"][3].boolean(true));
    CHECK(v.value()["a"][4].is_null());
    CHECK(v.value()["s"].str() == "tab\there \"quoted\" \\ é \x01");
    CHECK(v.value()["o"]["k"].str() == "v");
    CHECK(v.value()["missing"]["deeper"].is_null());
}

TEST_CASE("parse_json: \\u escapes and surrogate pairs become UTF-8") {
    auto v = parse_json(R"(["\u00e9\ud83d\ude00\u0041"])");
    REQUIRE(v.ok());
    CHECK(v.value()[0].str() == "é😀A");
}

TEST_CASE("parse_json says where a document is broken") {
    CHECK(parse_json("{\"a\":1,}").error() == "line 1, column 8: expected a member name in quotes");
    CHECK(parse_json("[1 2]").error() == "line 1, column 4: expected ',' or ']'");
    CHECK(parse_json("{\n\"a\" 1}").error() == "line 2, column 5: expected ':'");
    CHECK(parse_json("\"open").error() == "line 1, column 6: the text ends inside a string");
    CHECK(parse_json("[1] x").error() == "line 1, column 5: text after the value");
    CHECK(parse_json("").error() == "line 1, column 1: the text ends where a value should be");
    CHECK(parse_json("[tru]").error() == "line 1, column 2: not a JSON value");
    CHECK(parse_json("[\"\\q\"]").error() == "line 1, column 4: an unknown escape in a string");
}

TEST_CASE("parse_json refuses nesting deeper than its limit instead of running out of stack") {
    std::string deep(100000, '[');
    auto v = parse_json(deep);
    REQUIRE(!v.ok());
    CHECK(v.error().find("nested deeper than 128 levels") != std::string::npos);
    std::string ok(kMaxJsonDepth, '[');
    ok += std::string(kMaxJsonDepth, ']');
    CHECK(parse_json(ok).ok());
}

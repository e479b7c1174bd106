#include "scenario/diagnostic.hpp"

#include <doctest/doctest.h>

using namespace simrun;

TEST_CASE("the caret lines up under tabs") {
    CHECK(render_diagnostic("f.toml", "a\n\tx = 1\n", {{2, 2}, "bad"}) == "f.toml:2:2: error: bad\n\tx = 1\n\t^\n");
}

TEST_CASE("no position: just the path") {
    CHECK(render_diagnostic("f.toml", "", {{}, "cannot read"}) == "f.toml: error: cannot read\n");
}

TEST_CASE("did you mean") {
    CHECK(did_you_mean("emtpy", {"empty", "full"}) == "empty");
    CHECK(did_you_mean("xyz", {"empty", "full"}).empty());
    CHECK(did_you_mean("Q", {"P", "V"}).empty());  // one letter, all different: no suggestion
    CHECK(did_you_mean_suffix("cont", {"count", "name"}) == " (did you mean 'count'?)");
}

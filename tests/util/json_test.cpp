#include "util/json.hpp"

#include <doctest/doctest.h>

using simrun::json_string;

TEST_CASE("json strings escape quotes, backslashes and control characters") {
    CHECK(json_string("plain") == "\"plain\"");
    CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json_string("l1\nl2\t\r") == "\"l1\\nl2\\t\\r\"");
    CHECK(json_string(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\\u007f\"");
    CHECK(json_string(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
}

TEST_CASE("json strings keep valid UTF-8 and replace invalid bytes") {
    CHECK(json_string("→ ⏸ é") == "\"→ ⏸ é\"");
    CHECK(json_string("\xff") == "\"\xEF\xBF\xBD\"");
    CHECK(json_string("\xc3") == "\"\xEF\xBF\xBD\"");             // truncated sequence
    CHECK(json_string("\xc0\xaf") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
    CHECK(json_string("\xed\xa0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

#include "util/duration.hpp"

#include <doctest/doctest.h>

using simrun::parse_duration_ns;

TEST_CASE("durations") {
    CHECK(parse_duration_ns("10s") == 10'000'000'000);
    CHECK(parse_duration_ns("250ms") == 250'000'000);
    CHECK(parse_duration_ns("1.5s") == 1'500'000'000);
    CHECK(parse_duration_ns("5us") == 5'000);
    CHECK(parse_duration_ns("2m") == 120'000'000'000);
    CHECK_FALSE(parse_duration_ns("10"));
    CHECK_FALSE(parse_duration_ns("ms"));
    CHECK_FALSE(parse_duration_ns("-1s"));
    CHECK_FALSE(parse_duration_ns("1h"));
    CHECK_FALSE(parse_duration_ns("1e300s"));
    CHECK(simrun::format_duration_ns(41'200'000) == "41.2 ms");
}

#include "util/duration.hpp"
#include "util/size.hpp"

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

TEST_CASE("sizes: bytes, binary and decimal units") {
    using simrun::parse_size_bytes;
    CHECK(parse_size_bytes("4096") == 4096);
    CHECK(parse_size_bytes("100B") == 100);
    CHECK(parse_size_bytes("512KiB") == 512 * 1024);
    CHECK(parse_size_bytes("64MiB") == 64LL << 20);
    CHECK(parse_size_bytes("1GiB") == 1LL << 30);
    CHECK(parse_size_bytes("10MB") == 10'000'000);
    CHECK(parse_size_bytes("3kB") == 3000);
    CHECK_FALSE(parse_size_bytes("64 MiB"));
    CHECK_FALSE(parse_size_bytes("-1"));
    CHECK_FALSE(parse_size_bytes("MiB"));
    CHECK_FALSE(parse_size_bytes("9999999999TiB"));
    CHECK(simrun::format_size_bytes(64LL << 20) == "64 MiB");
    CHECK(simrun::format_size_bytes(1536) == "1.5 KiB");
    CHECK(simrun::format_size_bytes(100) == "100 B");
}

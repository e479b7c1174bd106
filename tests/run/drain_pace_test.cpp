// The supervisor's drain pace: quiet rings, the full turn; a busy writer,
// drains often enough that its ring stays about a quarter full.
#include "run/drain_pace.hpp"

#include <doctest/doctest.h>

using namespace simrun;

namespace {
constexpr std::uint64_t kMs = 1'000'000;
}

TEST_CASE("quiet rings: the loop sleeps its full turn") {
    DrainPace pace(4096);
    CHECK(pace.after_drain(1 * kMs, 0) == DrainPace::kQuiet);
    CHECK(pace.after_drain(11 * kMs, 0) == DrainPace::kQuiet);
}

TEST_CASE("a busy writer: the next drain comes when its ring is a quarter full") {
    DrainPace pace(4096);
    (void)pace.after_drain(10 * kMs, 0);
    // 4096 records in 1 ms: 1024 of them take 250 us.
    CHECK(pace.after_drain(11 * kMs, 4096) == 250'000);
    // Keeping pace: 1024 records in 250 us, the same sleep.
    CHECK(pace.after_drain(11 * kMs + 250'000, 1024) == 250'000);
}

TEST_CASE("the pace shortens at once, lengthens halfway, within its bounds") {
    DrainPace pace(4096);
    (void)pace.after_drain(10 * kMs, 0);
    CHECK(pace.after_drain(11 * kMs, 4096) == 250'000);
    // The writer slowed to 1024 records in 2 ms: ideal 2 ms, half way there.
    CHECK(pace.after_drain(13 * kMs, 1024) == (250'000 + 2 * kMs) / 2);
    // Faster than the floor allows: the floor.
    CHECK(pace.after_drain(13 * kMs + 10'000, 4096) == DrainPace::kFastest);
    // Quiet again: the full turn at once.
    CHECK(pace.after_drain(20 * kMs, 0) == DrainPace::kQuiet);
    // A writer slower than the full turn: never longer than it.
    (void)pace.after_drain(30 * kMs, 0);
    CHECK(pace.after_drain(130 * kMs, 10) == DrainPace::kQuiet);
}

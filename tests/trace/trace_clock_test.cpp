// Trace stamps (the time-stamp counter where the kernel keeps time with it)
// come out of the conversion as CLOCK_MONOTONIC ns, in order.
#include "trace/trace_clock.hpp"

#include <doctest/doctest.h>
#include <time.h>

#include <vector>

using namespace simrun;

TEST_CASE("stamps convert to the CLOCK_MONOTONIC ns around them, never backwards") {
    g_trace_tsc = tsc_usable();
    const ClockSample start = sample_clock();
    struct Point {
        std::uint64_t before, stamp, after;
    };
    std::vector<Point> points;
    for (int i = 0; i < 20; ++i) {
        Point p;
        p.before = monotonic_ns();
        p.stamp = trace_now();
        p.after = monotonic_ns();
        points.push_back(p);
        const timespec pause = {0, 200'000};
        nanosleep(&pause, nullptr);
    }
    const StampToNs to_ns(start, sample_clock(), g_trace_tsc);
    std::uint64_t prev = 0;
    for (const Point& p : points) {
        const std::uint64_t ns = to_ns(p.stamp);
        // A few microseconds for the fit's sampling on a busy machine.
        CHECK(ns + 5'000 >= p.before);
        CHECK(ns <= p.after + 5'000);
        CHECK(ns >= prev);
        prev = ns;
    }
    g_trace_tsc = false;
}

TEST_CASE("without the counter, stamps are already ns") {
    const StampToNs to_ns({100, 100}, {900, 900}, false);
    CHECK(to_ns(12345) == 12345);
    const StampToNs tsc({1000, 5000}, {3000, 6000}, true);  // two stamps per ns
    CHECK(tsc(1000) == 5000);
    CHECK(tsc(2000) == 5500);
    CHECK(tsc(999) == 5000);  // rounded half up: 4999.5
    CHECK(tsc(4000) == 6500);  // past the end: the same line
}

#include "trace/trace_clock.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace simrun {

bool g_trace_tsc = false;

std::uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

bool tsc_usable() {
#if defined(__x86_64__)
    static const bool usable = [] {
        const char* want = std::getenv("SIMRUN_CLOCK");
        if (want && std::strcmp(want, "monotonic") == 0) return false;
        int fd = ::open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        char buf[32] = {};
        ssize_t n = ::read(fd, buf, sizeof buf - 1);
        ::close(fd);
        return n >= 3 && std::strncmp(buf, "tsc\n", 4) == 0;
    }();
    return usable;
#else
    return false;
#endif
}

ClockSample sample_clock() {
    // The tightest of a few (stamp, ns, stamp) brackets: the ns reading
    // sits between its two stamps, so their midpoint is its stamp.
    ClockSample best;
    std::uint64_t best_width = ~0ull;
    for (int i = 0; i < 5; ++i) {
        const std::uint64_t a = trace_now(), ns = monotonic_ns(), b = trace_now();
        if (b - a < best_width) best_width = b - a, best = {a + (b - a) / 2, ns};
    }
    return best;
}

StampToNs::StampToNs(ClockSample start, ClockSample end, bool tsc) : start_(start), tsc_(tsc) {
    if (tsc && end.stamp > start.stamp && end.ns > start.ns)
        ns_per_stamp_ = static_cast<double>(end.ns - start.ns) / static_cast<double>(end.stamp - start.stamp);
}

std::uint64_t StampToNs::operator()(std::uint64_t stamp) const {
    if (!tsc_) return stamp;
    const double offset = static_cast<double>(static_cast<std::int64_t>(stamp - start_.stamp)) * ns_per_stamp_;
    const double ns = static_cast<double>(start_.ns) + offset;
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns + 0.5);
}

}  // namespace simrun

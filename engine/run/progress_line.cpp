#include "run/progress_line.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace simrun {

ProgressLine::ProgressLine(bool enabled, std::uint64_t t0_ns) : enabled_(enabled && isatty(STDERR_FILENO)), t0_(t0_ns) {}

void ProgressLine::show(std::uint64_t now, int alive, std::size_t processes, std::uint64_t events) {
    if (!enabled_ || now - t0_ < 1'000'000'000 || now < next_) return;
    next_ = now + 250'000'000;
    fmt::print(stderr, "\r  running {:.1f} s · {} of {} processes alive · {} events\033[K", static_cast<double>(now - t0_) / 1e9, alive,
               processes, events);
    shown_ = true;
}

void ProgressLine::erase() {
    if (shown_) fmt::print(stderr, "\r\033[K");
    shown_ = false;
}

}  // namespace simrun

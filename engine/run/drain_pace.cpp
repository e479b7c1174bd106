#include "run/drain_pace.hpp"

#include <algorithm>

namespace simrun {

std::uint64_t DrainPace::after_drain(std::uint64_t now_ns, std::uint64_t fullest) {
    const std::uint64_t since = last_ns_ != 0 && now_ns > last_ns_ ? now_ns - last_ns_ : 0;
    last_ns_ = now_ns;
    if (fullest == 0) return sleep_ = kQuiet;
    if (since == 0) return sleep_;
    // The time the busiest writer takes to write `target_` records at the
    // rate it just wrote; halfway there from the last sleep, so one odd
    // turn (a writer descheduled, a burst) does not swing it all the way.
    const long double per_record = static_cast<long double>(since) / static_cast<long double>(fullest);
    const auto ideal = static_cast<std::uint64_t>(per_record * static_cast<long double>(target_));
    const std::uint64_t next = ideal < sleep_ ? ideal : (sleep_ + ideal) / 2;
    return sleep_ = std::clamp(next, kFastest, kQuiet);
}

}  // namespace simrun

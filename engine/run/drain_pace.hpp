// How long the supervisor's loop may sleep before it drains the rings again.
// It keeps pace with the busiest ring: sleeping while a writer fills its
// ring makes the writer wake the supervisor itself (an eventfd write at 3/4
// full, RingWriter::make_room), and on a virtual machine a wake-up costs the
// writer 2 to 100 µs, as much as hundreds of traced calls. So the reader
// drains on its own timer instead, often enough that the busiest ring stays
// about a quarter full, and sleeps the full turn while the rings are quiet.
// Plain arithmetic on times the caller passes: no clock, no system call.
#pragma once

#include <cstdint>

namespace simrun {

class DrainPace {
public:
    static constexpr std::uint64_t kQuiet = 10'000'000;  // ns: the loop's turn when nothing is written
    static constexpr std::uint64_t kFastest = 100'000;   // ns: the shortest sleep it asks for

    explicit DrainPace(std::uint64_t ring_capacity) : target_(ring_capacity / 4 > 0 ? ring_capacity / 4 : 1) {}

    // A drain at `now_ns` found at most `fullest` records in one ring: the
    // time to sleep before the next one.
    std::uint64_t after_drain(std::uint64_t now_ns, std::uint64_t fullest);

private:
    std::uint64_t target_;         // records the busiest ring may hold at a drain
    std::uint64_t last_ns_ = 0;    // the previous drain (0: none yet)
    std::uint64_t sleep_ = kQuiet;
};

}  // namespace simrun

// A status line on stderr for runs longer than a second, when stderr is a
// terminal: "running 3.2 s · 2 of 3 processes alive · 120411 events",
// redrawn four times a second and erased when the run ends.
#pragma once

#include <cstdint>
#include <cstdio>

namespace simrun {

class ProgressLine {
public:
    ProgressLine(bool enabled, std::uint64_t t0_ns);
    void show(std::uint64_t now_ns, int alive, std::size_t processes, std::uint64_t events);
    void erase();

private:
    bool enabled_;
    std::uint64_t t0_;
    std::uint64_t next_ = 0;
    bool shown_ = false;
};

}  // namespace simrun

// The limits an rlimit cannot enforce, enforced by the supervisor on exec'd
// programs: wall time, bytes of output, and the size of a program's process
// group (RLIMIT_NPROC means nothing to a real root). Also notes each
// program's memory high-water mark for its verdict. Polled from the run
// loop; kills with SIGKILL (the whole group of a program simrun started)
// and remembers why.
#pragma once

#include "plan/plan.hpp"
#include "run/run_result.hpp"
#include "trace/arena.hpp"

#include <cstdint>
#include <vector>

namespace simrun {

class LimitWatch {
public:
    LimitWatch(const Plan& plan, const Arena& arena);
    // Every few milliseconds: wall time, process groups, memory peaks.
    void tick(std::uint64_t now_ns);
    // n more bytes of p's stdout; returns how many of them to keep (the
    // rest is over the limit, and p has been killed).
    std::size_t on_output(int p, std::size_t n);
    LimitHit hit(int p) const { return hit_[p]; }
    std::int64_t vm_peak_kb(int p) const { return vm_peak_[p]; }

private:
    void kill_program(int p, LimitHit why);

    const Plan& plan_;
    const Arena& arena_;
    bool proc_ours_;                       // /proc shows our PID namespace
    std::vector<LimitHit> hit_;
    std::vector<std::uint64_t> started_;   // when simrun first saw it running (0: not yet)
    std::vector<std::int64_t> vm_peak_;
    std::vector<std::int64_t> output_;     // stdout bytes seen
    std::uint64_t next_tick_ = 0;
};

}  // namespace simrun

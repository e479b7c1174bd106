// The limits an rlimit cannot enforce, enforced by the supervisor on exec'd
// programs: wall time, bytes of output, the size of a program's process
// group, and the number of the run's processes however they left their
// groups (setsid, setpgid): at most the programs' process limits together
// and the declared processes (RLIMIT_NPROC means nothing to a real root,
// nor to the sandbox's uid when root started simrun). Also notes each
// program's memory high-water mark for its verdict. Wall time and memory
// are polled from the run loop; process groups by a thread of their own,
// which keeps the real-time priority the supervisor starts with when simrun
// is root (the rest of the supervisor drops it: it must not take a CPU
// from the processes it watches). A fork bomb's thousands of runnable
// processes cannot starve that thread, and when the run ends it is the
// thread that kills what is left (sweep()), while the supervisor reaps.
// Kills with SIGKILL (the whole group of a program simrun started) and
// remembers why.
#pragma once

#include "plan/plan.hpp"
#include "trace/run_result.hpp"
#include "trace/arena.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace simrun {

class LimitWatch {
public:
    LimitWatch(const Plan& plan, const Arena& arena);
    ~LimitWatch() { stop(); }
    // From now on the thread kills every process of the run each turn
    // (and still counts them first, so a limit passed is still named).
    void sweep() { sweep_ = true; }
    // Stops the process-group thread; hit() is final after this.
    void stop();
    // Whether the thread runs (it needs an exec'd program and a /proc of our own).
    bool watching() const { return thread_.joinable(); }
    // Every few milliseconds: wall time, process groups, memory peaks.
    void tick(std::uint64_t now_ns);
    // n more bytes of p's stdout; returns how many of them to keep (the
    // rest is over the limit, and p has been killed).
    std::size_t on_output(int p, std::size_t n);
    LimitHit hit(int p) const { return hit_[p] != LimitHit::None ? hit_[p] : group_hit_[p].load() ? LimitHit::Processes : LimitHit::None; }
    std::int64_t vm_peak_kb(int p) const { return vm_peak_[p]; }

private:
    void kill_program(int p, LimitHit why);
    void kill_group(int p);
    void watch_groups();  // the thread
    void check_run_total(const std::vector<pid_t>& live);

    const Plan& plan_;
    const Arena& arena_;
    bool proc_ours_;                       // /proc shows our PID namespace
    std::vector<LimitHit> hit_;
    std::vector<std::uint64_t> started_;   // when simrun first saw it running (0: not yet)
    std::vector<std::int64_t> vm_peak_;
    std::vector<std::int64_t> output_;     // stdout bytes seen
    std::uint64_t next_tick_ = 0;
    std::unique_ptr<std::atomic<bool>[]> group_hit_;  // per process: killed for its group's size (by the thread)
    std::size_t run_cap_ = 0;              // the run's processes together, at most
    std::atomic<bool> sweep_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace simrun

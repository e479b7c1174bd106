// Reading the run's process table (the status slots in the trace arena) from
// the supervisor: is the run deadlocked, where is each process, and killing
// whatever is left. Never touches a process except to kill it.
#pragma once

#include "plan/plan.hpp"
#include "run/proc_explain.hpp"
#include "run/wait_for.hpp"
#include "sandbox/sandbox.hpp"
#include "trace/arena.hpp"

#include <semaphore.h>

#include <cstdint>
#include <string>
#include <vector>

namespace simrun {

class ProcessWatch {
public:
    ProcessWatch(const Plan& plan, const Arena& arena, const std::vector<int>& semids, const std::vector<sem_t*>& psems, IdNames names,
                 std::int64_t deadlock_after_ns)
        : plan_(plan), arena_(arena), semids_(semids), psems_(psems), names_(std::move(names)), deadlock_after_ns_(deadlock_after_ns) {}

    // Livelock: the same, with at least one scripted busy wait spinning among them.
    enum class Stall { None, Deadlock, AllowedBlocked, Livelock };
    // Free mode: every live process waits (in a semop that cannot proceed
    // with today's values, in a pipe, or for its children), and no record
    // has been written for deadlock_after_ns: a deadlock, unless every
    // blocked process is declared may_end_blocked. `progress` is the number
    // of records written so far.
    Stall stalled(std::uint64_t now, std::uint64_t progress);

    // "consumer#0 waits in 'P slots.full' (slots.full = 0)", one line per live
    // process; an exec'd program explained from /proc ("runs ./prog: sleeping
    // in semtimedop(semid 3 = lock, [mutex -1]): lock.mutex = 0, 1 waiting").
    std::vector<std::string> describe_live() const;

    // The wait-for graph of the processes that wait now; last_taker (flat)
    // as read from the records (run/last_takers.hpp).
    WaitForGraph wait_for_graph(std::vector<int> last_taker) const;
    // SIGKILL to every process of the run still alive.
    void kill_all(SandboxMode mode) const;

private:
    bool could_proceed(std::uint32_t op_index) const;
    bool writers_all_known(pid_t pid, int fd) const;
    std::string where(std::uint32_t p) const;

    const Plan& plan_;
    const Arena& arena_;
    const std::vector<int>& semids_;
    const std::vector<sem_t*>& psems_;
    IdNames names_;  // for explaining what an exec'd program is blocked in
    std::int64_t deadlock_after_ns_;
    std::uint64_t last_progress_ = 0, stall_since_ = 0;
};

}  // namespace simrun

// What /proc says about the run's live processes: how many there are per
// process group (a fork bomb), a program's memory high-water mark. Only
// meaningful when /proc shows the supervisor's own PID namespace, which
// proc_is_ours() checks (the sandbox mounts one; the fallback shares the
// machine's).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace simrun {

bool proc_is_ours();

// A small /proc file into buf, NUL-terminated; false if it is gone.
bool read_proc_file(const char* path, char* buf, std::size_t size);

// Live processes of this user (as /proc shows them).
std::int64_t processes_of_user(uid_t uid);

// The children of `roots`, their children, and so on.
struct Descendant {
    pid_t pid;
    bool zombie;  // dead, its parent has yet to reap it
};
std::vector<Descendant> descendants(const std::vector<pid_t>& roots);

// One pass over /proc: live processes per process group, and the live
// processes below root (its children, theirs, ...: with root the
// supervisor, every process of the run, however it left its group).
struct Census {
    std::unordered_map<pid_t, int> per_group;
    std::vector<pid_t> live_below;
};
Census take_census(pid_t root);

// When pid started (clock ticks since boot, /proc/PID/stat field 22): with
// the pid it names one process, whatever pids are reused. 0 if gone.
std::uint64_t start_time(pid_t pid);

// Whether pid still runs simrun's own binary (forked, not yet exec'd).
bool runs_our_binary(pid_t pid);

// VmPeak of pid in KiB; 0 if it cannot be read (gone, or a zombie).
std::int64_t vm_peak_kb(pid_t pid);

// Whether a handler may still run in pid for a signal already sent: it is
// running (perhaps delivering it now), or a signal it does not block is
// pending. False when it sleeps with nothing deliverable pending (the
// signal merged with one pending before, or went to a disposition nobody
// announced), is stopped, or is gone.
bool signal_may_come(pid_t pid);

}  // namespace simrun

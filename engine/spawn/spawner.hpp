// Forking one scenario process. The child side does only async-signal-safe
// work (close, dup2, ring writes, execve) before it runs its script or execs.
// Used by the supervisor for top-level processes and by the agent for the
// children a scripted process declares.
#pragma once

#include "spawn/runtime.hpp"

#include <sys/resource.h>
#include <sys/types.h>

namespace simrun {

// Runs a scripted process's body in the child; returns its exit code.
using ScriptMain = int (*)(Runtime& rt, int proc);

// Forks process `proc`; the forker records the spawn in its own ring.
// Returns the pid, or -1 with errno set (also recorded).
pid_t spawn_process(Runtime& rt, int proc, RingWriter& forker_ring, ScriptMain script);

// In the child: close the ends of every pipe neither `proc` nor any of its
// descendants uses (if `subtree` is false: that `proc` itself does not use,
// nor the subtrees of the children in `pending`, which it has yet to fork).
void close_unused_pipe_ends(Runtime& rt, int proc, bool subtree, const int* pending = nullptr, std::size_t n_pending = 0);

// Records the exit of a reaped child (by pid) and marks its slot. Returns the
// process index, or -1 if the pid is not one of the run's processes. The
// supervisor (by_supervisor) reaps orphans too: a declared process whose
// parent never waited is marked adopted, an undeclared one recorded as
// Reaped; both are zombies their parents left, unless simrun killed them
// itself as the run ended (end_kill: a deadlock or a timeout stopped them).
int record_exit(const Runtime& rt, RingWriter& reaper_ring, pid_t pid, int status, const struct rusage& usage,
                bool by_supervisor = false, bool end_kill = false);

// Process p has died (seen through its pidfd): if its parent is a scripted
// process that has not reaped it, record it as a zombie; record its live
// children as orphans, re-parented to the supervisor.
void record_death(const Runtime& rt, RingWriter& ring, int p, pid_t new_parent);

}  // namespace simrun

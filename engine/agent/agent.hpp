// The agent: the body of a scripted process. It forks the process's declared
// children, interprets its compiled ops, and reaps its children. Each op is
// one step: record, do the real system call, record the result. Blocking ops
// first try without blocking, so "would block" is observable (and can later
// hand control to a scheduler). No allocation, no parsing: only the Plan.
#pragma once

#include "spawn/runtime.hpp"

namespace simrun {

// The ScriptMain for spawn_process: runs the script in the child and ends
// the process itself (_exit), so it never returns.
int run_script(Runtime& rt, int proc);

}  // namespace simrun

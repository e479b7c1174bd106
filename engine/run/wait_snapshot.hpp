// Taking the snapshot the wait-for graph is built from (run/wait_for.hpp):
// the slots of the arena and the kernel's semaphore values, now.
#pragma once

#include "plan/plan.hpp"
#include "run/wait_for.hpp"
#include "trace/arena.hpp"

#include <semaphore.h>

#include <functional>
#include <vector>

namespace simrun {

// The processes to look at, by their slots in the arena: the declared ones
// (slot p for process p), then the children of programs (with their names
// and parents: -1 for none among them). alive(i): started and not dead;
// waits(i): stuck. last_taker (flat) as far as the caller knows it.
struct SnapshotProcs {
    std::vector<int> slots;
    std::vector<std::string> names;  // "" for a declared process
    std::vector<int> parents;        // -1: a declared process, or a parent not among them
};
WaitSnapshot take_wait_snapshot(const Plan& plan, const Arena& arena, const SnapshotProcs& procs, const std::vector<int>& semids,
                                const std::vector<sem_t*>& psems, const std::function<bool(int)>& alive,
                                const std::function<bool(int)>& waits, std::vector<int> last_taker);

// The declared processes only (slot p for process p).
SnapshotProcs declared_procs(const Plan& plan);

// The report's lines for a graph: "  left   waits in ...", then the cycle
// and the semaphores held by the dead. `with_waits` false: only those two.
std::vector<std::string> wait_for_lines(const Plan& plan, const WaitForGraph& g, bool with_waits);

}  // namespace simrun

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

// alive(p): p has started and is not dead; waits(p): p is stuck.
// last_taker (flat) as far as the caller knows it; empty for none known.
WaitSnapshot take_wait_snapshot(const Plan& plan, const Arena& arena, const std::vector<int>& semids, const std::vector<sem_t*>& psems,
                                const std::function<bool(int)>& alive, const std::function<bool(int)>& waits,
                                std::vector<int> last_taker);

// The report's lines for a graph: "  left   waits in ...", then the cycle
// and the semaphores held by the dead. `with_waits` false: only those two.
std::vector<std::string> wait_for_lines(const Plan& plan, const WaitForGraph& g, bool with_waits);

}  // namespace simrun

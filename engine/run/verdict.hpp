// The verdict on one process: from its wait status, what simrun saw while
// it ran (limits it hit, its memory high-water mark) and its limits.
#pragma once

#include "plan/plan.hpp"
#include "trace/run_result.hpp"

#include <string>

namespace simrun {

// Sets end.verdict and end.verdict_detail. `outcome` tells a process simrun
// stopped at the timeout (time limit) from one stopped at a deadlock.
void judge(const PlanProcess& pp, Outcome outcome, ProcessEnd& end);

}  // namespace simrun

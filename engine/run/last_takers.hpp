// Free mode: who last took each semaphore (flat, PlanSemSet::first_value),
// read from the records written so far, decoded as the trace will be: the
// edges of a deadlock's wait-for graph (run/wait_for.hpp). The controller
// keeps its own as it steps; the free loop asks once, at a deadlock.
#pragma once

#include "plan/plan.hpp"
#include "trace/call_format.hpp"
#include "trace/collector.hpp"

#include <vector>

namespace simrun {

std::vector<int> last_takers(const Plan& plan, const Collector& records, const SysvNames& names, const std::vector<int>& semids);

}  // namespace simrun

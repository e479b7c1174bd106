// Free mode: each [[fault]] with `at = "50ms"` is sent when its time has
// come, with a Fault record before the signal. The fault injector decides
// which are due; this only sends them.
#pragma once

#include "plan/fault_injector.hpp"
#include "plan/plan.hpp"
#include "trace/arena.hpp"
#include "trace/ring.hpp"

#include <string>
#include <vector>

namespace simrun {

class TimedFaults {
public:
    TimedFaults(const Plan& plan, const Arena& arena) : arena_(arena), faults_(plan.faults) {}
    // `elapsed_ns` since the run started; a fault whose process is not
    // running is not sent, and a line in `diagnosis` says so.
    void fire_due(std::int64_t elapsed_ns, RingWriter& ring, std::vector<std::string>& diagnosis);

private:
    const Arena& arena_;
    FaultInjector faults_;
};

}  // namespace simrun

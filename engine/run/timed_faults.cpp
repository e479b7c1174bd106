#include "run/timed_faults.hpp"

#include <fmt/format.h>

#include <csignal>

namespace simrun {

void TimedFaults::fire_due(std::int64_t elapsed_ns, RingWriter& ring, std::vector<std::string>& diagnosis) {
    faults_.at_time(elapsed_ns, [&](const PlanFault& pf) {
        const ProcSlot& slot = arena_.slot(pf.proc);
        if (slot.pid.load() <= 0 || slot.state.load() == ProcState::Exited) {
            diagnosis.push_back(fmt::format("fault not sent ({}): the process was not running", pf.text));
            return;
        }
        Record& r = ring.begin(EventKind::Fault, static_cast<std::uint16_t>(pf.proc));
        r.e.arg = pf.signal;
        r.e.step = kNoStep;
        r.e.pid = slot.pid.load();
        ring.commit();
        ::kill(r.e.pid, pf.signal);
    });
}

}  // namespace simrun

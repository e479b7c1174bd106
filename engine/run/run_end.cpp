#include "run/run_end.hpp"

#include <cstring>

#include <fmt/format.h>

namespace simrun {

std::optional<RunEnd> decide_end(const LoopFacts& f) {
    if (f.stop_signal)
        return RunEnd{Outcome::Interrupted, {}, fmt::format("still alive when simrun was stopped by SIG{}", sigabbrev_np(f.stop_signal))};
    if (f.no_children) return RunEnd{Outcome::Completed, {}, {}};
    // A double fork, a setsid daemon: the run is over all the same; they
    // are killed with the rest at the end.
    if (f.only_strays) return RunEnd{Outcome::Completed, {}, {}, true};
    if (f.trace_full) return RunEnd{Outcome::TraceLimit, {}, "still alive when the trace reached its limit"};
    if (f.past_deadline) return RunEnd{Outcome::Timeout, {}, "still alive at the timeout"};
    if (f.deadlock) return RunEnd{Outcome::Deadlock, {}, "every live process waits and none can proceed"};
    if (f.allowed_blocked) return RunEnd{Outcome::Completed, {}, "ended blocked, as they may"};
    if (f.livelock) return RunEnd{Outcome::Livelock, {}, "the spinning processes read what no other process can change (a livelock)"};
    return std::nullopt;
}

std::string strays_killed_note(int killed) {
    if (killed <= 0) return {};
    return fmt::format("{} {} a program started {} still running after every declared process had ended; simrun killed {}", killed,
                       killed == 1 ? "process" : "processes", killed == 1 ? "was" : "were", killed == 1 ? "it" : "them");
}

}  // namespace simrun

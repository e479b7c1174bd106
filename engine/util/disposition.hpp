// What a process does with a signal: a scenario declares it for a scripted
// process; the preload tracer records it for a program's sigaction(2) and
// signal(2) calls. Shared by simrun and the tracer (no dependencies); the
// values are stored in trace records, so they never change.
#pragma once

#include <cstdint>

namespace simrun {

enum class Disposition : std::uint8_t {
    Default = 0,    // SIG_DFL
    Ignore = 1,     // SIG_IGN
    Handler = 2,    // a program's own handler function
    Count = 3,      // scripted: a handler that counts deliveries
    Record = 4,     // scripted: a handler that records each delivery
    Terminate = 5,  // scripted: a handler that ends the script
};

// The scenario format's words, also those of the trace and the timeline:
// "default", "ignore", "handler", "count", "record", "terminate".
constexpr const char* disposition_name(Disposition d) {
    switch (d) {
        case Disposition::Default: return "default";
        case Disposition::Ignore: return "ignore";
        case Disposition::Handler: return "handler";
        case Disposition::Count: return "count";
        case Disposition::Record: return "record";
        case Disposition::Terminate: return "terminate";
    }
    return "?";
}

}  // namespace simrun

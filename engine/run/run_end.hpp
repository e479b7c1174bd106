// When the free-mode run loop stops, and how the run ended: a pure decision
// over what the loop saw in one turn (no clock, no system call), so that
// every way of ending is in one place and unit-tested.
#pragma once

#include "scenario/model.hpp"

#include <optional>
#include <string>

namespace simrun {

struct LoopFacts {
    int stop_signal = 0;          // SIGINT/SIGTERM/SIGHUP received (0: none)
    bool no_children = false;     // the supervisor has no child left
    bool only_strays = false;     // every declared process has ended; others a program started still run
    bool past_deadline = false;   // the run's timeout has passed
    bool trace_full = false;      // the trace holds [scenario] trace_limit records
    bool deadlock = false;        // every live process waits, none can proceed (run/process_watch.hpp)
    bool allowed_blocked = false; // the same, but every one of them may end blocked
    bool livelock = false;        // every live process waits or spins in a busy wait, and none can change what the spinners read
};

struct RunEnd {
    Outcome outcome;
    std::string note;   // a diagnosis line for the report ("" for none)
    std::string live;   // a title for the list of live processes and where they are ("" for none)
    // Only processes a program started are left: the supervisor kills them and
    // says how many it killed (those that ended by themselves meanwhile are not).
    bool strays_left = false;
};

// "2 processes a program started were still running ...; simrun killed them"; "" for none.
std::string strays_killed_note(int killed);

// The end of the run, or nothing: the loop goes on. A stop request wins,
// then the end of every process, then a full trace, the timeout, a stall.
std::optional<RunEnd> decide_end(const LoopFacts& f);

}  // namespace simrun

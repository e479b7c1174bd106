// The run loop. run_plan() starts the inner supervisor (sandbox/), which
// creates the IPC objects, forks the scenario's top-level processes, and
// watches them in one poll loop (signalfd for SIGCHLD and stop requests, an
// eventfd for full rings, captured stdout) until they have all ended, the
// timeout passes, or a deadlock is seen. Then it kills what is left, reads
// the final state, and hands the merged trace to the writers and checkers.
#pragma once

#include "plan/plan.hpp"

#include <cstdint>
#include <string>

namespace simrun {

struct RunOptions {
    std::string out_dir = "simrun-out";  // the trace goes to OUT/<scenario>/trace.jsonl
    bool quiet = false;
    bool namespaces = true;
    bool color = false;
    std::size_t max_events = 80;         // timeline lines on the terminal
    std::uint32_t ring_capacity = 4096;  // records per process ring (power of two)
    std::int64_t deadlock_after_ns = 200'000'000;  // all blocked, no progress, this long
};

// Exit codes: 0 every expectation holds, 1 one fails, 2 the output folder
// cannot be made (nothing spawned), 3 simrun or the sandbox failed, 130
// interrupted.
int run_plan(const Plan& plan, const RunOptions& options);

// OUT/<scenario>: where the run's files go.
std::string scenario_out_dir(const Plan& plan, const RunOptions& options);

}  // namespace simrun

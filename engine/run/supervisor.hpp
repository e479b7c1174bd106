// The run loop, inside the sandbox: the supervisor creates the IPC objects,
// forks the scenario's top-level processes, and watches them in one poll
// loop (signalfd for SIGCHLD and stop requests, an eventfd for full rings,
// captured stdout) until they have all ended, the timeout passes, or a
// deadlock is seen; in controlled mode the controller steps them first.
// Then it kills what is left, reads the final state and returns the run:
// how it ended and its records, not yet decoded (session/ decodes, checks
// and reports them).
#pragma once

#include "plan/plan.hpp"
#include "run/run_options.hpp"
#include "sandbox/sandbox.hpp"
#include "trace/arena.hpp"
#include "trace/collector.hpp"
#include "trace/run_result.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace simrun {

struct RunOutput {
    std::string error;  // set-up failed: nothing ran
    RunResult run;
    // The records, in the spill file and the arena's rings.
    std::unique_ptr<Arena> arena;
    std::unique_ptr<Collector> records;
    std::vector<int> semids;  // per Plan::sems: the ids the run's sets had
    // Controlled mode.
    std::vector<int> schedule;              // the process of every step
    std::uint64_t handoffs = 0;             // grants of the gate: a run of steps granted at once is one
    std::vector<std::vector<int>> choices;  // with record_choices: who could take each step
    std::string divergence;                 // strict replay that stopped fitting
    std::vector<std::string> children;      // programs' children that were scheduled: steps from P on name them
};

// Runs the plan once in this process (already inside the sandbox).
// `ready` is called after set-up, just before the first fork.
RunOutput supervise(const Plan& plan, const RunOptions& options, SandboxMode mode, const std::function<void()>& ready);

}  // namespace simrun

// The run loop. run_plan() starts the inner supervisor (sandbox/), which
// creates the IPC objects, forks the scenario's top-level processes, and
// watches them in one poll loop (signalfd for SIGCHLD and stop requests, an
// eventfd for full rings, captured stdout) until they have all ended, the
// timeout passes, or a deadlock is seen. Then it kills what is left, reads
// the final state, and hands the merged trace to the writers and checkers.
#pragma once

#include "check/checker.hpp"
#include "plan/plan.hpp"
#include "sandbox/sandbox.hpp"
#include "sched/strategy.hpp"
#include "util/exit_code.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace simrun {

struct RunOptions {
    std::string out_dir = "simrun-out";  // the trace goes to OUT/<scenario>/trace.jsonl
    bool quiet = false;
    bool namespaces = true;
    bool color = false;
    std::size_t max_events = 80;         // timeline lines on the terminal
    // Records per process ring (power of two): 1 MiB. The supervisor drains
    // a ring once it is about a quarter full (run/drain_pace.hpp), so a
    // writer meets a full ring only if the supervisor is late by three
    // quarters of it (the measurements behind the size: commit 733d3c3,
    // docs/scenario-format.md's cost section).
    std::uint32_t ring_capacity = 16384;
    std::int64_t deadlock_after_ns = 200'000'000;  // all blocked, no progress, this long
    // Controlled mode.
    StrategyConfig strategy;                   // kind, seed, depth (the rest is filled in per run)
    const std::vector<int>* strict = nullptr;  // replay: the steps the run must follow
    bool record_choices = false;               // exhaustive explore: who could take each step
    std::string replay_hint;                   // shown under the summary
    // What a run leaves: explore turns these off for all but the run it reports.
    bool write_trace = true;  // trace.jsonl (and schedule.toml in controlled mode)
    bool terminal = true;     // timeline and summary on stdout
};

// One run, as explore and the command line see it.
struct RunReport {
    ExitCode exit_code = ExitCode::Ok;
    Outcome outcome = Outcome::Completed;
    bool passed = false;           // every expectation held
    std::vector<int> schedule;     // controlled mode: the process of every step
    std::vector<std::vector<int>> choices;  // with record_choices: who could take each step
    std::string divergence;        // strict replay that stopped fitting
    std::vector<ExpectResult> results;
};

// Runs the plan once in this process (already inside the sandbox).
RunReport run_once(const Plan& plan, const RunOptions& options, SandboxMode mode);

// Ok every expectation holds, Failed one fails, Usage the output folder
// cannot be made (nothing spawned) or a replayed schedule does not fit,
// Internal simrun or the sandbox failed, Interrupted.
ExitCode run_plan(const Plan& plan, const RunOptions& options);

// Creates the output folder, starts the sandbox, runs body(mode) inside it
// (the inner supervisor's process, whose exit code the result carries back).
ExitCode run_in_sandbox(const Plan& plan, const RunOptions& options, const std::function<ExitCode(SandboxMode)>& body);

// OUT/<scenario>: where the run's files go.
std::string scenario_out_dir(const Plan& plan, const RunOptions& options);

}  // namespace simrun

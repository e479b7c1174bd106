// One run as the command line asks for it: the sandbox, the run loop
// (run/), then everything after the run: the records decoded once into
// events (trace/decoder), checked (check/), written as trace.jsonl and
// shown as the terminal timeline (report/), the schedule saved, and the
// exit code decided.
#pragma once

#include "check/checker.hpp"
#include "plan/plan.hpp"
#include "run/run_options.hpp"
#include "sandbox/sandbox.hpp"
#include "util/exit_code.hpp"

#include <functional>
#include <string>
#include <vector>

namespace simrun {

// One run, as explore and the command line see it.
struct RunReport {
    ExitCode exit_code = ExitCode::Ok;
    Outcome outcome = Outcome::Completed;
    bool passed = false;           // every expectation held
    std::vector<int> schedule;     // controlled mode: the process of every step
    std::vector<std::vector<int>> choices;  // with record_choices: who could take each step
    std::string divergence;        // strict replay that stopped fitting
    std::vector<std::string> children;  // controlled mode: programs' children scheduled, by step index from P on
    std::vector<ExpectResult> results;
    std::vector<std::string> diagnosis;  // the report's lines on how the run ended (who waits for whom, ...)
};

// Did a stop request (Ctrl-C, SIGTERM, SIGHUP) reach this simrun while a
// sandboxed run was going on? A search of many runs stops then, even when
// the run the request came in ended otherwise.
bool stop_was_requested();

// Runs the plan once in this process (already inside the sandbox).
RunReport run_once(const Plan& plan, const RunOptions& options, SandboxMode mode);

// Ok every expectation holds, Failed one fails, Usage the output folder
// cannot be made (nothing spawned) or a replayed schedule does not fit,
// Internal simrun or the sandbox failed, Interrupted.
ExitCode run_plan(const Plan& plan, const RunOptions& options);

// Creates the output folder, starts the sandbox, runs body(mode) inside it
// (the inner supervisor's process, whose exit code the result carries back).
// say_mode: print the note when it runs without namespaces.
ExitCode run_in_sandbox(const Plan& plan, const RunOptions& options, const std::function<ExitCode(SandboxMode)>& body,
                        bool say_mode = true);

// run_once() in a sandbox of its own (fresh IPC, PID and mount namespaces,
// /dev/shm and FIFO folder), its report brought back out.
RunReport run_isolated(const Plan& plan, const RunOptions& options);

}  // namespace simrun

// `simrun explore`: run a scenario under many controlled schedules (seeded
// strategy, or exhaustively up to a bound on preemptions) until an
// expectation fails, then shrink the failing schedule (fewer context
// switches, fewer explicit steps) while it still fails, write it as a
// schedule file, and show the failing run. Every run has a sandbox of its own.
//
// The search and the shrinking only see RunReports: explore_with() takes the
// function that runs one schedule, so tests drive them with a fake.
#pragma once

#include "plan/plan.hpp"
#include "session/session.hpp"

#include <functional>

namespace simrun {

struct ExploreOptions {
    RunOptions run;                 // output folder, terminal style; strategy kind, depth and first seed
    int runs = 1000;
    bool exhaustive = false;        // every interleaving with at most `preemptions` preemptions
    int preemptions = 2;
    int shrink_budget = 200;        // replays spent on shrinking, at most
    std::int64_t shrink_time_ns = 30'000'000'000;  // time spent on shrinking, at most (--shrink-time)
    bool quiet = false;             // print nothing (a grader reads the result)
};

struct ExploreResult {
    ExitCode code = ExitCode::Ok;   // Failed: a failing schedule was found
    int runs = 0;                   // schedules tried, shrinking not counted
    std::uint64_t seed = 0;         // the failing run's seed (0 for --exhaustive)
    std::string schedule_path;      // where the failing schedule was written ("" if none)
    RunReport failing;              // the failing schedule's run, replayed
};

// Runs the plan once with these options (a seed, a replay prefix, ...).
using RunSchedule = std::function<RunReport(const RunOptions&)>;

// Failed: a failing schedule was found (and written to
// OUT/<scenario>/failure.schedule.toml), Ok: none in the budget,
// Internal or Interrupted as a run returned them.
ExploreResult explore_with(const Plan& plan, const ExploreOptions& options, const RunSchedule& run);

// explore_with() over real runs, each in a sandbox of its own.
ExploreResult explore(const Plan& plan, const ExploreOptions& options);

}  // namespace simrun

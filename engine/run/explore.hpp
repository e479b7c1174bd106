// `simrun explore`: run a scenario under many controlled schedules (seeded
// strategy, or exhaustively up to a bound on preemptions) until an
// expectation fails, then shrink the failing schedule (fewer context
// switches, fewer explicit steps) while it still fails, write it as a
// schedule file, and show the failing run. All runs share one sandbox.
#pragma once

#include "plan/plan.hpp"
#include "run/supervisor.hpp"

namespace simrun {

struct ExploreOptions {
    RunOptions run;                 // output folder, terminal style; strategy kind, depth and first seed
    int runs = 1000;
    bool exhaustive = false;        // every interleaving with at most `preemptions` preemptions
    int preemptions = 2;
    int shrink_budget = 200;        // replays spent on shrinking
};

// Exit codes: 1 a failing schedule was found (and written), 0 none in the
// budget, 3 simrun failed.
int explore(const Plan& plan, const ExploreOptions& options);

}  // namespace simrun

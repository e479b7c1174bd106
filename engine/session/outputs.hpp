// After the run: its records decoded once and handed to the checker, the
// trace writer and the terminal timeline; the schedule file; the exit code.
#pragma once

#include "plan/plan.hpp"
#include "report/timeline.hpp"
#include "run/run_options.hpp"
#include "run/supervisor.hpp"
#include "session/session.hpp"

namespace simrun {

// Fills report (results, passed, exit code) from the run's output.
void report_run(const Plan& plan, const RunOptions& options, RunOutput& out, Timeline& timeline, RunReport& report);

}  // namespace simrun

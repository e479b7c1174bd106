// The plan stage: ScenarioDecl -> Plan, resolving every name. Errors are
// positioned (unknown object with did-you-mean, bad fork tree, pipe misuse).
#pragma once

#include "plan/plan.hpp"
#include "util/error.hpp"

#include <optional>

namespace simrun {

// Choices made on the command line that validation must see.
struct PlanOptions {
    std::optional<SchedMode> mode;  // --controlled / --free
    bool check_files = true;        // ftok paths, stdin files and workdirs must exist (not for a saved run's plan)
};

Result<Plan, Diagnostic> make_plan(const ScenarioDecl& decl, const PlanOptions& options = {});

}  // namespace simrun

namespace simrun {

// Reads, validates and plans a scenario file. On failure: the rendered
// diagnostic ("path:line:col: error: ...", the line, a caret).
Result<Plan, std::string> load_plan(const std::string& path, const PlanOptions& options = {});
// The same for a scenario's text (read from `path`, or made from it: a
// grading file's scenario with its placeholders filled in).
Result<Plan, std::string> load_plan_source(const std::string& path, const std::string& source, const PlanOptions& options = {});

}  // namespace simrun

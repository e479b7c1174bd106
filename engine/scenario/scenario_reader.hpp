// The scenario stage's entry point: TOML text -> ScenarioDecl, checking
// keys, types and ranges, and parsing every op and expression. Names are
// resolved later (plan/). The first error found is returned, positioned.
#pragma once

#include "scenario/model.hpp"
#include "util/error.hpp"

#include <string>

namespace simrun {

Result<ScenarioDecl, Diagnostic> read_scenario(const std::string& path, const std::string& source);

// Reads the file; a missing or unreadable file is a Diagnostic without position.
// `what` names the file in the error: "scenario", "the grading file".
Result<std::string, Diagnostic> read_source_file(const std::string& path, const char* what = "scenario");

}  // namespace simrun

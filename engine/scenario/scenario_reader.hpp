// The scenario stage's entry point: TOML text -> ScenarioDecl, checking
// keys, types and ranges, and parsing every op and expression. Names are
// resolved later (plan/). The first error found is returned, positioned.
#pragma once

#include "scenario/model.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <string>

namespace simrun {

Result<ScenarioDecl, Diagnostic> read_scenario(const std::string& path, const std::string& source);

// The largest scenario, schedule or grading file read (a scenario library's
// largest is a few KiB): /dev/zero is refused, not read into memory.
inline constexpr std::uint64_t kMaxSourceBytes = 4u << 20;

// Reads the file; a missing or unreadable file, one that is not a regular
// file (a folder, a FIFO, a device) or is larger than kMaxSourceBytes is a
// Diagnostic without position. `what` names the file in the error:
// "scenario", "the grading file".
Result<std::string, Diagnostic> read_source_file(const std::string& path, const char* what = "scenario");

}  // namespace simrun

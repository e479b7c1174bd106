// Schedule files: the steps of a controlled run, so that `simrun replay`
// can run it again exactly. TOML, version 1 (docs/schedule-format.md):
//
//   schedule      = 1
//   scenario      = "race"
//   scenario_hash = "9f2c1e0b7a41d3c8"   # FNV-1a of the scenario file
//   strategy      = "pct"
//   seed          = 1734
//   depth         = 3
//   steps         = ["incrementer#0 x4", "incrementer#1 x2", "incrementer#0"]
//
// After the listed steps the running process goes on while it can, then the
// lowest-numbered process that can.
#pragma once

#include "plan/plan.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace simrun {

struct Schedule {
    std::string strategy;
    std::uint64_t seed = 0;
    int depth = 0;
    std::vector<int> steps;  // process per step: a declared process's index, or P + k for children[k]
    std::vector<std::string> children;  // children of programs, scheduled as they were forked ("student/1")
};

std::string format_schedule(const Plan& plan, const Schedule& s);
Status write_schedule(const std::string& path, const Plan& plan, const Schedule& s);
// The most steps a schedule file may expand to (its "name xN" runs
// included): a replay of a longer run is not what a schedule file is for.
inline constexpr std::size_t kMaxScheduleSteps = 50'000'000;

// Reads and checks a schedule against the plan: keys, version, scenario
// hash, process names, size. Errors are positioned like scenario errors.
Result<Schedule, std::string> read_schedule(const std::string& path, const Plan& plan);
// The same for the schedule's text, read from `path`.
Result<Schedule, std::string> read_schedule_source(const std::string& path, const std::string& text, const Plan& plan);

// Number of times the running process changes between consecutive steps.
std::size_t context_switches(const std::vector<int>& steps);

}  // namespace simrun

// Helpers for unit tests: scenario text in, plan or rendered error out.
#pragma once

#include "plan/planner.hpp"
#include "scenario/scenario_reader.hpp"

#include <stdexcept>
#include <string>

namespace simrun::test {

// The rendered error for a scenario text, or "" if it is valid.
inline std::string error_of(const std::string& toml) {
    auto decl = read_scenario("t.toml", toml);
    if (!decl) return render_diagnostic("t.toml", toml, decl.error());
    auto plan = make_plan(decl.value());
    if (!plan) return render_diagnostic("t.toml", toml, plan.error());
    return "";
}

inline Plan plan_of(const std::string& toml) {
    auto decl = read_scenario("t.toml", toml);
    if (!decl) throw std::runtime_error(decl.error().message);
    auto plan = make_plan(decl.value());
    if (!plan) throw std::runtime_error(plan.error().message);
    return std::move(plan.value());
}

// First line of the error only: "t.toml:L:C: error: ...".
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace simrun::test

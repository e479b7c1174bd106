// Reading TOML fields with positioned errors: the scenario reader's and
// the grading file reader's shared helpers. A failure is thrown as
// Failure (a Diagnostic) and caught at the reader's boundary.
#pragma once

#include "scenario/diagnostic.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace simrun::toml_fields {

// Thrown inside the reader only, caught at its boundary.
struct Failure {
    Diagnostic d;
};

inline SourcePos pos_of(const toml::source_region& r) {
    return {static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}
inline SourcePos pos_of(const toml::node& n) { return pos_of(n.source()); }

[[noreturn]] inline void fail(SourcePos pos, std::string message) { throw Failure{{pos, std::move(message)}}; }

inline const char* type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        default: return "a date/time";
    }
}

inline void check_keys(const toml::table& t, std::initializer_list<const char*> allowed, const std::string& where) {
    std::vector<std::string> names(allowed.begin(), allowed.end());
    for (auto&& [k, v] : t) {
        bool known = false;
        for (const auto& a : names) known = known || k.str() == a;
        if (!known)
            fail(pos_of(k.source()), fmt::format("unknown key '{}' in {}{}", k.str(), where, did_you_mean_suffix(k.str(), names)));
    }
}

inline const toml::table& as_table(const toml::node& n, const std::string& what) {
    if (!n.is_table()) fail(pos_of(n), fmt::format("{} must be a table, not {}", what, type_name(n)));
    return *n.as_table();
}

inline std::string get_string(const toml::node& n, const std::string& what) {
    if (!n.is_string()) fail(pos_of(n), fmt::format("{} must be a string, not {}", what, type_name(n)));
    return n.as_string()->get();
}

inline std::int64_t get_int(const toml::node& n, const std::string& what, std::int64_t lo, std::int64_t hi) {
    if (!n.is_integer()) fail(pos_of(n), fmt::format("{} must be an integer, not {}", what, type_name(n)));
    std::int64_t v = n.as_integer()->get();
    if (v < lo || v > hi) fail(pos_of(n), fmt::format("{} must be between {} and {}, got {}", what, lo, hi, v));
    return v;
}

inline bool get_bool(const toml::node& n, const std::string& what) {
    if (!n.is_boolean()) fail(pos_of(n), fmt::format("{} must be true or false, not {}", what, type_name(n)));
    return n.as_boolean()->get();
}

// Points (grading): a number from 0 to 1 000 000, integer or not.
inline double get_points(const toml::node& n, const std::string& what) {
    if (!n.is_integer() && !n.is_floating_point()) fail(pos_of(n), fmt::format("{} must be a number, not {}", what, type_name(n)));
    const double v = n.is_integer() ? static_cast<double>(n.as_integer()->get()) : n.as_floating_point()->get();
    if (!(v >= 0 && v <= 1e6)) fail(pos_of(n), fmt::format("{} must be between 0 and 1000000, got {}", what, v));
    return v;
}

// [[name]]: f(table node, index) for each.
template <typename F>
void each_in_array(const toml::node& node, const char* what, F&& f) {
    const auto* arr = node.as_array();
    if (!arr) fail(pos_of(node), fmt::format("{} must be an array of tables ([[{}]])", what, what));
    for (std::size_t i = 0; i < arr->size(); ++i) f((*arr)[i], i);
}

}  // namespace simrun::toml_fields

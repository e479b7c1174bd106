#include "scenario/name_choice.hpp"

#include "scenario/toml_fields.hpp"
#include "scenario/names.hpp"
#include "scenario/op_parser.hpp"
#include <fmt/format.h>
#include <algorithm>
#include <charconv>

// Ops whose names hold a value computed when they run (P forks.f{k}): each
// is parsed once per declared name the value can give, so that every name
// is still checked before anything runs.

namespace simrun {

namespace {

using toml_fields::fail;

bool in_name(char c) { return is_name_char(c) || c == '.' || c == '#'; }

struct Hole {
    std::size_t open = 0, close = 0;  // the '{' and the '}'
};

// The first {…} at or after `from`, outside quoted text, that is part of a
// name: right after a name's character, or right before one.
std::optional<Hole> find_hole(const std::string& t, std::size_t from) {
    bool quoted = false;
    for (std::size_t k = 0; k < t.size(); ++k) {
        if (t[k] == '"' && (k == 0 || t[k - 1] != '\\')) quoted = !quoted;
        if (quoted || t[k] != '{' || k < from) continue;
        std::size_t close = t.find('}', k);
        if (close == std::string::npos) return std::nullopt;  // the op parser says so
        if ((k > 0 && in_name(t[k - 1])) || (close + 1 < t.size() && in_name(t[close + 1]))) return Hole{k, close};
        k = close;
    }
    return std::nullopt;
}

// "-12" or "7", written as a number is (no leading zeros, no '+').
std::optional<std::int64_t> canonical_int(std::string_view s) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    if (std::to_string(v) != s) return std::nullopt;
    return v;
}

// Every name an op can give: objects, their members and cells, processes
// and their replicas.
std::vector<std::string> declared_names(const ScenarioDecl& sc) {
    std::vector<std::string> out;
    for (const auto& s : sc.sems) {
        out.push_back(s.name);
        for (const auto& m : s.members) out.push_back(s.name + "." + m.name);
    }
    for (const auto& s : sc.shms) {
        out.push_back(s.name);
        for (const auto& c : s.cells) out.push_back(s.name + "." + c.name);
    }
    for (const auto& x : sc.pipes) out.push_back(x.name);
    for (const auto& x : sc.queues) out.push_back(x.name);
    for (const auto& x : sc.psems) out.push_back(x.name);
    for (const auto& x : sc.fifos) out.push_back(x.name);
    for (const auto& p : sc.processes) {
        out.push_back(p.name);
        for (std::int64_t r = 0; p.count > 1 && r < p.count; ++r) out.push_back(fmt::format("{}#{}", p.name, r));
    }
    return out;
}

// text with the hole replaced by `with`; origin maps its offsets to those of
// text, then through `through` (the replica's expansion) to the op as written.
std::string fill(const std::string& text, Hole h, const std::string& with, const std::vector<std::uint32_t>& through,
                 std::vector<std::uint32_t>& origin) {
    std::string out = text.substr(0, h.open) + with + text.substr(h.close + 1);
    std::vector<std::uint32_t> local;
    for (std::size_t k = 0; k < h.open; ++k) local.push_back(static_cast<std::uint32_t>(k));
    for (std::size_t k = 0; k < with.size(); ++k) local.push_back(static_cast<std::uint32_t>(h.open));
    for (std::size_t k = h.close + 1; k <= text.size(); ++k) local.push_back(static_cast<std::uint32_t>(k));
    origin.clear();
    for (std::uint32_t o : local) origin.push_back(through.empty() ? o : through[std::min<std::size_t>(o, through.size() - 1)]);
    return out;
}

// One op parsed from text (offsets made those of the op as written).
OpDecl parse_filled(const OpDecl& op, const std::string& text, std::vector<std::uint32_t> origin) {
    OpDecl out;
    out.pos = op.pos;
    out.replica_note = op.replica_note;
    out.origin = std::move(origin);
    TextError err;
    if (!parse_op(text, out, err)) fail(out.at(err.offset), err.message + out.replica_note);
    to_written_offsets(out);
    return out;
}

void resolve(OpDecl& op, const std::vector<std::string>& names) {
    const std::string text = op.expanded;
    const Hole h = *find_hole(text, 0);
    auto at = [&](std::size_t offset) { return pos_in_string(op.pos, op.written(offset)); };
    auto fail_at = [&](std::size_t offset, const std::string& message) { fail(at(offset), message + op.replica_note); };
    if (find_hole(text, h.close + 1)) fail_at(find_hole(text, h.close + 1)->open, "an op takes one name with a value computed when it runs");
    ValueExprDecl v;
    v.offset = h.open;
    TextError e;
    if (!parse_expr(text.substr(h.open + 1, h.close - h.open - 1), v.expr, e, true)) fail_at(h.open + 1 + e.offset, e.message);
    for (auto& n : v.expr.nodes) n.offset += h.open + 1;
    std::size_t b = h.open, end = h.close + 1;
    while (b > 0 && in_name(text[b - 1])) --b;
    while (end < text.size() && in_name(text[end])) ++end;
    const std::string prefix = text.substr(b, h.open - b), suffix = text.substr(h.close + 1, end - h.close - 1);
    // The op's shape, with 0 for the value: its verb and its other operands.
    std::vector<std::uint32_t> origin;
    OpDecl shape = parse_filled(op, fill(text, h, "0", op.origin, origin), origin);
    if (shape.control != Control::None)
        fail_at(h.open, "a condition reads cells and values, not computed names; put the cells in an array and index it (m.f[k])");
    if (shape.kind == OpKind::Fork) fail_at(h.open, "fork names the children it forks before the run; a computed name cannot");
    std::vector<std::pair<std::int64_t, std::string>> found;
    for (const auto& n : names) {
        if (n.size() <= prefix.size() + suffix.size() || n.compare(0, prefix.size(), prefix) != 0 ||
            n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        if (auto k = canonical_int(std::string_view(n).substr(prefix.size(), n.size() - prefix.size() - suffix.size())))
            found.emplace_back(*k, n);
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end(), [](const auto& x, const auto& y) { return x.first == y.first; }), found.end());
    const std::string written = prefix + text.substr(h.open, h.close + 1 - h.open) + suffix;
    if (found.empty())
        fail_at(b, fmt::format("no declared name is '{}' for a number in place of {}: a computed name picks one of the declared "
                               "names (such as '{}0{}')",
                               written, text.substr(h.open, h.close + 1 - h.open), prefix, suffix));
    if (found.size() > kMaxNameChoices)
        fail_at(b, fmt::format("'{}' could name {} declared names; a computed name picks among at most {}", written, found.size(),
                               kMaxNameChoices));
    const std::string expanded = op.expanded, note = op.replica_note;
    const std::vector<std::uint32_t> through = op.origin;
    OpDecl base = op;
    op = std::move(shape);
    op.text = text;
    op.expanded = expanded;
    op.origin = through;
    op.choice_expr = std::move(v);
    to_choice_offsets(op);
    op.choice_prefix = prefix, op.choice_suffix = suffix, op.choice_name = written;
    for (const auto& [k, name] : found) {
        op.choice_keys.push_back(k);
        op.choice_ops.push_back(parse_filled(base, fill(text, h, std::to_string(k), through, origin), origin));
    }
}

}  // namespace

void to_choice_offsets(OpDecl& op) {
    if (op.origin.empty() || !op.choice_expr) return;
    op.choice_expr->offset = op.written(op.choice_expr->offset);
    for (auto& n : op.choice_expr->expr.nodes) n.offset = op.written(n.offset);
}

bool has_computed_name(const std::string& text) { return find_hole(text, 0).has_value(); }

void resolve_computed_names(ScenarioDecl& sc) {
    const std::vector<std::string> names = declared_names(sc);
    for (auto& p : sc.processes) {
        for (auto& op : p.run)
            if (!op.expanded.empty()) resolve(op, names);
        for (auto& ops : p.replica_run)
            for (auto& op : ops)
                if (!op.expanded.empty()) resolve(op, names);
    }
}

}  // namespace simrun

#include "check/evaluator.hpp"

#include "plan/plan.hpp"
#include "util/json.hpp"
#include "util/wait_status.hpp"

#include <fmt/format.h>

#include <cstring>

#include <algorithm>
#include <set>

namespace simrun {
namespace {

// Wait statuses in a ValueView are raw, -1 for a process not (yet) reaped.
std::int64_t exit_value(int status) {
    if (status < 0 || !WaitStatus(status).exited()) return -1;
    return WaitStatus(status).code();
}

std::int64_t signal_value(int status) { return status >= 0 && WaitStatus(status).signaled() ? WaitStatus(status).signal() : 0; }

struct Eval {
    const ExprTree& t;
    const ValueView& v;
    std::string& error;

    std::optional<std::int64_t> at(int i) {
        const ExprNode& n = t.nodes[i];
        switch (n.op) {
            case ExprOp::Int: return n.value;
            case ExprOp::Ref:
                if (n.ref == RefKind::SemMember) return (*v.sems)[n.slot];
                if (n.ref == RefKind::QueueStat) return (*v.queue_stats)[n.slot];
                if (n.ref == RefKind::PsemValue) return (*v.psems)[n.slot];
                return (*v.cells)[n.slot];
            case ExprOp::Exit: return exit_value((*v.wait_status)[n.slot]);
            case ExprOp::Received: return (*v.received)[static_cast<std::size_t>(n.slot) * 65 + static_cast<std::size_t>(n.value)];
            case ExprOp::Count:
            case ExprOp::Errors: {
                if (n.ref == RefKind::Calls) return (*(n.op == ExprOp::Count ? v.call_counts : v.call_errors))[n.slot];
                const auto& per_op = n.op == ExprOp::Count ? *v.op_counts : *v.op_errors;
                std::int64_t total = 0;
                for (std::uint32_t op : n.ops) total += per_op[op];
                return total;
            }
            case ExprOp::Before: return before(n) ? 1 : 0;
            case ExprOp::Message: {
                const std::string* got = message(n);
                return (got && *got == n.literal) != n.negate;
            }
            case ExprOp::IpcLeft: return v.ipc_left;
            case ExprOp::ZombiesLeft: return v.zombies_left;
            case ExprOp::Verdict: return v.verdicts ? (*v.verdicts)[n.slot] : -1;
            case ExprOp::Errno: {
                if (n.ref == RefKind::Calls) return (*v.call_errno)[n.slot];
                std::int64_t last = 0;
                for (std::uint32_t op : n.ops)
                    if ((*v.op_errno)[op]) last = (*v.op_errno)[op];
                return last;
            }
            case ExprOp::Signal: return signal_value((*v.wait_status)[n.slot]);
            case ExprOp::Status: return wait_result(n);
            case ExprOp::Neg: {
                auto a = at(n.lhs);
                if (a && *a == INT64_MIN) return error = fmt::format("integer overflow: -({})", *a), std::nullopt;
                return a ? std::optional<std::int64_t>(-*a) : a;
            }
            case ExprOp::Not: return unary(n, [](std::int64_t a) -> std::int64_t { return !a; });
            case ExprOp::And: {
                auto a = at(n.lhs);
                if (!a || !*a) return a ? std::optional<std::int64_t>(0) : a;
                auto b = at(n.rhs);
                return b ? std::optional<std::int64_t>(*b != 0) : b;
            }
            case ExprOp::Or: {
                auto a = at(n.lhs);
                if (!a || *a) return a ? std::optional<std::int64_t>(1) : a;
                auto b = at(n.rhs);
                return b ? std::optional<std::int64_t>(*b != 0) : b;
            }
            default: break;
        }
        auto a = at(n.lhs), b = at(n.rhs);
        if (!a || !b) return std::nullopt;
        // Past 64 bits the expression has no value: an error, as a division by zero.
        std::int64_t r = 0;
        auto checked = [&](bool overflow, const char* sign) -> std::optional<std::int64_t> {
            if (overflow) return error = fmt::format("integer overflow: {} {} {}", *a, sign, *b), std::nullopt;
            return r;
        };
        switch (n.op) {
            case ExprOp::Add: return checked(__builtin_add_overflow(*a, *b, &r), "+");
            case ExprOp::Sub: return checked(__builtin_sub_overflow(*a, *b, &r), "-");
            case ExprOp::Mul: return checked(__builtin_mul_overflow(*a, *b, &r), "*");
            case ExprOp::Div:
            case ExprOp::Mod:
                if (*b == 0) return error = "division by zero", std::nullopt;
                if (*a == INT64_MIN && *b == -1) return n.op == ExprOp::Div ? *a : 0;
                return n.op == ExprOp::Div ? *a / *b : *a % *b;
            case ExprOp::Lt: return *a < *b;
            case ExprOp::Le: return *a <= *b;
            case ExprOp::Gt: return *a > *b;
            case ExprOp::Ge: return *a >= *b;
            case ExprOp::Eq: return *a == *b;
            case ExprOp::Ne: return *a != *b;
            default: return std::nullopt;
        }
    }

    // The last matching wait's status as a shell's $?: the exit code, 128 + the signal; -1 when none completed.
    std::int64_t wait_result(const ExprNode& n) const {
        std::pair<std::uint64_t, int> last{0, -1};
        if (v.op_status)
            for (std::uint32_t op : n.ops)
                if ((*v.op_status)[op].second >= 0 && (*v.op_status)[op].first >= last.first) last = (*v.op_status)[op];
        return last.second < 0 ? -1 : WaitStatus(last.second).shell_code();
    }

    // The i-th completion of the first ops precedes the i-th of the second, for every i.
    bool before(const ExprNode& n) const {
        auto times = [&](const std::vector<std::uint32_t>& ops) {
            std::vector<std::uint64_t> all;
            for (std::uint32_t op : ops) all.insert(all.end(), (*v.op_times)[op].begin(), (*v.op_times)[op].end());
            std::sort(all.begin(), all.end());
            return all;
        };
        auto first = times(n.ops), second = times(n.ops2);
        if (second.size() > first.size()) return false;
        for (std::size_t i = 0; i < second.size(); ++i)
            if (first[i] >= second[i]) return false;
        return true;
    }

    // What the n.value-th completion of n's ops returned; null if there was none.
    const std::string* message(const ExprNode& n) const {
        std::vector<const std::pair<std::uint64_t, std::string>*> all;
        for (std::uint32_t op : n.ops)
            for (const auto& d : (*v.op_data)[op]) all.push_back(&d);
        std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->first < b->first; });
        return static_cast<std::size_t>(n.value) < all.size() ? &all[static_cast<std::size_t>(n.value)]->second : nullptr;
    }

    template <typename F>
    std::optional<std::int64_t> unary(const ExprNode& n, F f) {
        auto a = at(n.lhs);
        if (!a) return a;
        if (n.op == ExprOp::Neg && *a == INT64_MIN) return *a;
        return f(*a);
    }
};

}  // namespace

std::optional<std::int64_t> eval_expr(const ExprTree& t, const ValueView& v, std::string& error) {
    return Eval{t, v, error}.at(t.root);
}

std::string explain_values(const Plan& plan, const ExprTree& t, const ValueView& v) {
    std::string out;
    std::set<std::string> seen;
    std::string dummy_error;
    for (const auto& n : t.nodes) {
        std::string item;
        if (n.op == ExprOp::Ref && n.ref == RefKind::SemMember)
            item = fmt::format("{} = {}", plan.sem_label(n.slot), (*v.sems)[n.slot]);
        else if (n.op == ExprOp::Ref && n.ref == RefKind::PsemValue)
            item = fmt::format("{}.value = {}", plan.psems[n.slot].name, (*v.psems)[n.slot]);
        else if (n.op == ExprOp::Ref && n.ref == RefKind::QueueStat)
            item = fmt::format("{} = {}", plan.queue_stat_label(n.slot), (*v.queue_stats)[n.slot]);
        else if (n.op == ExprOp::Ref)
            item = fmt::format("{} = {}", plan.cell_label(n.slot), (*v.cells)[n.slot]);
        else if (n.op == ExprOp::Exit)
            item = fmt::format("exit({}) = {}", plan.processes[n.slot].name, exit_value((*v.wait_status)[n.slot]));
        else if (n.op == ExprOp::Received)
            item = fmt::format("received({}, {}) = {}", plan.processes[n.slot].name, signal_name(static_cast<int>(n.value)),
                               (*v.received)[static_cast<std::size_t>(n.slot) * 65 + static_cast<std::size_t>(n.value)]);
        else if (n.op == ExprOp::Count || n.op == ExprOp::Errors || n.op == ExprOp::Errno) {
            std::string dummy;
            ExprTree one;
            one.nodes.push_back(n);
            one.root = 0;
            auto value = eval_expr(one, v, dummy).value_or(0);
            const char* fn = n.op == ExprOp::Count ? "count" : n.op == ExprOp::Errors ? "errors" : "errno";
            std::string shown = n.op == ExprOp::Errno && value ? (strerrorname_np(static_cast<int>(value)) ? strerrorname_np(static_cast<int>(value)) : "?")
                                                             : std::to_string(value);
            item = fmt::format("{}({}) = {}", fn, n.object, shown);
        } else if (n.op == ExprOp::IpcLeft) {
            item = fmt::format("ipc_left() = {}", v.ipc_left);
        } else if (n.op == ExprOp::ZombiesLeft) {
            item = fmt::format("zombies_left() = {}", v.zombies_left);
        } else if (n.op == ExprOp::Before) {
            std::string dummy;
            ExprTree one;
            one.nodes.push_back(n);
            one.root = 0;
            item = fmt::format("before({}, {}) = {}", n.object, n.second, eval_expr(one, v, dummy).value_or(0) ? "true" : "false");
        } else if (n.op == ExprOp::Message) {
            const std::string* got = Eval{t, v, dummy_error}.message(n);
            item = fmt::format("message({}, {}) = {}", n.object, n.value, got ? json_string(*got) : "none");
        } else if (n.op == ExprOp::Status) {
            item = fmt::format("status({}) = {}", n.object, Eval{t, v, dummy_error}.wait_result(n));
        } else if (n.op == ExprOp::Verdict) {
            int verdict = v.verdicts ? (*v.verdicts)[n.slot] : -1;
            item = fmt::format("verdict({}) = {}", plan.processes[n.slot].name,
                               verdict >= 0 && static_cast<std::size_t>(verdict) < std::size(kVerdictConstants) ? kVerdictConstants[verdict] : "?");
        } else if (n.op == ExprOp::Signal)
            item = fmt::format("signal({}) = {}", plan.processes[n.slot].name, signal_value((*v.wait_status)[n.slot]));
        else
            continue;
        if (!seen.insert(item).second) continue;
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out;
}

}  // namespace simrun

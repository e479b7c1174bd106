#include "check/checker.hpp"

#include "trace/call_format.hpp"
#include "util/duration.hpp"
#include "util/json.hpp"
#include "util/regex.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace simrun {

// Words: compared as sequences of whitespace-separated words (an online
// judge's usual leniency about spaces and line ends).
static std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

bool stdout_matches(const std::string& out, StdoutMatch how, const std::string& want) {
    switch (how) {
        case StdoutMatch::Exact: return out == want;
        case StdoutMatch::Words: return words(out) == words(want);
        case StdoutMatch::Regex: return regex_search(out, want);
    }
    return false;
}

Checker::Checker(const Plan& plan)
    : plan_(plan), status_(plan.processes.size(), -1), queues_(plan.queue_stats(), 0), broken_(plan.expects.size()) {
    for (const auto& s : plan.shms) cells_.insert(cells_.end(), s.initial.begin(), s.initial.end());
    for (const auto& s : plan.sems) sems_.insert(sems_.end(), s.initial.begin(), s.initial.end());
    for (const auto& p : plan.psems) psems_.push_back(p.value);
    received_.assign(plan.processes.size() * 65, 0);
    stdout_.assign(plan.processes.size(), {});
    op_counts_.assign(plan.ops.size(), 0);
    op_errors_.assign(plan.ops.size(), 0);
    op_errno_.assign(plan.ops.size(), 0);
    op_times_.assign(plan.ops.size(), {});
    timed_.assign(plan.ops.size(), false);
    kept_.assign(plan.ops.size(), false);
    op_data_.assign(plan.ops.size(), {});
    op_status_.assign(plan.ops.size(), {0, -1});
    reading_.assign(plan.ops.size(), {});
    call_counts_.assign(plan.call_filters.size(), 0);
    call_errors_.assign(plan.call_filters.size(), 0);
    call_errno_.assign(plan.call_filters.size(), 0);
    for (const auto& e : plan.expects)
        for (const auto& n : e.expr.nodes)
            if (n.op == ExprOp::Message)
                for (std::uint32_t op : n.ops) kept_[op] = true;
            else if (n.op == ExprOp::Before) {
                for (std::uint32_t op : n.ops) timed_[op] = true;
                for (std::uint32_t op : n.ops2) timed_[op] = true;
            }
}

void Checker::on_event(const Event& e) {
    ++events_;
    const std::size_t declared = status_.size();
    const bool mine = e.proc.index < declared;  // a declared process (not the supervisor, not a program's child)
    // What the event changed that an `always` expectation can see; false: nothing.
    const bool changed = std::visit(
        Overloaded{
            [&](const ev::RunStart&) {
                t0_ = e.ts;
                return false;
            },
            [&](const ev::Output& o) {
                if (!o.stderr && mine) stdout_[e.proc.index].append(o.data);
                return false;
            },
            [&](const ev::Exit& x) {
                if ((x.reaped_stray && !x.end_kill) || x.adopted) ++zombies_left_;
                if (x.reaped_stray) return false;
                if (mine) status_[e.proc.index] = x.status.raw();
                return true;
            },
            [&](const ev::Signal& s) {
                if (mine && s.signal > 0 && s.signal < 65) ++received_[static_cast<std::size_t>(e.proc.index) * 65 + static_cast<std::size_t>(s.signal)];
                return true;
            },
            [&](const ev::Undo& u) {
                if (u.sem < 0) return false;  // a program's own set: no expression reads it
                sems_[u.sem] = u.after;
                return true;
            },
            [&](const ev::ScriptOp& o) { return !o.parked && mine && script_op(o); },
            [](const ev::RunEnd&) { return false; },
            [](const ev::Spawn&) { return false; },
            [](const ev::Exec&) { return false; },
            [](const ev::ExecFailed&) { return false; },
            [](const ev::Fault&) { return false; },
            [](const ev::Zombie&) { return false; },
            [](const ev::Orphan&) { return false; },
            [&](const ev::Call& c) { return !c.started && !call_counts_.empty() && program_call(e, c); },
        },
        e.body);
    if (changed) check_always(e);
}

// Counts a finished op and applies what it did to the state; false when it
// changed nothing an expression reads.
bool Checker::script_op(const ev::ScriptOp& o) {
    const Op& op = *o.op;
    if (op.kind == OpKind::PipeRead && (op.flags & kOpReadAll) && o.err == 0) {
        // `read ... all` is one completion, at end of file, with the whole stream: its read(2)s gather here.
        if (o.result > 0) {
            if (kept_[o.index]) reading_[o.index].append(o.payload);
            return false;
        }
        ++op_counts_[o.index];
        if (timed_[o.index]) op_times_[o.index].push_back(events_);
        if (kept_[o.index]) op_data_[o.index].emplace_back(events_, std::move(reading_[o.index]));
        reading_[o.index].clear();
        return true;
    }
    if (op.kind == OpKind::Wait && o.err == 0 && o.result > 0) op_status_[o.index] = {events_, static_cast<int>(o.arg)};
    if (o.err == 0 && o.half != ev::ScriptOp::Half::Load) {
        ++op_counts_[o.index];
        if (timed_[o.index]) op_times_[o.index].push_back(events_);
        if (kept_[o.index] && o.result > 0) op_data_[o.index].emplace_back(events_, std::string(o.payload));
    }
    if (o.err != 0) ++op_errors_[o.index], op_errno_[o.index] = o.err;
    switch (op.kind) {
        case OpKind::Semctl: {
            if (o.result < 0) return false;
            const PlanSemSet& set = plan_.sems[op.object];
            if (op.count == kSetall || op.count == kGetall) {
                for (std::size_t m = 0; m < set.members.size(); ++m) {
                    if (op.count == kSetall) sems_[set.first_value + m] = plan_.sem_terms[op.first + m].delta;
                    else if (o.payload.size() >= (m + 1) * sizeof(std::int32_t)) {
                        std::int32_t v;
                        std::memcpy(&v, o.payload.data() + m * sizeof v, sizeof v);
                        sems_[set.first_value + m] = v;
                    }
                }
                return true;
            }
            if (op.count != kSetval && op.count != kGetval) return false;
            sems_[set.first_value + op.slot] = op.count == kSetval ? static_cast<int>(op.value) : static_cast<int>(o.result);
            return true;
        }
        case OpKind::PsemWait:
        case OpKind::PsemPost:
            if (!o.value) return false;
            psems_[op.object] = *o.value;
            return true;
        case OpKind::MsgSend:
        case OpKind::MsgRecv: {
            if (o.result < 0) return false;
            const bool send = op.kind == OpKind::MsgSend;
            queues_[op.object * 2] += send ? 1 : -1;
            queues_[op.object * 2 + 1] += send ? static_cast<std::int64_t>(sent_text(plan_, o).size()) : -o.result;
            return true;
        }
        case OpKind::SigMask: return true;
        case OpKind::Semop:
            // The replayed value of a one-member semop (trace/sem_replay.hpp).
            if (o.value) sems_[plan_.sems[op.object].first_value + plan_.sem_terms[op.first].member] = static_cast<int>(*o.value);
            return true;
        case OpKind::ShmLoad:
        case OpKind::ShmStore:
        case OpKind::ShmAdd:
            if (o.value) cells_[plan_.shms[op.object].first_slot + op.slot] = *o.value;
            return true;
        default: return true;  // counted: count(), errors() and before() can see it
    }
}

static bool call_matches(const CallFilter& f, const Event& e, const ev::Call& c) {
    if (static_cast<int>(c.id) != f.call) return false;
    if (f.signal && call_signal(c) != f.signal) return false;
    if (!f.object.empty()) {
        std::string_view o = call_object(c);
        if (o != f.object && !(o.size() == f.object.size() + 1 && o[0] == '/' && o.substr(1) == f.object)) return false;
    }
    if (!f.procs.empty() && std::find(f.procs.begin(), f.procs.end(), e.proc.column) == f.procs.end()) return false;
    if (!f.child.empty()) {
        if (!e.proc.name) return false;
        std::string_view n = *e.proc.name;
        if (n != f.child && !(n.starts_with(f.child) && n.size() > f.child.size() && n[f.child.size()] == '/')) return false;
    }
    if (f.result && (c.err != 0 || c.result != *f.result)) return false;
    return !f.err || c.err == f.err;
}

// Counts a program's call for the count(call ...) that match it; false when none does.
bool Checker::program_call(const Event& e, const ev::Call& c) {
    bool counted = false;
    for (std::size_t i = 0; i < plan_.call_filters.size(); ++i) {
        if (!call_matches(plan_.call_filters[i], e, c)) continue;
        counted = true;
        if (c.err == 0) ++call_counts_[i];
        else ++call_errors_[i], call_errno_[i] = c.err;
    }
    return counted;
}

ValueView Checker::with_calls(ValueView v) const {
    v.call_counts = &call_counts_, v.call_errors = &call_errors_, v.call_errno = &call_errno_;
    v.op_status = &op_status_;
    return v;
}

void Checker::check_always(const Event& e) {
    ValueView view = with_calls({&cells_, &sems_, &status_, &queues_, &psems_, &received_, &op_counts_, &op_errors_, &op_errno_, 0, &op_times_, &op_data_, zombies_left_});
    for (std::size_t i = 0; i < plan_.expects.size(); ++i) {
        const auto& x = plan_.expects[i];
        if (x.kind != ExpectKind::Always || !broken_[i].empty()) continue;
        std::string error;
        auto v = eval_expr(x.expr, view, error);
        if (v && *v) continue;
        const std::string who = e.proc.name ? *e.proc.name : "supervisor";
        const std::string what = std::visit(Overloaded{[&](const ev::ScriptOp& o) { return fmt::format("'{}'", plan_.op_text[o.index]); },
                                                       [](const ev::Undo&) { return std::string("SEM_UNDO at exit"); },
                                                       [](const ev::Signal& s) { return "handler of " + signal_name(s.signal); },
                                                       [](const ev::Call& c) { return fmt::format("'{}'", describe_call(c)); },
                                                       [](const auto&) { return std::string("exit"); }},
                                            e.body);
        broken_[i] = fmt::format("first broken at {} by {}'s {} (event {}): {}", format_duration_ns(static_cast<std::int64_t>(e.ts - t0_)), who, what,
                                 events_, v ? explain_values(plan_, x.expr, view) : error);
        breaks_.push_back({x.name, e.ts, e.proc.name ? *e.proc.name : std::string()});
    }
}

bool Checker::asks_how_it_ended(int proc) const {
    for (const auto& e : plan_.expects)
        for (const auto& n : e.expr.nodes)
            if ((n.op == ExprOp::Verdict || n.op == ExprOp::Exit || n.op == ExprOp::Signal) && n.slot == proc) return true;
    return false;
}

std::vector<ExpectResult> Checker::finish(const RunResult& run) {
    std::vector<ExpectResult> out;
    std::vector<int> status(run.procs.size(), -1), verdicts(run.procs.size(), -1);
    for (std::size_t p = 0; p < run.procs.size(); ++p) {
        if (run.procs[p].exited) status[p] = run.procs[p].wait_status.raw();
        verdicts[p] = static_cast<int>(run.procs[p].verdict);
    }
    // Deliveries and op counts are complete in the trace: the final view reads them too.
    ValueView final_view = with_calls({&run.cells, &run.sems, &status, &run.queue_stats, &run.psem_values, &received_, &op_counts_, &op_errors_, &op_errno_,
                         static_cast<std::int64_t>(run.ipc_left.size()), &op_times_, &op_data_, zombies_left_, &verdicts});
    bool outcome_stated = false;
    for (std::size_t i = 0; i < plan_.expects.size(); ++i) {
        const auto& e = plan_.expects[i];
        ExpectResult res;
        res.name = e.name, res.kind = e.kind, res.text = e.text, res.points = e.points;
        switch (e.kind) {
            case ExpectKind::Always:
                res.passed = broken_[i].empty();
                res.detail = broken_[i];
                break;
            case ExpectKind::Final: {
                std::string error;
                auto v = eval_expr(e.expr, final_view, error);
                res.passed = v && *v;
                res.detail = v ? explain_values(plan_, e.expr, final_view) : error;
                break;
            }
            case ExpectKind::Stdout: {
                const std::string& out = stdout_[static_cast<std::size_t>(e.process_index)];
                res.passed = stdout_matches(out, e.match, e.text);
                if (!res.passed && e.match != StdoutMatch::Regex) res.want = e.text, res.seen = out.substr(0, 64u << 10);
                res.detail = fmt::format("{} wrote {}", plan_.processes[e.process_index].name, json_string(out.size() > 200 ? out.substr(0, 200) + "…" : out));
                res.text = fmt::format("stdout of {} {} {}", plan_.processes[e.process_index].name,
                                       e.match == StdoutMatch::Exact ? "equals" : e.match == StdoutMatch::Words ? "equals, in words," : "matches",
                                       json_string(e.text));
                break;
            }
            case ExpectKind::Outcome:
                outcome_stated = true;
                res.passed = run.outcome == e.outcome;
                res.detail = fmt::format("outcome: {}", outcome_name(run.outcome));
                break;
        }
        out.push_back(std::move(res));
    }
    // A program that could not start (exec failed) fails the run, unless an
    // expectation asks how it ended (a test that it cannot start).
    for (std::size_t p = 0; p < run.procs.size() && p < plan_.processes.size(); ++p) {
        if (run.procs[p].verdict != Verdict::NotStarted || asks_how_it_ended(static_cast<int>(p))) continue;
        ExpectResult res;
        res.name = fmt::format("{} started", plan_.processes[p].name), res.kind = ExpectKind::Final, res.implicit = true;
        res.text = fmt::format("verdict({}) != NOT_STARTED", plan_.processes[p].name);
        res.passed = false;
        res.detail = fmt::format("{} could not start: {}", plan_.processes[p].name, run.procs[p].verdict_detail);
        out.push_back(std::move(res));
    }
    if (!outcome_stated) {
        ExpectResult res;
        res.name = "run completed", res.kind = ExpectKind::Outcome, res.text = "completed", res.implicit = true;
        res.passed = run.outcome == Outcome::Completed;
        res.detail = fmt::format("outcome: {}", outcome_name(run.outcome));
        out.push_back(std::move(res));
    }
    return out;
}

}  // namespace simrun

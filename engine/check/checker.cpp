#include "check/checker.hpp"

#include "util/duration.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

#include <cstring>
#include <regex>
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
        case StdoutMatch::Regex: return std::regex_search(out, std::regex(want, std::regex::ECMAScript));
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
    for (const auto& e : plan.expects)
        for (const auto& n : e.expr.nodes)
            if (n.op == ExprOp::Message)
                for (std::uint32_t op : n.ops) kept_[op] = true;
            else if (n.op == ExprOp::Before) {
                for (std::uint32_t op : n.ops) timed_[op] = true;
                for (std::uint32_t op : n.ops2) timed_[op] = true;
            }
}

void Checker::on_event(const Record& r, std::string_view payload) {
    ++events_;
    if (r.kind == EventKind::Output && !(r.flags & kRecStderr) && r.proc < stdout_.size()) stdout_[r.proc].append(payload);
    if (r.kind == EventKind::RunStart) t0_ = r.ts;
    if (r.kind == EventKind::Exit && r.proc < status_.size()) status_[r.proc] = static_cast<int>(r.e.arg);
    if (r.kind == EventKind::Reaped || (r.kind == EventKind::Exit && (r.flags & kRecAdopted))) ++zombies_left_;
    const Op* op = r.kind == EventKind::Op && r.proc < status_.size() ? &plan_.ops[r.e.op] : nullptr;
    if (op && r.e.err == 0 && !(r.flags & kRecLoadStep)) {
        ++op_counts_[r.e.op];
        if (timed_[r.e.op]) op_times_[r.e.op].push_back(events_);
        if (kept_[r.e.op] && r.e.result > 0) op_data_[r.e.op].emplace_back(events_, std::string(payload));
    }
    if (op && r.e.err != 0) ++op_errors_[r.e.op], op_errno_[r.e.op] = r.e.err;
    if (r.kind == EventKind::Signal && r.proc < status_.size() && r.e.arg > 0 && r.e.arg < 65)
        ++received_[static_cast<std::size_t>(r.proc) * 65 + static_cast<std::size_t>(r.e.arg)];
    if (r.kind == EventKind::Undo) {
        sems_[r.e.arg] = static_cast<int>(r.e.value);
    } else if (op && op->kind == OpKind::Semctl && (op->count == kSetall || op->count == kGetall)) {
        if (r.e.result < 0) return;
        const int first = plan_.sems[op->object].first_value;
        for (std::size_t m = 0; m < plan_.sems[op->object].members.size(); ++m) {
            if (op->count == kSetall) sems_[first + m] = plan_.sem_terms[op->first + m].delta;
            else if (payload.size() >= (m + 1) * sizeof(std::int32_t)) {
                std::int32_t v;
                std::memcpy(&v, payload.data() + m * sizeof v, sizeof v);
                sems_[first + m] = v;
            }
        }
    } else if (op && op->kind == OpKind::Semctl) {
        if (r.e.result < 0 || (op->count != kSetval && op->count != kGetval)) return;
        sems_[plan_.sems[op->object].first_value + op->slot] = op->count == kSetval ? static_cast<int>(op->value) : static_cast<int>(r.e.result);
    } else if (op && (op->kind == OpKind::PsemWait || op->kind == OpKind::PsemPost)) {
        if (!(r.flags & kRecValue)) return;
        psems_[op->object] = r.e.value;
    } else if (op && (op->kind == OpKind::MsgSend || op->kind == OpKind::MsgRecv)) {
        if (r.e.result < 0) return;
        std::int64_t bytes = op->kind == OpKind::MsgSend ? static_cast<std::int64_t>(plan_.texts[op->first].size()) : -r.e.result;
        queues_[op->object * 2] += op->kind == OpKind::MsgSend ? 1 : -1;
        queues_[op->object * 2 + 1] += bytes;
    } else if (r.kind != EventKind::Op || !(r.flags & kRecValue) || op->kind == OpKind::SigMask) {
        if (r.kind != EventKind::Exit && r.kind != EventKind::Signal && !op) return;
    } else {
        const Op& op = plan_.ops[r.e.op];
        if (op.kind == OpKind::Semop)
            sems_[plan_.sems[op.object].first_value + plan_.sem_terms[op.first].member] = static_cast<int>(r.e.value);
        else
            cells_[plan_.shms[op.object].first_slot + op.slot] = r.e.value;
    }
    ValueView view{&cells_, &sems_, &status_, &queues_, &psems_, &received_, &op_counts_, &op_errors_, &op_errno_, 0, &op_times_, &op_data_, zombies_left_};
    for (std::size_t i = 0; i < plan_.expects.size(); ++i) {
        const auto& e = plan_.expects[i];
        if (e.kind != ExpectKind::Always || !broken_[i].empty()) continue;
        std::string error;
        auto v = eval_expr(e.expr, view, error);
        if (v && *v) continue;
        std::string who = r.proc < plan_.processes.size() ? plan_.processes[r.proc].name : "supervisor";
        std::string what = r.kind == EventKind::Op     ? fmt::format("'{}'", plan_.op_text[r.e.op])
                           : r.kind == EventKind::Undo ? "SEM_UNDO at exit"
                                                       : "exit";
        broken_[i] = fmt::format("first broken at {} by {}'s {} (event {}): {}", format_duration_ns(static_cast<std::int64_t>(r.ts - t0_)),
                                 who, what, events_, v ? explain_values(plan_, e.expr, view) : error);
    }
}

std::vector<ExpectResult> Checker::finish(const RunResult& run) {
    std::vector<ExpectResult> out;
    std::vector<int> status(run.procs.size(), -1), verdicts(run.procs.size(), -1);
    for (std::size_t p = 0; p < run.procs.size(); ++p) {
        if (run.procs[p].exited) status[p] = run.procs[p].wait_status.raw();
        verdicts[p] = static_cast<int>(run.procs[p].verdict);
    }
    // Deliveries and op counts are complete in the trace: the final view reads them too.
    ValueView final_view{&run.cells, &run.sems, &status, &run.queue_stats, &run.psem_values, &received_, &op_counts_, &op_errors_, &op_errno_,
                         static_cast<std::int64_t>(run.ipc_left.size()), &op_times_, &op_data_, zombies_left_, &verdicts};
    bool outcome_stated = false;
    for (std::size_t i = 0; i < plan_.expects.size(); ++i) {
        const auto& e = plan_.expects[i];
        ExpectResult res{e.name, e.kind, e.text, false, {}, false};
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
    if (!outcome_stated) {
        ExpectResult res{"run completed", ExpectKind::Outcome, "completed", run.outcome == Outcome::Completed,
                         fmt::format("outcome: {}", outcome_name(run.outcome)), true};
        out.push_back(std::move(res));
    }
    return out;
}

}  // namespace simrun

#include "plan/planner_impl.hpp"

#include <algorithm>
#include "util/duration.hpp"

#include <fmt/format.h>

// Expectations (references resolved) and faults.

namespace simrun::detail {

// ---- expectations --------------------------------------------------
void Planner::expectations() {
    for (auto e : d_.expects) {
        if (e.kind == ExpectKind::Stdout) {
            auto procs = find_processes(e.process.name, e.process.pos, "in [[expect]]");
            if (procs.size() != 1)
                fail(e.process.pos, fmt::format("'{}' has {} replicas; name one, e.g. {}#0", e.process.name, procs.size(), e.process.name));
            if (!p_.processes[procs[0]].is_exec())
                fail(e.process.pos, fmt::format("'{}' is scripted: only exec'd programs have their stdout captured", e.process.name));
            if (const PlanPipe& out = p_.pipes[p_.processes[procs[0]].stdout_pipe]; out.role != PipeRole::Stdout)
                fail(e.process.pos, fmt::format("'{}' writes its stdout into {} '{}', which its reader reads; simrun captures no copy", e.process.name,
                                                out.role == PipeRole::Fifo ? "FIFO" : "pipe", out.name));
            e.process_index = procs[0];
        }
        for (auto& n : e.expr.nodes) {
            SourcePos at = pos_in_string(e.text_pos, n.offset);
            if (n.op == ExprOp::Before) {
                n.ops = matching_ops(n.object, at);
                n.ops2 = matching_ops(n.second, pos_in_string(e.text_pos, n.second_offset));
                continue;
            }
            if (n.op == ExprOp::Message) {
                n.ops = matching_ops(n.object, at);
                for (std::uint32_t op : n.ops)
                    if (p_.ops[op].kind != OpKind::PipeRead && p_.ops[op].kind != OpKind::MsgRecv)
                        fail(at, fmt::format("message() reads what a read or recv returned; '{}' is neither", n.object));
                continue;
            }
            if (n.op == ExprOp::Status) {
                n.ops = matching_ops(n.object, at);
                for (std::uint32_t op : n.ops)
                    if (p_.ops[op].kind != OpKind::Wait)
                        fail(at, fmt::format("status() is what a wait returned; '{}' is not a wait", n.object));
                continue;
            }
            if (n.op == ExprOp::Count || n.op == ExprOp::Errors || n.op == ExprOp::Errno) {
                if (n.object == "call" || n.object.starts_with("call ")) {
                    n.ref = RefKind::Calls, n.slot = call_filter(n.object, e.text_pos, n.offset, n.op);
                    continue;
                }
                n.ops = matching_ops(n.object, at);
                continue;
            }
            if (n.op == ExprOp::Verdict && e.kind != ExpectKind::Final)
                fail(at, "verdict() is known when the run has ended: use it in a 'final' expectation");
            if (n.op == ExprOp::Exit || n.op == ExprOp::Signal || n.op == ExprOp::Received || n.op == ExprOp::Verdict) {
                auto procs = find_processes(n.object, at, "in the expression");
                if (procs.size() != 1)
                    fail(at, fmt::format("'{}' has {} replicas; name one, e.g. {}#0", n.object, procs.size(), n.object));
                n.ref = RefKind::Process, n.slot = procs[0];
            } else if (n.op == ExprOp::Ref) {
                RefDecl ref{n.object, n.member, n.indexed ? std::optional(n.index) : std::nullopt, n.offset};
                if (sem_index_.count(n.object)) {
                    int set = -1;
                    SemTerm t = resolve_sem(ref, e.text_pos, set);
                    n.ref = RefKind::SemMember, n.slot = p_.sems[set].first_value + t.member;
                } else if (shm_index_.count(n.object)) {
                    auto [seg, slot] = resolve_cell(ref, at);
                    n.ref = RefKind::ShmCell, n.slot = static_cast<int>(p_.shms[seg].first_slot + slot);
                } else if (auto ps = psem_index_.find(n.object); ps != psem_index_.end()) {
                    if (n.member != "value") fail(at, fmt::format("a POSIX semaphore has '{}.value'", n.object));
                    n.ref = RefKind::PsemValue, n.slot = ps->second;
                } else if (auto q = queue_index_.find(n.object); q != queue_index_.end()) {
                    bool sysv = p_.queues[q->second].kind == QueueKind::SysV;
                    if (n.member != "messages" && !(sysv && n.member == "bytes"))
                        fail(at, fmt::format("a {} queue has '{}.messages'{}", sysv ? "System V" : "POSIX", n.object,
                                             sysv ? fmt::format(" and '{}.bytes'", n.object) : std::string()));
                    n.ref = RefKind::QueueStat, n.slot = q->second * 2 + (n.member == "bytes");
                } else {
                    fail(at, fmt::format("unknown object '{}' (expressions read shm cells, semaphores and queues){}", n.object,
                                         did_you_mean_suffix(n.object, all_object_names())));
                }
            }
        }
        p_.expects.push_back(std::move(e));
    }
}

// ---- faults --------------------------------------------------------
void Planner::faults() {
    for (const auto& f : d_.faults) {
        auto procs = find_processes(f.process.name, f.process.pos, "in [[fault]]");
        if (procs.size() != 1)
            fail(f.process.pos, fmt::format("'{}' has {} replicas; name one, e.g. '{}#0'", f.process.name, procs.size(), f.process.name));
        PlanFault pf;
        pf.proc = procs[0];
        pf.signal = f.signal;
        pf.count = f.count;
        const PlanProcess& victim = p_.processes[pf.proc];
        if (f.at_step) {
            if (p_.mode != SchedMode::Controlled)
                fail(f.pos, "'at_step' needs controlled scheduling: mode = \"controlled\" or --controlled");
            pf.trigger = FaultTrigger::AtStep, pf.at = *f.at_step;
            pf.text = fmt::format("{} to {} at step {}", signal_name(pf.signal), victim.name, pf.at);
        } else if (f.at_ns) {
            if (p_.mode != SchedMode::Free)
                fail(f.pos, "'at' (a time) needs free scheduling; in controlled mode use 'at_step' or 'after'");
            pf.trigger = FaultTrigger::AtTime, pf.at = *f.at_ns;
            if (pf.at >= p_.timeout_ns)
                fail(f.at_pos, fmt::format("this fault can never fire: the run's timeout is {}", format_duration_ns(p_.timeout_ns)));
            pf.text = fmt::format("{} to {} at {} ms", signal_name(pf.signal), victim.name, pf.at / 1e6);
        } else {
            if (victim.is_exec()) fail(f.after_pos, "'after' counts ops of scripted processes only");
            pf.trigger = FaultTrigger::AfterOp;
            std::vector<std::string> candidates;
            for (std::uint32_t i = victim.first_op; i < victim.first_op + victim.op_count; ++i) {
                std::string short_form = std::string(op_verb(p_, p_.ops[i])) + " " + op_target(p_, p_.ops[i]);
                if (*f.after == p_.op_text[i] || *f.after == short_form) pf.ops.push_back(i);
                candidates.push_back(p_.op_text[i]);
            }
            if (pf.ops.empty())
                fail(f.after_pos, fmt::format("process '{}' has no op '{}'{}", victim.name, *f.after,
                                              did_you_mean_suffix(*f.after, same_verb(*f.after, candidates))));
            const auto times = static_cast<std::int64_t>(pf.ops.size()) * victim.repeat;
            if (pf.count > times)
                fail(f.count_pos, fmt::format("this fault can never fire: '{}' completes at most {} time{} in '{}' (count = {})", *f.after, times,
                                              times == 1 ? "" : "s", victim.name, pf.count));
            pf.text = fmt::format("{} to {} after its {} '{}'", signal_name(pf.signal), victim.name,
                                  pf.count == 1 ? std::string("first") : fmt::format("{}th", pf.count), *f.after);
        }
        p_.faults.push_back(std::move(pf));
    }
}

// The ops an expression names: as written in a run list, or as verb and
// object ("V slots.full"), in every process.
std::vector<std::uint32_t> Planner::matching_ops(const std::string& written, SourcePos at) {
    // "OP by PROCESS": only that process's ops (a name with replicas: each of them).
    std::string text = written;
    std::vector<bool> mine;
    if (auto by = written.rfind(" by "); by != std::string::npos) {
        text = written.substr(0, by);
        mine.assign(p_.ops.size(), false);
        for (int p : find_processes(written.substr(by + 4), pos_in_string(at, by + 4), "after 'by'"))
            for (std::uint32_t k = 0; k < p_.processes[p].op_count; ++k) mine[p_.processes[p].first_op + k] = true;
    }
    std::vector<std::uint32_t> ops;
    for (std::size_t i = 0; i < p_.ops.size(); ++i) {
        if (!mine.empty() && !mine[i]) continue;
        std::string target = op_target(p_, p_.ops[i]);
        std::string short_form = std::string(op_verb(p_, p_.ops[i])) + (target.empty() ? "" : " " + target);
        if (text != p_.op_text[i] && text != short_form) continue;
        const Op& op = p_.ops[i];
        if (op.kind != OpKind::Choose) {
            ops.push_back(static_cast<std::uint32_t>(i));
            continue;
        }
        for (std::uint32_t v = op.first; v < op.first + op.count; ++v) ops.push_back(v);  // P forks.f{k}: each name it can give
    }
    std::sort(ops.begin(), ops.end());
    ops.erase(std::unique(ops.begin(), ops.end()), ops.end());
    if (ops.empty()) {
        std::string hint = did_you_mean_suffix(text, same_verb(text, p_.op_text));
        bool programs = std::any_of(p_.processes.begin(), p_.processes.end(), [](const PlanProcess& p) { return p.is_exec(); });
        if (hint.empty() && programs)
            hint = fmt::format(" (a program's calls are counted as count(call NAME ...), e.g. count(call {}))", text.substr(0, text.find(' ')));
        fail(at, mine.empty() ? fmt::format("no process has the op '{}'{}", text, hint)
                              : fmt::format("'{}' has no op '{}'{}", written.substr(written.rfind(" by ") + 4), text, hint));
    }
    return ops;
}

// The candidates with text's verb: a suggestion never changes what the op does.
std::vector<std::string> Planner::same_verb(const std::string& text, const std::vector<std::string>& candidates) {
    std::string verb = text.substr(0, text.find(' '));
    std::vector<std::string> out;
    for (const auto& c : candidates)
        if (c.substr(0, c.find(' ')) == verb) out.push_back(c);
    return out;
}

}  // namespace simrun::detail

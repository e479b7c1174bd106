#include "report/timeline.hpp"


#include "util/duration.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstring>

namespace simrun {
namespace {

std::size_t display_width(std::string_view s) {
    std::size_t w = 0;
    for (unsigned char c : s) w += (c & 0xC0) != 0x80;  // count code points, not bytes
    return w;
}

std::string fit(std::string s, std::size_t width) {
    if (display_width(s) <= width) return s + std::string(width - display_width(s), ' ');
    std::string out;
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) != 0x80 && ++w > width - 1) break;
        out += s[i];
    }
    return out + "…";
}

std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) {
        if (c == '\n') out += "\\n";
        else if (static_cast<unsigned char>(c) < 0x20) out += '?';
        else out += c;
    }
    if (s.size() > max) out += "…";
    return out;
}

const char* errname(int err) { return strerrorname_np(err) ? strerrorname_np(err) : "?"; }

}  // namespace

namespace {

std::string describe_op(const Plan& plan, const ev::ScriptOp& o) {
    const Op& op = *o.op;
    std::string target = op_target(plan, op, o.arg);
    std::string verb = op_verb(plan, op);
    std::string what = target.empty() ? verb : verb + " " + target;
    const std::string& text = plan.op_text[o.index];
    if (o.parked) {
        if (op.kind == OpKind::Test) return fmt::format("{} ⏸ (spins: waits for another process to change what it reads)", text);
        if (o.value) return fmt::format("{} ⏸ (value {})", what, *o.value);
        return fmt::format("{} ⏸", what);
    }
    if (op.kind == OpKind::IpcGet || op.kind == OpKind::Semctl || op.kind == OpKind::Shmctl || op.kind == OpKind::Msgctl)
        what = text;  // the flags matter
    if (op.kind == OpKind::Choose)  // no declared name for the value it computed
        return fmt::format("{} ✘ {} (no '{}{}{}')", text, errname(o.err), plan.texts[op.slot], o.arg, plan.texts[op.slot + 1]);
    if (o.err && op.kind != OpKind::Pause) return fmt::format("{} ✘ {}", what, errname(o.err));
    const std::string woke = o.woke ? " (woke)" : "";
    const std::int64_t value = o.value.value_or(0);
    switch (op.kind) {
        case OpKind::Semop:
            if (o.value) return fmt::format("{} {} → {}{}", verb, target, value, woke);
            return fmt::format("{}{}", text, woke);
        case OpKind::ShmLoad: return fmt::format("load {} = {}", target, value);
        case OpKind::ShmStore: return fmt::format("{} = {}", target, value);
        case OpKind::ShmAdd:
            if (o.half == ev::ScriptOp::Half::Load) return fmt::format("{} read {}", target, value);
            if (o.half == ev::ScriptOp::Half::Store) return fmt::format("{} ← {}", target, value);
            return fmt::format("{} {}= {} → {}", target, op.value < 0 ? '-' : '+', op.value < 0 ? -op.value : op.value, value);
        case OpKind::PipeWrite: return fmt::format("write {} {} B{}", target, o.result, woke);
        case OpKind::PipeRead:
            if (o.result == 0) return fmt::format("read {} EOF{}", target, woke);
            return fmt::format("read {} \"{}\"{}", target, printable(o.payload, 24), woke);
        case OpKind::PipeClose: return fmt::format("close {}", target);
        case OpKind::Sleep: return fmt::format("slept {}", format_duration_ns(op.value));
        case OpKind::Print: return fmt::format("“{}”", printable(sent_text(plan, o), 60));
        case OpKind::Exit: return fmt::format("exit {}", op.value);
        case OpKind::Kill:
            return fmt::format("{} {}{}{}", verb, signal_name(static_cast<int>(op.slot)), target.empty() ? "" : " → " + target,
                               (op.flags & kOpSigqueue) ? fmt::format(" value {}", op.code_len ? o.arg : op.value) : "");
        case OpKind::SigMask: return text;
        case OpKind::Pause: return fmt::format("pause → EINTR{}", woke);
        case OpKind::SigWait: return fmt::format("sigwait → {} from pid {}{}", signal_name(static_cast<int>(op.slot)), o.pid, woke);
        case OpKind::Fork: return fmt::format("fork {}", target);
        case OpKind::Wait: return fmt::format("wait → pid {} {}{}", o.result, WaitStatus(static_cast<int>(o.arg)).describe(), woke);
        case OpKind::IpcGet: return fmt::format("{} → id {}", text, o.result);
        case OpKind::Semctl: return fmt::format("{} → {}", text, o.result);
        case OpKind::Msgctl:
            if (op.count == kIpcStat) return fmt::format("{} → {} messages, limit {} bytes", text, o.extra, o.arg);
            return fmt::format("{} → {}", text, o.result);
        case OpKind::Shmctl:
            if (op.count == kIpcStat) return fmt::format("{} → nattch {}, {} bytes", text, o.extra, o.arg);
            return fmt::format("{} → {}", text, o.result);
        case OpKind::Crash: return fmt::format("crash ({})", signal_name(static_cast<int>(op.value)));
        case OpKind::FifoOpen: return fmt::format("open {} {} → fd {}{}", target, op.value ? "write" : "read", o.result, woke);
        case OpKind::PsemWait:
        case OpKind::PsemPost: return fmt::format("{} {} → {}{}", verb, target, value, woke);
        case OpKind::MsgSend:
            return fmt::format("send {} [{}] \"{}\"{}", target, op.code_len ? o.arg : op.value, printable(sent_text(plan, o), 24), woke);
        case OpKind::Test:
            return fmt::format("{} → {}{}", text, o.result ? "true" : "false", o.arg > 1 ? fmt::format(" (after {} tests)", o.arg) : "");
        case OpKind::Jump:
        case OpKind::Loop:
        case OpKind::SetValue:
        case OpKind::Choose: return text;  // not steps: never in a trace
        case OpKind::MsgRecv: return fmt::format("recv {} → [{}] \"{}\"{}", target, o.arg, printable(o.payload, 24), woke);
    }
    return "";
}

}  // namespace

std::string describe_event(const Plan& plan, const Event& e) {
    return std::visit(
        Overloaded{
            [](const ev::RunStart&) { return std::string(); },
            [](const ev::RunEnd&) { return std::string(); },
            [](const ev::Call& c) { return describe_call(c); },
            [](const ev::Spawn& s) { return s.pid > 0 ? fmt::format("spawned (pid {})", s.pid) : fmt::format("fork failed: {}", errname(s.err)); },
            [&](const ev::Exec&) { return fmt::format("exec {}", plan.processes[e.proc.index].argv[0]); },
            [](const ev::ExecFailed& x) { return fmt::format("exec failed: {}", errname(x.err)); },
            [](const ev::Exit& x) {
                if (x.reaped_stray) return std::string();  // the diagnosis counts them
                return x.status.describe() + (x.adopted ? " (reaped by simrun: its parent never waited)" : "");
            },
            [](const ev::Output& o) { return fmt::format("{} \"{}\"", o.stderr ? "stderr" : "stdout", printable(o.data, 40)); },
            [](const ev::Fault& f) { return fmt::format("⚡ {}", signal_name(f.signal)); },
            [](const ev::Zombie&) { return std::string("zombie (exited, not yet reaped)"); },
            [](const ev::Orphan& o) { return fmt::format("orphan: re-parented to pid {}", o.new_parent_pid); },
            [](const ev::Signal& s) {
                return fmt::format("⚑ {} from pid {}{}", signal_name(s.signal), s.from_pid, s.value ? fmt::format(" value {}", *s.value) : "");
            },
            [&](const ev::Undo& u) {
                const std::string what = u.sem >= 0 ? plan.sem_label(u.sem) : fmt::format("semid {}[{}]", u.semid, u.num);
                if (!u.known) return fmt::format("undo {} {:+d}", what, u.adj);
                return fmt::format("undo {} {:+d}: {} → {}{}", what, u.adj, u.before, u.after, u.clamped() ? (u.after == 0 ? " (clamped at 0)" : " (clamped at 32767)") : "");
            },
            [&](const ev::ScriptOp& o) { return describe_op(plan, o); },
        },
        e.body);
}

Timeline::Timeline(const Plan& plan, TerminalStyle style, std::FILE* out)
    : plan_(plan), style_(style), out_(out), columns_(plan.processes.size() <= 4) {
    if (style_.quiet) style_.max_events = 0;
    for (const auto& p : plan.processes) width_ = std::max(width_, display_width(p.name) + 2);
}

void Timeline::header(bool sandboxed, const std::string& mode_line) {
    mode_line_ = mode_line;  // the quiet summary repeats it: every run prints its seed
    if (style_.quiet) return;
    std::string title = plan_.name + (plan_.description.empty() ? "" : " — " + plan_.description);
    fmt::print(out_, "{}{}{}\n", title, mode_line.empty() ? "" : "   " + mode_line, sandboxed ? "" : "   (no sandbox)");
    if (style_.max_events == 0) return;
    if (columns_) {
        std::string h = "  t(ms)  ";
        for (const auto& p : plan_.processes) h += fit(p.name, width_);
        while (!h.empty() && h.back() == ' ') h.pop_back();
        fmt::print(out_, "{}\n", h);
    } else {
        fmt::print(out_, "  t(ms)  {:<{}} event\n", "process", width_);
    }
}

void Timeline::line(std::uint64_t ts, int proc, const std::string& text) {
    std::string l = fmt::format("{:>7.3f}  ", static_cast<double>(ts - t0_) / 1e6);
    if (columns_) {
        l += std::string(width_ * static_cast<std::size_t>(proc), ' ');
        l += text;
    } else {
        l += fit(plan_.processes[proc].name, width_) + text;
    }
    fmt::print(out_, "{}\n", l);
    std::fflush(out_);
}

void Timeline::on_event(const Event& e) {
    if (std::holds_alternative<ev::RunStart>(e.body)) t0_ = e.ts;
    if (const auto* c = std::get_if<ev::Call>(&e.body); c && c->id == CallId::Fork && !c->started && !c->err)
        if (const auto* f = std::get_if<call::Fork>(&c->args); f && (f->how == kForkSystem || c->result > 0)) ++children_;
    if (!out_) return;
    // A traced program's child shows in its ancestor's column, by name.
    const int column = e.proc.column;
    if (column < 0) return;
    if (shown_ >= style_.max_events) {
        ++hidden_;
        return;
    }
    std::string text = describe_event(plan_, e);
    if (text.empty()) return;
    if (column != e.proc.index) text = fmt::format("[{}] {}", *e.proc.name, text);
    ++shown_;
    line(e.ts < t0_ ? t0_ : e.ts, column, text);
}

void Timeline::summary(const RunResult& run, const std::vector<ExpectResult>& results, const std::string& trace_path,
                       const std::string& schedule_path, const std::string& replay_hint) {
    auto paint = [&](const char* code, const std::string& s) {
        return style_.color ? fmt::format("\033[{}m{}\033[0m", code, s) : s;
    };
    if (hidden_ > 0 && !style_.quiet && style_.note_hidden) fmt::print(out_, "  … {} more events in the trace\n", hidden_);
    const char* outcome_color = run.outcome == Outcome::Completed ? "1" : "1;31";
    const std::size_t declared = plan_.processes.size();
    const std::string children = children_ ? fmt::format(" (+ {} child{} of programs)", children_, children_ == 1 ? "" : "ren") : "";
    fmt::print(out_, " outcome: {} in {} · {} process{}{} · {} events{}\n", paint(outcome_color, outcome_name(run.outcome)),
               format_duration_ns(static_cast<std::int64_t>(run.t_end - run.t0)), declared, declared == 1 ? "" : "es", children, run.events,
               style_.quiet && !mode_line_.empty() ? " · " + mode_line_ : "");
    for (const auto& d : run.diagnosis) fmt::print(out_, "   {}\n", d);
    // A grader's view of each program: how it ended.
    for (std::size_t p = 0; p < run.procs.size() && p < plan_.processes.size(); ++p) {
        const ProcessEnd& end = run.procs[p];
        if (!plan_.processes[p].is_exec() || (style_.quiet && end.verdict == Verdict::Ok)) continue;
        fmt::print(out_, " {} {}: {} ({})\n", end.verdict == Verdict::Ok ? paint("32", "▸") : paint("31", "▸"), plan_.processes[p].name,
                   verdict_name(end.verdict), end.verdict_detail);
    }
    std::size_t name_w = 0;
    for (const auto& e : results) name_w = std::max(name_w, display_width(e.name));
    for (const auto& e : results) {
        if (style_.quiet && e.passed) continue;
        const char* kind = e.kind == ExpectKind::Final ? "final " : e.kind == ExpectKind::Always ? "always " : e.kind == ExpectKind::Stdout ? "" : "outcome ";
        std::string mark = e.passed ? paint("32", "✔") : paint("31", "✘");
        fmt::print(out_, " {} {}  ({}{})\n", mark, e.name + std::string(name_w - display_width(e.name), ' '), kind, e.text);
        if (!e.passed && !e.detail.empty()) fmt::print(out_, "     {}\n", e.detail);
    }
    if (!style_.quiet) fmt::print(out_, " trace: {}\n", trace_path);
    if (!style_.quiet && !schedule_path.empty()) fmt::print(out_, " schedule: {}\n", schedule_path);
    if (!replay_hint.empty()) fmt::print(out_, " {}\n", replay_hint);
}

const char* event_kind_name(const Event& e) {
    return std::visit(Overloaded{[](const ev::RunStart&) { return "run_start"; }, [](const ev::RunEnd&) { return "run_end"; },
                                 [](const ev::Spawn&) { return "spawn"; }, [](const ev::Exec&) { return "exec"; },
                                 [](const ev::ExecFailed&) { return "exec_failed"; },
                                 [](const ev::Exit& x) { return x.reaped_stray ? "reaped" : "exit"; }, [](const ev::Fault&) { return "fault"; },
                                 [](const ev::Signal&) { return "signal"; }, [](const ev::Zombie&) { return "zombie"; },
                                 [](const ev::Orphan&) { return "orphan"; }, [](const ev::Undo&) { return "undo"; },
                                 [](const ev::Output&) { return "output"; }, [](const ev::ScriptOp& o) { return o.parked ? "block" : "op"; },
                                 [](const ev::Call& c) { return c.started ? "block" : "call"; }},
                      e.body);
}

}  // namespace simrun

#include "report/jsonl_writer.hpp"


#include "util/json.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/ipc.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <functional>

namespace simrun {

std::string si_code_name(int sig, int code) {
    switch (code) {
        case SI_USER: return "SI_USER";
        case SI_QUEUE: return "SI_QUEUE";
        case SI_TKILL: return "SI_TKILL";
        case SI_KERNEL: return "SI_KERNEL";
        default: break;
    }
    if (sig == SIGCHLD) {
        static const char* const cld[] = {"?", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"};
        if (code >= 1 && code <= 6) return cld[code];
    }
    return std::to_string(code);
}

std::string signal_list_json(std::uint64_t bits) {
    std::string out = "[";
    for (int sig = 1; sig <= 64; ++sig)
        if (bits & (1ull << (sig - 1))) out += (out.size() > 1 ? ",\"" : "\"") + signal_name(sig) + "\"";
    return out + "]";
}

Result<std::unique_ptr<JsonlWriter>> JsonlWriter::open(const std::string& path, const Plan& plan, const RunResult& run) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return sys_error(fmt::format("open({})", path));
    std::unique_ptr<JsonlWriter> w(new JsonlWriter(std::move(fd), path, plan, run.t0));
    std::string& l = w->line_;
    l = fmt::format("{{\"schema\":\"{}\",\"kind\":\"run_start\",\"seq\":0,\"t\":0,\"scenario\":", kTraceSchema);
    append_json_string(l, plan.name);
    l += ",\"path\":";
    append_json_string(l, plan.path);
    l += fmt::format(",\"mode\":\"{}\"{}{},\"sandbox\":\"{}\",\"processes\":[",
                     plan.mode == SchedMode::Controlled ? "controlled" : "free", run.schedule_info.empty() ? "" : ",",
                     run.schedule_info, run.sandboxed ? "namespaces" : "none");
    for (std::size_t i = 0; i < plan.processes.size(); ++i) {
        if (i) l += ',';
        append_json_string(l, plan.processes[i].name);
    }
    l += "]}";
    w->start_line_ = l;
    w->flush_line();
    return w;
}

std::unique_ptr<JsonlWriter> JsonlWriter::again(UniqueFd fd, std::string path, const Plan& plan, std::uint64_t t0, const std::string& start_line) {
    std::unique_ptr<JsonlWriter> w(new JsonlWriter(std::move(fd), std::move(path), plan, t0));
    w->line_ = w->start_line_ = start_line;
    w->flush_line();
    return w;
}

std::vector<std::string> JsonlWriter::tail_lines(const RunResult& run) {
    std::vector<std::string> out = expect_lines_;
    out.push_back(end_line(run, run.trace_cut));
    out.back().pop_back();  // its newline
    return out;
}

Status JsonlWriter::finish_with(const std::vector<std::string>& tail_lines) {
    for (const auto& l : tail_lines) {
        line_ = l;
        flush_line();
    }
    if (!write_out()) return Error{fmt::format("cannot write {}: {}", path_, std::strerror(errno_))};
    return ok_status();
}

void JsonlWriter::flush_line() {
    line_ += '\n';
    if (!errno_) {
        buf_ += line_;
        buf_last_seq_ = seq_;
        if (buf_.size() >= (64u << 10)) write_out();
    }
    line_.clear();
}

bool JsonlWriter::write_out() {
    std::size_t done = 0;
    while (done < buf_.size()) {
        const ssize_t n = ::write(fd_.get(), buf_.data() + done, buf_.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        errno_ = n < 0 ? errno : ENOSPC;
        // The whole lines that made it stay; half a line goes.
        const std::size_t end = done == 0 ? std::string::npos : buf_.rfind('\n', done - 1);
        if (end != std::string::npos) {
            const std::size_t start = end == 0 ? 0 : buf_.rfind('\n', end - 1) + 1;  // npos + 1 == 0
            const std::size_t at = buf_.find("\"seq\":", start);
            if (at != std::string::npos && at < end) committed_seq_ = std::strtoull(buf_.c_str() + at + 6, nullptr, 10);
            committed_ += end + 1;
        }
        (void)::ftruncate(fd_.get(), static_cast<off_t>(committed_));
        (void)::lseek(fd_.get(), static_cast<off_t>(committed_), SEEK_SET);
        buf_.clear();
        return false;
    }
    committed_ += buf_.size();
    committed_seq_ = buf_last_seq_;
    buf_.clear();
    return true;
}

// The seq of the line that ends at `end` in the file (0 if it cannot be read).
std::uint64_t JsonlWriter::seq_before(std::uint64_t end) const {
    std::string window(std::min<std::uint64_t>(end, 64u << 10), '\0');
    const off_t from = static_cast<off_t>(end - window.size());
    if (::pread(fd_.get(), window.data(), window.size(), from) != static_cast<ssize_t>(window.size()) || window.empty()) return 0;
    const std::size_t nl = window.size() >= 2 ? window.rfind('\n', window.size() - 2) : std::string::npos;
    const std::size_t at = window.find("\"seq\":", nl == std::string::npos ? 0 : nl + 1);
    return at == std::string::npos ? 0 : std::strtoull(window.c_str() + at + 6, nullptr, 10);
}

// The disk is full: run_end must still fit. Each try drops whole lines
// before it (back to a line end at least twice as far as the last try).
bool JsonlWriter::write_last_line(const std::function<std::string()>& line_for_committed) {
    std::uint64_t room = 0;
    for (;;) {
        const std::string line = line_for_committed();
        (void)::ftruncate(fd_.get(), static_cast<off_t>(committed_));
        if (::pwrite(fd_.get(), line.data(), line.size(), static_cast<off_t>(committed_)) == static_cast<ssize_t>(line.size())) return true;
        if (committed_ == 0) return false;
        room = std::max<std::uint64_t>(room * 2, line.size() + 8192);
        const std::uint64_t at = committed_ > room ? committed_ - room : 0;
        // The first line end at or after `at`, or the file's start.
        char chunk[4096];
        std::uint64_t cut = 0;
        for (std::uint64_t pos = at; at > 0 && pos < committed_ && cut == 0;) {
            const ssize_t n = ::pread(fd_.get(), chunk, sizeof chunk, static_cast<off_t>(pos));
            if (n <= 0) break;
            for (ssize_t k = 0; k < n && cut == 0; ++k)
                if (chunk[k] == '\n') cut = pos + static_cast<std::uint64_t>(k) + 1;
            pos += static_cast<std::uint64_t>(n);
        }
        committed_ = cut < committed_ ? cut : 0;
        committed_seq_ = committed_ ? seq_before(committed_) : 0;
    }
}

void JsonlWriter::head(const char* kind, const Event& e) {
    line_ += fmt::format("{{\"kind\":\"{}\",\"seq\":{},\"t\":{}", kind, ++seq_, e.ts >= t0_ ? e.ts - t0_ : 0);
    if (e.proc.name) {
        line_ += ",\"proc\":";
        append_json_string(line_, *e.proc.name);
    }
}

static void errno_fields(std::string& l, int err) {
    if (err == 0) return;
    l += fmt::format(",\"errno\":\"{}\",\"error\":", strerrorname_np(err) ? strerrorname_np(err) : "?");
    append_json_string(l, std::strerror(err));
}

void JsonlWriter::on_event(const Event& e) {
    std::string& l = line_;
    auto pid = [&](std::int32_t p) { l += fmt::format(",\"pid\":{}", p); };
    const bool written = std::visit(
        Overloaded{
            // run_start and run_end lines are written from the plan and the result
            [&](const ev::RunStart&) { return false; },
            [&](const ev::RunEnd&) { return false; },
            [&](const ev::Spawn& s) {
                head("spawn", e);
                pid(s.pid);
                const PlanProcess& pp = plan_.processes[e.proc.index];
                l += ",\"parent\":";
                append_json_string(l, pp.parent == kSupervisor ? std::string("supervisor") : plan_.processes[pp.parent].name);
                l += fmt::format(",\"parent_pid\":{}", s.parent_pid);
                errno_fields(l, s.err);
                return true;
            },
            [&](const ev::Exec& x) {
                head("exec", e);
                pid(x.pid);
                l += ",\"argv\":[";
                const auto& argv = plan_.processes[e.proc.index].argv;
                for (std::size_t i = 0; i < argv.size(); ++i) {
                    if (i) l += ',';
                    append_json_string(l, argv[i]);
                }
                l += ']';
                return true;
            },
            [&](const ev::ExecFailed& x) {
                head("exec_failed", e);
                pid(x.pid);
                errno_fields(l, x.err);
                return true;
            },
            [&](const ev::Exit& x) {
                head(x.reaped_stray ? "reaped" : "exit", e);
                pid(x.pid);
                if (x.adopted) l += ",\"adopted\":true";
                if (x.end_kill) l += ",\"killed_at_end\":true";
                if (x.status.exited()) l += fmt::format(",\"code\":{}", x.status.code());
                if (x.status.signaled())
                    l += fmt::format(",\"signal\":\"{}\",\"core\":{}", signal_name(x.status.signal()), x.status.core_dumped() ? "true" : "false");
                return true;
            },
            [&](const ev::Fault& f) {
                head("fault", e);
                l += fmt::format(",\"signal\":\"{}\"", signal_name(f.signal));
                if (f.step != kNoStep) l += fmt::format(",\"step\":{}", f.step);
                return true;
            },
            [&](const ev::Signal& s) {
                head("signal", e);
                l += fmt::format(",\"signal\":\"{}\",\"from_pid\":{},\"code\":\"{}\"", signal_name(s.signal), s.from_pid, si_code_name(s.signal, s.code));
                if (s.value) l += fmt::format(",\"value\":{}", *s.value);
                return true;
            },
            [&](const ev::Zombie& z) {
                head("zombie", e);
                pid(z.pid);
                return true;
            },
            [&](const ev::Orphan& o) {
                head("orphan", e);
                l += fmt::format(",\"pid\":{},\"new_parent_pid\":{}", o.pid, o.new_parent_pid);
                return true;
            },
            [&](const ev::Undo& u) {
                head("undo", e);
                if (u.sem >= 0) {
                    l += ",\"obj\":";
                    append_json_string(l, plan_.sem_label(u.sem));
                } else {
                    l += fmt::format(",\"semid\":{},\"num\":{}", u.semid, u.num);
                }
                l += fmt::format(",\"adj\":{}", u.adj);
                if (u.known) l += fmt::format(",\"before\":{},\"after\":{}", u.before, u.after);
                if (u.clamped()) l += ",\"clamped\":true";
                return true;
            },
            [&](const ev::Output& o) {
                head("output", e);
                if (o.stderr) l += ",\"stream\":\"stderr\"";
                l += ",\"data\":";
                append_json_string(l, o.data);
                return true;
            },
            [&](const ev::Call& c) {
                head(c.started ? "block" : "call", e);
                pid(c.pid);
                append_call_json(l, c);
                if (c.started) return true;
                if (c.waited) l += ",\"waited\":true";
                l += fmt::format(",\"result\":{}", c.result);
                errno_fields(l, c.err);
                return true;
            },
            [&](const ev::ScriptOp& o) {
                head(o.parked ? "block" : "op", e);
                script_op(e, o);
                return true;
            },
        },
        e.body);
    if (!written) return;
    l += '}';
    flush_line();
}

void JsonlWriter::script_op(const Event& e, const ev::ScriptOp& o) {
    std::string& l = line_;
    const Op& op = *o.op;
    const bool done = !o.parked;
    l += fmt::format(",\"op\":\"{}\"", op_verb(plan_, op));
    std::string target = op_target(plan_, op, o.arg);
    if (!target.empty()) {
        l += ",\"obj\":";
        append_json_string(l, target);
    }
    if (op.kind == OpKind::Choose) {  // the name it computed, which no declared object has
        l += ",\"name\":";
        append_json_string(l, fmt::format("{}{}{}", plan_.texts[op.slot], o.arg, plan_.texts[op.slot + 1]));
    }
    if (op.kind == OpKind::Test) {  // if / while: the condition as written; result 1 (true) or 0
        const std::string& text = plan_.op_text[o.index];
        l += ",\"cond\":";
        append_json_string(l, text.substr(std::min(text.size(), text.find(' ') + 1)));
        if (o.arg > 1) l += fmt::format(",\"tests\":{}", o.arg);  // free mode: a busy wait's tests, unrecorded but this last one
    }
    if (op.kind == OpKind::FifoOpen) l += fmt::format(",\"mode\":\"{}\"", op.value ? "write" : "read");
    if (op.kind == OpKind::Kill) {
        l += fmt::format(",\"signal\":\"{}\",\"target_pid\":{}", signal_name(static_cast<int>(op.slot)), o.pid);
        if (op.flags & kOpSigqueue) l += fmt::format(",\"value\":{}", op.code_len ? o.arg : op.value);
    }
    if (op.kind == OpKind::SigMask) {
        l += ",\"signals\":" + signal_list_json(static_cast<std::uint64_t>(op.value));
        if (o.value) l += ",\"pending\":" + signal_list_json(static_cast<std::uint64_t>(*o.value));
    }
    if (op.kind == OpKind::SigWait && done) {
        l += fmt::format(",\"signal\":\"{}\"", signal_name(static_cast<int>(op.slot)));
        if (o.result > 0)
            l += fmt::format(",\"from_pid\":{},\"code\":\"{}\",\"value\":{}", o.pid, si_code_name(static_cast<int>(op.slot), static_cast<int>(o.arg)),
                             o.extra);
    }
    if (op.kind == OpKind::Wait && done && o.result > 0) l += ",\"status\":\"" + WaitStatus(static_cast<int>(o.arg)).describe() + "\"";
    if (op.kind == OpKind::IpcGet) {
        const KeyDecl& key = op.count == kSemget ? plan_.sems[op.object].key
                             : op.count == kShmget ? plan_.shms[op.object].key
                                                   : plan_.queues[op.object].key;
        l += fmt::format(",\"flags\":\"{}{}0{:o}\"", (op.slot & IPC_CREAT) ? "IPC_CREAT|" : "", (op.slot & IPC_EXCL) ? "IPC_EXCL|" : "", op.slot & 0777);
        if (op.count != kMsgget) l += fmt::format(",\"size\":{}", op.value);
        if (key.kind == KeyDecl::Number) l += fmt::format(",\"key\":{}", key.number);
        if (key.kind == KeyDecl::Private) l += ",\"key\":\"IPC_PRIVATE\"";
        if (key.kind == KeyDecl::Ftok) {
            l += ",\"ftok\":";
            append_json_string(l, key.path);
        }
    }
    const bool ctl = op.kind == OpKind::Semctl || op.kind == OpKind::Shmctl || op.kind == OpKind::Msgctl;
    if (ctl) {
        l += fmt::format(",\"cmd\":\"{}\"", ctl_command_name(op.count));
        if (op.count == kIpcSet) {
            if (op.slot != kUnchanged) l += fmt::format(",\"uid\":{}", op.slot);
            if (op.first != kUnchanged) l += fmt::format(",\"gid\":{}", op.first);
            if (op.value >= 0) l += fmt::format(",\"mode\":\"0{:o}\"", op.value);
        }
    }
    if (op.kind == OpKind::Semctl) {
        if (op.count == kSetval) l += fmt::format(",\"arg\":{}", op.value);
        auto ints = [&](std::size_t i) {
            std::int32_t v = 0;
            if (o.payload.size() >= (i + 1) * sizeof v) std::memcpy(&v, o.payload.data() + i * sizeof v, sizeof v);
            return v;
        };
        if (op.count == kSetall || (op.count == kGetall && o.result == 0)) {
            l += ",\"values\":[";
            for (std::size_t m = 0; m < plan_.sems[op.object].members.size(); ++m)
                l += fmt::format("{}{}", m ? "," : "", op.count == kSetall ? plan_.sem_terms[op.first + m].delta : ints(m));
            l += ']';
        }
        if (op.count == kIpcStat && o.result == 0)
            l += fmt::format(",\"mode\":\"0{:o}\",\"uid\":{},\"gid\":{},\"nsems\":{}", ints(0), ints(1), ints(2), ints(3));
    }
    if (op.kind == OpKind::Msgctl && op.count == kIpcStat && o.result == 0)
        l += fmt::format(",\"qnum\":{},\"qbytes\":{}", o.extra, o.arg);
    if (op.kind == OpKind::Shmctl && op.count == kIpcStat && o.result == 0)
        l += fmt::format(",\"nattch\":{},\"segsz\":{}", o.extra, o.arg);
    if (op.kind == OpKind::Crash) l += fmt::format(",\"signal\":\"{}\"", signal_name(static_cast<int>(op.value)));
    if (op.kind == OpKind::PsemWait && op.value > 0) l += fmt::format(",\"timeout_ns\":{}", op.value);
    if (op.kind == OpKind::PsemWait || op.kind == OpKind::PsemPost)
        l += fmt::format(",\"posix\":true,\"nowait\":{}", (op.flags & kOpNoWait) ? "true" : "false");
    if (op.kind == OpKind::Semop) {
        l += ",\"sem\":[";
        for (std::uint32_t i = 0; i < op.count; ++i) {
            const SemTerm& t = plan_.sem_terms[op.first + i];
            l += fmt::format("{}{{\"member\":", i ? "," : "");
            append_json_string(l, plan_.sems[op.object].members[t.member]);
            l += fmt::format(",\"delta\":{}}}", t.delta);
        }
        l += fmt::format("],\"undo\":{},\"nowait\":{}", (op.flags & kOpUndo) ? "true" : "false", (op.flags & kOpNoWait) ? "true" : "false");
    }
    if (o.half == ev::ScriptOp::Half::Load) l += ",\"step\":\"load\"";
    if (o.half == ev::ScriptOp::Half::Store) l += ",\"step\":\"store\"";
    if (done && op.kind != OpKind::ShmLoad && op.kind != OpKind::ShmStore && op.kind != OpKind::ShmAdd && op.kind != OpKind::Sleep &&
        op.kind != OpKind::Print)
        l += fmt::format(",\"result\":{}", o.result);
    errno_fields(l, o.err);
    if (o.value && op.kind != OpKind::SigMask) l += fmt::format(",\"value\":{}", *o.value);
    if (done) l += fmt::format(",\"blocked\":{}", o.woke ? "true" : "false");
    const bool sysv = (op.kind == OpKind::MsgSend || op.kind == OpKind::MsgRecv) && plan_.queues[op.object].kind == QueueKind::SysV;
    if (op.kind == OpKind::MsgSend) l += fmt::format(",\"{}\":{}", sysv ? "type" : "prio", op.code_len ? o.arg : op.value);
    if (op.kind == OpKind::MsgRecv && sysv) l += fmt::format(",\"type\":{}", op.value);
    if (op.kind == OpKind::MsgRecv && done && o.result >= 0) l += fmt::format(",\"{}\":{}", sysv ? "got_type" : "prio", o.arg);
    if (op.kind == OpKind::PipeWrite || op.kind == OpKind::Print || op.kind == OpKind::MsgSend) {
        l += ",\"text\":";
        append_json_string(l, (op.flags & kOpTemplate) ? o.payload : std::string_view(plan_.texts[op.first]));
    }
    if ((op.kind == OpKind::PipeRead || op.kind == OpKind::MsgRecv) && done) {  // text payloads
        l += ",\"data\":";
        append_json_string(l, o.payload);
    }
    l += fmt::format(",\"iter\":{},\"op_index\":{}", o.iter, o.index - plan_.processes[e.proc.index].first_op);
    if (o.step != kNoStep) l += fmt::format(",\"step\":{}", o.step);
}

void JsonlWriter::expectation(const std::string& name, ExpectKind kind, const std::string& text, bool passed,
                              const std::string& detail) {
    line_ += fmt::format("{{\"kind\":\"expect\",\"seq\":{},\"name\":", ++seq_);
    append_json_string(line_, name);
    line_ += fmt::format(",\"type\":\"{}\",\"expr\":",
                         kind == ExpectKind::Final    ? "final"
                         : kind == ExpectKind::Always ? "always"
                         : kind == ExpectKind::Stdout ? "stdout"
                                                      : "outcome");
    append_json_string(line_, text);
    line_ += fmt::format(",\"passed\":{},\"detail\":", passed ? "true" : "false");
    append_json_string(line_, detail);
    line_ += '}';
    expect_lines_.push_back(line_);
    flush_line();
}

std::string JsonlWriter::end_line(const RunResult& run, const std::string& cut) {
    std::string l = fmt::format("{{\"kind\":\"run_end\",\"seq\":{},\"t\":{},\"outcome\":\"{}\",\"events\":{},\"diagnosis\":[", seq_ + 1,
                                run.t_end - run.t0, outcome_name(run.outcome), run.events);
    for (std::size_t i = 0; i < run.diagnosis.size(); ++i) {
        if (i) l += ',';
        append_json_string(l, run.diagnosis[i]);
    }
    l += ']';
    if (!cut.empty()) {
        l += ",\"cut_short\":";
        append_json_string(l, cut);
    }
    if (!run.contention_json.empty()) l += ",\"contention\":" + run.contention_json;
    l += ",\"verdicts\":{";
    for (std::size_t p = 0; p < run.procs.size() && p < plan_.processes.size(); ++p) {
        if (p) l += ',';
        append_json_string(l, plan_.processes[p].name);
        l += fmt::format(":{{\"verdict\":\"{}\",\"detail\":", verdict_name(run.procs[p].verdict));
        append_json_string(l, run.procs[p].verdict_detail);
        if (plan_.processes[p].is_exec() && run.procs[p].exited)
            l += fmt::format(",\"cpu_ns\":{},\"maxrss_kb\":{}", run.procs[p].cpu_ns, run.procs[p].maxrss_kb);
        l += '}';
    }
    return l + "}}\n";
}

Status JsonlWriter::finish(const RunResult& run) {
    if (!errno_) write_out();
    if (!errno_) {
        buf_ = end_line(run, run.trace_cut);
        buf_last_seq_ = seq_ + 1;
        if (write_out()) return ok_status();
    }
    const int error = errno_;
    const bool ended = write_last_line([&] {
        const std::string why = committed_ ? fmt::format("the trace could not be written ({}): it stops after event {}, the rest is missing",
                                                         std::strerror(error), committed_seq_)
                                           : fmt::format("the trace could not be written ({}): every event is missing", std::strerror(error));
        return end_line(run, run.trace_cut.empty() ? why : run.trace_cut + "; " + why);
    });
    return Error{fmt::format("cannot write the trace {}: {}; {}", path_, std::strerror(error),
                             ended ? "it ends early, with run_end marked cut_short" : "not even its run_end fits")};
}

}  // namespace simrun

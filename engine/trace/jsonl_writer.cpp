#include "trace/jsonl_writer.hpp"

#include "run/verdict.hpp"

#include "util/json.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <csignal>
#include <sys/ipc.h>
#include <cstring>

namespace simrun {

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return fmt::format("exited {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return fmt::format("killed by SIG{}{}", sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
                           WCOREDUMP(status) ? " (core dumped)" : "");
    return fmt::format("status {:#x}", status);
}

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
    std::FILE* f = std::fopen(path.c_str(), "we");
    if (!f) return sys_error(fmt::format("open({})", path));
    std::unique_ptr<JsonlWriter> w(new JsonlWriter(f, plan, run));
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
    w->flush_line();
    return w;
}

JsonlWriter::~JsonlWriter() {
    if (f_) std::fclose(f_);
}

void JsonlWriter::flush_line() {
    line_ += '\n';
    std::fwrite(line_.data(), 1, line_.size(), f_);
    line_.clear();
}

void JsonlWriter::head(const char* kind, std::uint64_t ts, std::uint16_t proc) {
    line_ += fmt::format("{{\"kind\":\"{}\",\"seq\":{},\"t\":{}", kind, ++seq_, ts >= t0_ ? ts - t0_ : 0);
    if (const std::string* name = children_.name(proc)) {
        line_ += ",\"proc\":";
        append_json_string(line_, *name);
    }
}

static void errno_fields(std::string& l, int err) {
    if (err == 0) return;
    l += fmt::format(",\"errno\":\"{}\",\"error\":", strerrorname_np(err) ? strerrorname_np(err) : "?");
    append_json_string(l, std::strerror(err));
}

void JsonlWriter::on_event(const Record& r, std::string_view payload) {
    std::string& l = line_;
    children_.on_event(r);
    switch (r.kind) {
        case EventKind::RunStart:
        case EventKind::RunEnd:
        case EventKind::Data:
            return;  // run_start and run_end lines are written from the plan and the result
        case EventKind::Spawn:
            head("spawn", r.ts, r.proc);
            l += fmt::format(",\"pid\":{},\"parent\":", r.e.pid);
            append_json_string(l, plan_.processes[r.proc].parent == kSupervisor ? std::string("supervisor")
                                                                                : plan_.processes[plan_.processes[r.proc].parent].name);
            l += fmt::format(",\"parent_pid\":{}", r.e.arg);
            errno_fields(l, r.e.err);
            break;
        case EventKind::Exec:
            head("exec", r.ts, r.proc);
            l += fmt::format(",\"pid\":{},\"argv\":[", r.e.pid);
            for (std::size_t i = 0; i < plan_.processes[r.proc].argv.size(); ++i) {
                if (i) l += ',';
                append_json_string(l, plan_.processes[r.proc].argv[i]);
            }
            l += ']';
            break;
        case EventKind::ExecFailed:
            head("exec_failed", r.ts, r.proc);
            l += fmt::format(",\"pid\":{}", r.e.pid);
            errno_fields(l, r.e.err);
            break;
        case EventKind::Exit:
        case EventKind::Reaped: {
            head(r.kind == EventKind::Exit ? "exit" : "reaped", r.ts, r.proc);
            int st = static_cast<int>(r.e.arg);
            l += fmt::format(",\"pid\":{}", r.e.pid);
            if (r.flags & kRecAdopted) l += ",\"adopted\":true";
            if (WIFEXITED(st)) l += fmt::format(",\"code\":{}", WEXITSTATUS(st));
            if (WIFSIGNALED(st))
                l += fmt::format(",\"signal\":\"SIG{}\",\"core\":{}", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
                                 WCOREDUMP(st) ? "true" : "false");
            break;
        }
        case EventKind::Fault:
            head("fault", r.ts, r.proc);
            l += fmt::format(",\"signal\":\"{}\"", signal_name(static_cast<int>(r.e.arg)));
            if (r.e.step != kNoStep) l += fmt::format(",\"step\":{}", r.e.step);
            break;
        case EventKind::Signal: {
            int sig = static_cast<int>(r.e.arg);
            head("signal", r.ts, r.proc);
            l += fmt::format(",\"signal\":\"{}\",\"from_pid\":{},\"code\":\"{}\"", signal_name(sig), r.e.pid,
                             si_code_name(sig, static_cast<int>(r.e.result)));
            if (r.e.result == SI_QUEUE) l += fmt::format(",\"value\":{}", r.e.value);
            break;
        }
        case EventKind::Zombie:
            head("zombie", r.ts, r.proc);
            l += fmt::format(",\"pid\":{}", r.e.pid);
            break;
        case EventKind::Orphan:
            head("orphan", r.ts, r.proc);
            l += fmt::format(",\"pid\":{},\"new_parent_pid\":{}", r.e.pid, r.e.arg);
            break;
        case EventKind::Undo:
            head("undo", r.ts, r.proc);
            l += ",\"obj\":";
            append_json_string(l, plan_.sem_label(static_cast<int>(r.e.arg)));
            l += fmt::format(",\"adj\":{},\"before\":{},\"after\":{}", r.e.value - r.e.result, r.e.result, r.e.value);
            break;
        case EventKind::Call:
            head("call", r.ts, r.proc);
            l += fmt::format(",\"pid\":{}", r.e.pid);
            append_call_json(l, r, payload, run_.sysv_names);
            l += fmt::format(",\"result\":{}", r.e.result);
            errno_fields(l, r.e.err);
            break;
        case EventKind::Output:
            head("output", r.ts, r.proc);
            if (r.flags & kRecStderr) l += ",\"stream\":\"stderr\"";
            l += ",\"data\":";
            append_json_string(l, payload);
            break;
        case EventKind::Block:
        case EventKind::Op: {
            const Op& op = plan_.ops[r.e.op];
            head(r.kind == EventKind::Block ? "block" : "op", r.ts, r.proc);
            l += fmt::format(",\"op\":\"{}\"", op_verb(plan_, op));
            std::string target = op_target(plan_, op);
            if (!target.empty()) {
                l += ",\"obj\":";
                append_json_string(l, target);
            }
            if (op.kind == OpKind::FifoOpen) l += fmt::format(",\"mode\":\"{}\"", op.value ? "write" : "read");
            if (op.kind == OpKind::Kill) {
                l += fmt::format(",\"signal\":\"{}\",\"target_pid\":{}", signal_name(static_cast<int>(op.slot)), r.e.pid);
                if (op.flags & kOpSigqueue) l += fmt::format(",\"value\":{}", op.value);
            }
            if (op.kind == OpKind::SigMask) {
                l += ",\"signals\":" + signal_list_json(static_cast<std::uint64_t>(op.value));
                if (r.flags & kRecValue) l += ",\"pending\":" + signal_list_json(static_cast<std::uint64_t>(r.e.value));
            }
            if (op.kind == OpKind::SigWait && r.kind == EventKind::Op) {
                l += fmt::format(",\"signal\":\"{}\"", signal_name(static_cast<int>(op.slot)));
                if (r.e.result > 0)
                    l += fmt::format(",\"from_pid\":{},\"code\":\"{}\",\"value\":{}", r.e.pid,
                                     si_code_name(static_cast<int>(op.slot), static_cast<int>(r.e.arg)), r.e.value);
            }
            if (op.kind == OpKind::Wait && r.kind == EventKind::Op && r.e.result > 0)
                l += ",\"status\":\"" + describe_wait_status(static_cast<int>(r.e.arg)) + "\"";
            if (op.kind == OpKind::IpcGet) {
                const KeyDecl& key = op.count == kSemget ? plan_.sems[op.object].key
                                     : op.count == kShmget ? plan_.shms[op.object].key
                                                           : plan_.queues[op.object].key;
                l += fmt::format(",\"flags\":\"{}{}0{:o}\"", (op.slot & IPC_CREAT) ? "IPC_CREAT|" : "", (op.slot & IPC_EXCL) ? "IPC_EXCL|" : "",
                                 op.slot & 0777);
                if (op.count != kMsgget) l += fmt::format(",\"size\":{}", op.value);
                if (key.kind == KeyDecl::Number) l += fmt::format(",\"key\":{}", key.number);
                if (key.kind == KeyDecl::Private) l += ",\"key\":\"IPC_PRIVATE\"";
                if (key.kind == KeyDecl::Ftok) {
                    l += ",\"ftok\":";
                    append_json_string(l, key.path);
                }
            }
            if (op.kind == OpKind::Semctl || op.kind == OpKind::Shmctl || op.kind == OpKind::Msgctl) {
                static const char* const names[] = {"", "SETVAL", "GETVAL", "GETNCNT", "GETZCNT", "IPC_RMID", "IPC_STAT", "SETALL", "GETALL", "IPC_SET"};
                l += fmt::format(",\"cmd\":\"{}\"", names[op.count]);
            }
            if (op.count == kIpcSet && (op.kind == OpKind::Semctl || op.kind == OpKind::Shmctl || op.kind == OpKind::Msgctl)) {
                if (op.slot != kUnchanged) l += fmt::format(",\"uid\":{}", op.slot);
                if (op.first != kUnchanged) l += fmt::format(",\"gid\":{}", op.first);
                if (op.value >= 0) l += fmt::format(",\"mode\":\"0{:o}\"", op.value);
            }
            if (op.kind == OpKind::Semctl) {
                if (op.count == kSetval) l += fmt::format(",\"arg\":{}", op.value);
                auto ints = [&](std::size_t i) {
                    std::int32_t v = 0;
                    if (payload.size() >= (i + 1) * sizeof v) std::memcpy(&v, payload.data() + i * sizeof v, sizeof v);
                    return v;
                };
                if (op.count == kSetall || (op.count == kGetall && r.e.result == 0)) {
                    l += ",\"values\":[";
                    for (std::size_t m = 0; m < plan_.sems[op.object].members.size(); ++m)
                        l += fmt::format("{}{}", m ? "," : "", op.count == kSetall ? plan_.sem_terms[op.first + m].delta : ints(m));
                    l += ']';
                }
                if (op.count == kIpcStat && r.e.result == 0)
                    l += fmt::format(",\"mode\":\"0{:o}\",\"uid\":{},\"gid\":{},\"nsems\":{}", ints(0), ints(1), ints(2), ints(3));
            }
            if (op.kind == OpKind::Msgctl) {
                if (op.count == kIpcStat && r.e.result == 0) l += fmt::format(",\"qnum\":{},\"qbytes\":{}", r.e.value, r.e.arg);
            }
            if (op.kind == OpKind::Shmctl) {
                if (op.count == kIpcStat && r.e.result == 0) l += fmt::format(",\"nattch\":{},\"segsz\":{}", r.e.value, r.e.arg);
            }
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
                l += fmt::format("],\"undo\":{},\"nowait\":{}", (op.flags & kOpUndo) ? "true" : "false",
                                 (op.flags & kOpNoWait) ? "true" : "false");
            }
            if (r.flags & kRecLoadStep) l += ",\"step\":\"load\"";
            if (r.flags & kRecStoreStep) l += ",\"step\":\"store\"";
            if (r.kind == EventKind::Op && op.kind != OpKind::ShmLoad && op.kind != OpKind::ShmStore &&
                op.kind != OpKind::ShmAdd && op.kind != OpKind::Sleep && op.kind != OpKind::Print)
                l += fmt::format(",\"result\":{}", r.e.result);
            errno_fields(l, r.e.err);
            if ((r.flags & kRecValue) && op.kind != OpKind::SigMask) l += fmt::format(",\"value\":{}", r.e.value);
            if (r.kind == EventKind::Op) l += fmt::format(",\"blocked\":{}", (r.flags & kRecBlocked) ? "true" : "false");
            bool sysv = (op.kind == OpKind::MsgSend || op.kind == OpKind::MsgRecv) && plan_.queues[op.object].kind == QueueKind::SysV;
            if (op.kind == OpKind::MsgSend) l += fmt::format(",\"{}\":{}", sysv ? "type" : "prio", op.value);
            if (op.kind == OpKind::MsgRecv && sysv) l += fmt::format(",\"type\":{}", op.value);
            if (op.kind == OpKind::MsgRecv && r.kind == EventKind::Op && r.e.result >= 0)
                l += fmt::format(",\"{}\":{}", sysv ? "got_type" : "prio", r.e.arg);
            if (op.kind == OpKind::PipeWrite || op.kind == OpKind::Print || op.kind == OpKind::MsgSend) {
                l += ",\"text\":";
                append_json_string(l, plan_.texts[op.first]);
            }
            if ((op.kind == OpKind::PipeRead || op.kind == OpKind::MsgRecv) && r.kind == EventKind::Op) {  // text payloads
                l += ",\"data\":";
                append_json_string(l, payload);
            }
            l += fmt::format(",\"iter\":{},\"op_index\":{}", r.e.iter, r.e.op - plan_.processes[r.proc].first_op);
            if (r.e.step != kNoStep) l += fmt::format(",\"step\":{}", r.e.step);
            break;
        }
    }
    l += '}';
    flush_line();
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
    flush_line();
}

Status JsonlWriter::finish(const RunResult& run) {
    line_ += fmt::format("{{\"kind\":\"run_end\",\"seq\":{},\"t\":{},\"outcome\":\"{}\",\"events\":{},\"diagnosis\":[", ++seq_,
                         run.t_end - run.t0, outcome_name(run.outcome), run.events);
    for (std::size_t i = 0; i < run.diagnosis.size(); ++i) {
        if (i) line_ += ',';
        append_json_string(line_, run.diagnosis[i]);
    }
    line_ += ']';
    if (!run.trace_cut.empty()) {
        line_ += ",\"cut_short\":";
        append_json_string(line_, run.trace_cut);
    }
    line_ += ",\"verdicts\":{";
    for (std::size_t p = 0; p < run.procs.size() && p < plan_.processes.size(); ++p) {
        if (p) line_ += ',';
        append_json_string(line_, plan_.processes[p].name);
        line_ += fmt::format(":{{\"verdict\":\"{}\",\"detail\":", verdict_name(run.procs[p].verdict));
        append_json_string(line_, run.procs[p].verdict_detail);
        if (plan_.processes[p].is_exec() && run.procs[p].exited)
            line_ += fmt::format(",\"cpu_ns\":{},\"maxrss_kb\":{}", run.procs[p].cpu_ns, run.procs[p].maxrss_kb);
        line_ += '}';
    }
    line_ += "}}";
    flush_line();
    if (std::fflush(f_) != 0 || std::ferror(f_)) return sys_error("write(trace.jsonl)");
    return ok_status();
}

}  // namespace simrun

#include "trace/decoder.hpp"

#include <csignal>
#include <cstring>

namespace simrun {

Decoder::Decoder(const Plan& plan, SysvNames names, std::vector<int> semids)
    : plan_(plan), names_(std::move(names)), children_(plan.process_names()), replay_(plan) {
    replay_.set_semids(std::move(semids));
}

// Whether a record can be what it says: its kind known, its process one
// that can make it, its op one of that process's. A saved run may come from
// anyone, and a traced program can write over its own ring: what fails
// here is counted and skipped, never indexed with.
bool Decoder::plausible(const Record& r) const {
    const std::size_t declared = plan_.processes.size();
    const bool run = r.proc == kRunProc, decl = r.proc < declared;
    switch (r.kind) {
        case EventKind::RunStart:
        case EventKind::RunEnd: return run;
        case EventKind::Data: return true;  // joined to its event by the merge; nothing to decode
        case EventKind::Spawn:
        case EventKind::Exit:
        case EventKind::Zombie:
        case EventKind::Orphan:
        case EventKind::Output:
        case EventKind::Fault: return decl;
        case EventKind::Exec:
        case EventKind::ExecFailed: return decl && plan_.processes[r.proc].is_exec();
        case EventKind::Block:
        case EventKind::Op: {
            if (!decl) return false;
            const PlanProcess& p = plan_.processes[r.proc];
            return r.e.op >= p.first_op && r.e.op - p.first_op < p.op_count && r.e.op < plan_.ops.size();
        }
        case EventKind::Reaped: return true;  // the supervisor's record of a stray it reaped (proc: the run's)
        case EventKind::Signal: return !run;
        case EventKind::Call: return !run && r.e.op < static_cast<std::uint32_t>(CallId::Count);
        case EventKind::Undo: return false;  // derived here at an exit, never recorded
    }
    return false;
}

void Decoder::on_record(const Record& recorded, std::string_view payload) {
    if (!plausible(recorded)) {
        ++damaged_;
        return;
    }
    Record r = recorded;
    replay_.annotate(r, undo_, payload, &early_undo_);
    for (const Record& u : early_undo_) deliver(u, {});
    early_undo_.clear();
    deliver(r, payload);
    for (const Record& u : undo_) deliver(u, {});
    undo_.clear();
}

void Decoder::deliver(const Record& r, std::string_view payload) {
    if (r.kind == EventKind::Data) return;  // the merge joins them to their event
    children_.on_event(r);
    psems_.on_event(r, payload);
    ++events_;
    const Event e = decode(r, payload);
    for (EventSink* s : sinks_) s->on_event(e);
}

Event Decoder::decode(const Record& r, std::string_view payload) {
    Event e{r.ts, {r.proc, children_.name(r.proc), r.proc == kRunProc ? -1 : children_.root(r.proc)}, ev::RunStart{}};
    switch (r.kind) {
        case EventKind::RunStart:
        case EventKind::Data: break;
        case EventKind::RunEnd: e.body = ev::RunEnd{}; break;
        case EventKind::Spawn: e.body = ev::Spawn{r.e.pid, static_cast<std::int32_t>(r.e.arg), r.e.err}; break;
        case EventKind::Exec: e.body = ev::Exec{r.e.pid}; break;
        case EventKind::ExecFailed: e.body = ev::ExecFailed{r.e.pid, r.e.err}; break;
        case EventKind::Exit:
        case EventKind::Reaped:
            e.body = ev::Exit{r.e.pid, WaitStatus(static_cast<int>(r.e.arg)), (r.flags & kRecAdopted) != 0, r.kind == EventKind::Reaped,
                              (r.flags & kRecEndKill) != 0};
            break;
        case EventKind::Fault: e.body = ev::Fault{static_cast<int>(r.e.arg), r.e.step}; break;
        case EventKind::Signal:
            e.body = ev::Signal{static_cast<int>(r.e.arg), r.e.pid, static_cast<int>(r.e.result),
                                r.e.result == SI_QUEUE ? std::optional<std::int64_t>(r.e.value) : std::nullopt};
            break;
        case EventKind::Zombie: e.body = ev::Zombie{r.e.pid}; break;
        case EventKind::Orphan: e.body = ev::Orphan{r.e.pid, static_cast<std::int32_t>(r.e.arg)}; break;
        case EventKind::Undo:
            e.body = ev::Undo{static_cast<int>(r.e.arg), static_cast<int>(r.e.result), static_cast<int>(r.e.value), r.e.err,
                              r.e.pid,  static_cast<int>(r.e.op),       r.e.iter != 0};
            break;
        case EventKind::Output: e.body = ev::Output{(r.flags & kRecStderr) != 0, payload}; break;
        case EventKind::Block:
        case EventKind::Op: {
            using Half = ev::ScriptOp::Half;
            // An op on buf.items[{k}] that ran on a cell: the variant for that cell.
            const Op* op = &plan_.ops[r.e.op];
            if (op->index_len && r.e.err == 0 && r.e.arg >= 0 && r.e.arg < static_cast<std::int64_t>(op->count))
                op = &plan_.cell_variants[op->first + static_cast<std::size_t>(r.e.arg)];
            e.body = ev::ScriptOp{r.e.op,
                                  op,
                                  r.kind == EventKind::Block,
                                  (r.flags & kRecBlocked) != 0,
                                  (r.flags & kRecLoadStep) ? Half::Load : (r.flags & kRecStoreStep) ? Half::Store : Half::Whole,
                                  r.e.iter,
                                  r.e.pid,
                                  r.e.result,
                                  r.e.err,
                                  (r.flags & kRecValue) ? std::optional<std::int64_t>(r.e.value) : std::nullopt,
                                  r.e.arg,
                                  r.e.value,
                                  r.e.step,
                                  payload};
            break;
        }
        case EventKind::Call:
            e.body = ev::Call{static_cast<CallId>(r.e.op), r.e.pid, r.e.result, r.e.err, call_args(r, payload),
                              (r.flags & kRecCallStart) != 0, (r.flags & kRecBlocked) != 0};
            break;
    }
    return e;
}

std::string_view sent_text(const Plan& plan, const ev::ScriptOp& o) {
    if (o.op->flags & kOpTemplate) return o.payload;
    return plan.texts[o.op->first];
}

call::Args Decoder::call_args(const Record& r, std::string_view payload) {
    const auto sig = [](std::int64_t v) { return static_cast<int>(v); };
    const auto bits = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    switch (static_cast<CallId>(r.e.op)) {
        case CallId::Semget: return call::IpcGet{r.e.arg, r.e.value};
        case CallId::Shmget: return call::IpcGet{r.e.arg, r.e.value};
        case CallId::Msgget: return call::IpcGet{r.e.arg, std::nullopt};
        case CallId::Semop: {
            read_sembufs(r, payload, sops_);
            return call::Semop{r.e.arg, names_.set(r.e.arg), sops_,
                               r.e.iter ? std::optional<std::int64_t>(static_cast<std::int64_t>(r.e.iter) - 1) : std::nullopt};
        }
        case CallId::Semctl: {
            const auto cmd = static_cast<std::int64_t>(r.e.step);
            return call::Semctl{r.e.arg, names_.set(r.e.arg), r.e.value, cmd,
                                cmd == SETVAL ? std::optional<std::int64_t>(static_cast<std::int32_t>(r.e.iter)) : std::nullopt,
                                cmd == SETALL || cmd == GETALL ? payload : std::string_view()};
        }
        case CallId::Shmctl:
        case CallId::Msgctl: return call::IdCtl{r.e.arg, r.e.value};
        case CallId::Shmat: return call::Shmat{r.e.arg};
        case CallId::Msgsnd:
        case CallId::Msgrcv:
            return call::SysvMsg{r.e.arg, names_.queue(r.e.arg), r.e.value,
                                 static_cast<CallId>(r.e.op) == CallId::Msgrcv && r.e.result >= 0 && !(r.flags & kRecCallStart)
                                     ? std::optional<std::int64_t>(static_cast<std::int64_t>(r.e.step))
                                     : std::nullopt,
                                 payload};
        case CallId::MqSend:
        case CallId::MqReceive: return call::MqMsg{r.e.arg, r.e.value, payload};
        case CallId::MqOpen:
        case CallId::MqUnlink:
        case CallId::SemOpen:
        case CallId::SemUnlink:
        case CallId::ShmOpen:
        case CallId::ShmUnlink:
        case CallId::Mkfifo:
        case CallId::Exec: return call::Named{payload};
        case CallId::SemWait:
        case CallId::SemTrywait:
        case CallId::SemTimedwait:
        case CallId::SemPost: return call::Psem{r.e.arg, r.e.value, psems_.name(r.e.arg)};
        case CallId::SemInit: return call::PsemInit{r.e.arg, r.e.value, static_cast<std::int64_t>(r.e.step), psems_.name(r.e.arg)};
        case CallId::Mmap: return call::Mmap{r.e.arg, r.e.value};
        case CallId::Pipe: return call::Pipe{r.e.arg, r.e.value};
        case CallId::Read:
        case CallId::Write: return call::Io{r.e.arg, r.e.value, payload};
        case CallId::Kill: return call::SendSignal{r.e.arg, sig(r.e.value), std::nullopt};
        case CallId::Sigqueue: return call::SendSignal{r.e.arg, sig(r.e.value), static_cast<std::int64_t>(r.e.step)};
        case CallId::Raise: return call::Raise{sig(r.e.value)};
        case CallId::Sigaction: return call::Sigaction{sig(r.e.value), static_cast<Disposition>(r.e.step)};
        case CallId::Handler: return call::Handler{sig(r.e.value), r.e.arg};
        case CallId::Sigprocmask: return call::Sigprocmask{r.e.arg, bits(r.e.value)};
        case CallId::Sigsuspend: return call::SigSet{bits(r.e.value)};
        case CallId::Sigwait: return call::Sigwait{bits(r.e.value), r.e.result > 0 ? sig(r.e.result) : 0};
        case CallId::Sleep: return call::Sleep{r.e.arg};
        case CallId::Alarm: return call::Alarm{r.e.arg};
        case CallId::Longjmp:
            return call::Longjmp{r.e.arg, r.e.value, r.e.step > 0 ? std::optional<CallId>(static_cast<CallId>(r.e.step - 1)) : std::nullopt};
        case CallId::Wait:
            return call::Wait{r.e.arg, r.e.result > 0 ? std::optional<WaitStatus>(WaitStatus(static_cast<int>(r.e.value))) : std::nullopt,
                              static_cast<std::int64_t>(r.e.step) == kWaitPclose};
        case CallId::Exit: return call::Exit{r.e.value, static_cast<ExitHow>(r.e.step)};
        case CallId::Fork: {
            const auto how = static_cast<ForkHow>(r.e.value);
            return call::Fork{how, how == kForkSpawn || how == kForkSystem || how == kForkPopen ? payload : std::string_view{},
                              how == kForkSystem && r.e.result >= 0 ? std::optional<WaitStatus>(WaitStatus(static_cast<int>(r.e.result)))
                                                                    : std::nullopt};
        }
        case CallId::Shmdt: return call::Shmdt{r.e.arg};
        case CallId::Attach:
        case CallId::Pause:
        case CallId::Count: break;
    }
    return call::None{};
}

}  // namespace simrun

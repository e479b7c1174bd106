#include "plan/planner_impl.hpp"

#include <fmt/format.h>

// Scripts: every name in an op resolved (with did-you-mean), each op compiled into an Op.

namespace simrun::detail {

// ---- scripts -------------------------------------------------------
std::vector<std::string> Planner::all_object_names() const {
    std::vector<std::string> names;
    for (const auto& [n, k] : object_kind_) names.push_back(n);
    return names;
}

void Planner::unknown_object(const RefDecl& ref, SourcePos at, const char* want) {
    auto it = object_kind_.find(ref.object);
    if (it != object_kind_.end())
        fail(at, fmt::format("'{}' is a {}, not a {}", ref.object, it->second, want));
    fail(at, fmt::format("unknown {} '{}'{}", want, ref.object, did_you_mean_suffix(ref.object, all_object_names())));
}

SemTerm Planner::resolve_sem(const RefDecl& ref, SourcePos op_pos, int& set) {
    SourcePos at = pos_in_string(op_pos, ref.offset);
    auto it = sem_index_.find(ref.object);
    if (it == sem_index_.end()) unknown_object(ref, at, "semaphore set");
    if (set >= 0 && set != it->second)
        fail(at, fmt::format("one semop works on one set; '{}' is not in set '{}'", ref.object, p_.sems[set].name));
    set = it->second;
    const auto& s = p_.sems[set];
    if (ref.index) fail(at, "semaphores take no [index]; name the member");
    for (std::size_t m = 0; m < s.members.size(); ++m)
        if (s.members[m] == ref.member) return {static_cast<std::uint16_t>(m), 0};
    std::vector<std::string> full;
    for (const auto& m : s.members) full.push_back(s.name + "." + m);
    fail(at, fmt::format("unknown semaphore '{}.{}'{}", ref.object, ref.member,
                         did_you_mean_suffix(ref.object + "." + ref.member, full)));
}

// Returns (segment, slot within segment).
std::pair<int, std::uint32_t> Planner::resolve_cell(const RefDecl& ref, SourcePos at) {
    auto it = shm_index_.find(ref.object);
    if (it == shm_index_.end()) unknown_object(ref, at, "shared memory segment");
    const auto& s = p_.shms[it->second];
    for (const auto& c : s.cells) {
        if (c.name != ref.member) continue;
        if (c.is_array && !ref.index)
            fail(at, fmt::format("'{}.{}' is an array of {}; give an index, e.g. {}.{}[0]", s.name, c.name, c.length, s.name, c.name));
        if (!c.is_array && ref.index) fail(at, fmt::format("'{}.{}' is not an array", s.name, c.name));
        std::int64_t idx = ref.index.value_or(0);
        if (idx >= c.length)
            fail(at, fmt::format("index {} is out of range for '{}.{}' (length {})", idx, s.name, c.name, c.length));
        return {it->second, c.offset + static_cast<std::uint32_t>(idx)};
    }
    std::vector<std::string> full;
    for (const auto& c : s.cells) full.push_back(s.name + "." + c.name);
    fail(at, fmt::format("unknown cell '{}.{}'{}", ref.object, ref.member, did_you_mean_suffix(ref.object + "." + ref.member, full)));
}

int Planner::resolve_pipe(const RefDecl& ref, SourcePos at, int decl, bool need_write, bool need_read) {
    auto it = pipe_index_.find(ref.object);
    if (it == pipe_index_.end()) unknown_object(ref, at, "pipe or FIFO");
    if (!pipe_decl_[it->second]) return it->second;  // a FIFO: whoever opened it holds its ends
    const auto& pd = *pipe_decl_[it->second];
    for (int r = 0; r < d_.processes[decl].count; ++r) {
        int me = first_replica_[decl] + r;
        bool w = p_.uses(me, it->second, true), rd = p_.uses(me, it->second, false);
        const std::string& who = p_.processes[me].name;
        if (need_write && !w)
            fail(at, fmt::format("process '{}' does not hold the write end of pipe '{}' (its writer is '{}')", who, pd.name, pd.writer.name));
        if (need_read && !rd)
            fail(at, fmt::format("process '{}' does not hold the read end of pipe '{}' (its reader is '{}')", who, pd.name, pd.reader.name));
        if (!need_write && !need_read && !w && !rd)
            fail(at, fmt::format("process '{}' holds no end of pipe '{}'", who, pd.name));
    }
    return it->second;
}

// IPC_SET: see kUnchanged.
static void encode_ipc_set(const OpDecl& od, Op& op) {
    op.value = od.set_mode.value_or(-1);
    op.slot = od.set_uid ? static_cast<std::uint32_t>(*od.set_uid) : kUnchanged;
    op.first = od.set_gid ? static_cast<std::uint32_t>(*od.set_gid) : kUnchanged;
}

Op Planner::compile(const OpDecl& od, int decl) {
    Op op;
    op.kind = od.kind;
    SourcePos at = pos_in_string(od.pos, od.target.offset);
    if (od.kind == OpKind::Semop && od.sems.size() == 1 && od.sems[0].ref.member.empty()) return compile_psem(od);
    switch (od.kind) {
        case OpKind::Semop: {
            int set = -1;
            op.first = static_cast<std::uint32_t>(p_.sem_terms.size());
            for (const auto& t : od.sems) {
                SemTerm term = resolve_sem(t.ref, od.pos, set);
                term.delta = static_cast<std::int16_t>(t.delta);
                p_.sem_terms.push_back(term);
            }
            if (od.sems.size() > 32) fail(od.pos, "a semop takes at most 32 members");
            op.count = static_cast<std::uint32_t>(od.sems.size());
            op.object = static_cast<std::uint16_t>(set);
            if (od.undo.value_or(p_.sems[set].undo)) op.flags |= kOpUndo;
            if (od.nowait) op.flags |= kOpNoWait;
            break;
        }
        case OpKind::ShmLoad:
        case OpKind::ShmStore:
        case OpKind::ShmAdd: {
            auto [seg, slot] = resolve_cell(od.target, at);
            op.object = static_cast<std::uint16_t>(seg), op.slot = slot, op.value = od.value;
            if (od.atomic) op.flags |= kOpAtomic;
            break;
        }
        case OpKind::PipeWrite:
            op.object = static_cast<std::uint16_t>(resolve_pipe(od.target, at, decl, true, false));
            op.first = text(od.data);
            break;
        case OpKind::PipeRead:
            op.object = static_cast<std::uint16_t>(resolve_pipe(od.target, at, decl, false, true));
            op.value = od.value;
            if (od.read_all) op.flags |= kOpReadAll;
            break;
        case OpKind::PipeClose:
            op.object = static_cast<std::uint16_t>(resolve_pipe(od.target, at, decl, false, false));
            break;
        case OpKind::MsgSend:
        case OpKind::MsgRecv: {
            auto it = queue_index_.find(od.target.object);
            if (it == queue_index_.end()) unknown_object(od.target, at, "message queue");
            const PlanQueue& q = p_.queues[it->second];
            if (od.undo) fail(pos_in_string(od.pos, od.text.find(*od.undo ? "undo" : "noundo")), "undo applies to semaphores only");
            if (od.kind == OpKind::MsgRecv && od.msg_type && q.kind == QueueKind::Posix)
                fail(at, fmt::format("'{}' is a POSIX queue: it delivers the highest priority first; recv takes no type", q.name));
            op.object = static_cast<std::uint16_t>(it->second);
            // System V: mtype 1 by default (0 is EINVAL, left to the kernel to say); POSIX: priority 0.
            op.value = od.msg_type.value_or(od.kind == OpKind::MsgSend && q.kind == QueueKind::SysV ? 1 : 0);
            if (od.nowait) op.flags |= kOpNoWait;
            if (od.kind == OpKind::MsgSend) op.first = text(od.data);
            break;
        }
        case OpKind::PsemWait:
        case OpKind::PsemPost: break;  // made by compile_psem from a P or V
        case OpKind::Kill: {
            op.slot = static_cast<std::uint32_t>(od.signals[0]);
            if (od.to_self) {
                op.object = kSelf;
            } else {
                auto procs = find_processes(od.target.object, at, "to signal");
                if (procs.size() != 1)
                    fail(at, fmt::format("'{}' has {} replicas; name one, e.g. {}#0", od.target.object, procs.size(), od.target.object));
                op.object = static_cast<std::uint16_t>(procs[0]);
            }
            if (od.sigval) op.flags |= kOpSigqueue, op.value = *od.sigval;
            break;
        }
        case OpKind::SigMask:
            for (int sig : od.signals) {
                if (sig == SIGKILL || sig == SIGSTOP)
                    fail(pos_in_string(od.pos, od.text.find(signal_name(sig).substr(3)) - 3),
                         fmt::format("{} cannot be blocked", signal_name(sig)));
                op.value |= static_cast<std::int64_t>(1ull << (sig - 1));
            }
            op.slot = static_cast<std::uint32_t>(od.value);  // 1: unblock
            break;
        case OpKind::SigWait:
            if (od.signals[0] == SIGKILL || od.signals[0] == SIGSTOP)
                fail(at, fmt::format("{} cannot be waited for: it cannot be blocked", signal_name(od.signals[0])));
            op.slot = static_cast<std::uint32_t>(od.signals[0]);
            break;
        case OpKind::Pause: break;
        case OpKind::IpcGet: {
            op.count = od.command == "semget" ? kSemget : od.command == "shmget" ? kShmget : kMsgget;
            op.slot = static_cast<std::uint32_t>(od.ipc_flags);
            if (op.count == kSemget) {
                auto it = sem_index_.find(od.target.object);
                if (it == sem_index_.end()) unknown_object(od.target, at, "semaphore set");
                op.object = static_cast<std::uint16_t>(it->second);
                op.value = od.size.value_or(static_cast<std::int64_t>(p_.sems[it->second].members.size()));
            } else if (op.count == kShmget) {
                auto it = shm_index_.find(od.target.object);
                if (it == shm_index_.end() || p_.shms[it->second].posix) unknown_object(od.target, at, "System V shared memory segment");
                op.object = static_cast<std::uint16_t>(it->second);
                op.value = od.size.value_or(static_cast<std::int64_t>(p_.shms[it->second].slots * 8));
            } else {
                auto it = queue_index_.find(od.target.object);
                if (it == queue_index_.end() || p_.queues[it->second].kind != QueueKind::SysV)
                    unknown_object(od.target, at, "System V message queue");
                op.object = static_cast<std::uint16_t>(it->second);
            }
            break;
        }
        case OpKind::Shmctl: {
            auto it = shm_index_.find(od.target.object);
            if (it == shm_index_.end() || p_.shms[it->second].posix) unknown_object(od.target, at, "System V shared memory segment");
            op.object = static_cast<std::uint16_t>(it->second);
            op.count = od.command == "IPC_STAT" ? kIpcStat : od.command == "IPC_SET" ? kIpcSet : kIpcRmid;
            encode_ipc_set(od, op);
            break;
        }
        case OpKind::Msgctl: {
            auto it = queue_index_.find(od.target.object);
            if (it == queue_index_.end() || p_.queues[it->second].kind != QueueKind::SysV)
                unknown_object(od.target, at, "System V message queue");
            op.object = static_cast<std::uint16_t>(it->second);
            op.count = od.command == "IPC_STAT" ? kIpcStat : od.command == "IPC_SET" ? kIpcSet : kIpcRmid;
            encode_ipc_set(od, op);
            break;
        }
        case OpKind::Semctl: {
            for (std::uint32_t c = kSetval; c <= kIpcSet; ++c)
                if (od.command == ctl_command_name(c)) op.count = c;
            int set = -1;
            bool whole_set = op.count == kIpcRmid || op.count == kSetall || op.count == kGetall || op.count == kIpcStat || op.count == kIpcSet;
            if (whole_set) {
                if (!od.target.member.empty()) fail(at, fmt::format("{} works on the whole set: name the set, not a member", od.command));
                auto it = sem_index_.find(od.target.object);
                if (it == sem_index_.end()) unknown_object(od.target, at, "semaphore set");
                set = it->second;
            } else {
                if (od.target.member.empty()) fail(at, fmt::format("{} works on one semaphore: name a member", od.command));
                op.slot = resolve_sem(od.target, od.pos, set).member;
            }
            op.object = static_cast<std::uint16_t>(set);
            op.value = od.value;
            if (op.count == kIpcSet) encode_ipc_set(od, op);
            if (op.count == kSetall) {
                if (od.sems.size() != p_.sems[set].members.size())
                    fail(at, fmt::format("SETALL on '{}' needs {} values, one per member; got {}", p_.sems[set].name,
                                         p_.sems[set].members.size(), od.sems.size()));
                op.first = static_cast<std::uint32_t>(p_.sem_terms.size());
                for (std::size_t m = 0; m < od.sems.size(); ++m)
                    p_.sem_terms.push_back({static_cast<std::uint16_t>(m), static_cast<std::int16_t>(od.sems[m].delta)});
            }
            break;
        }
        case OpKind::Crash: op.value = od.value; break;
        case OpKind::Fork:
        case OpKind::Wait: {
            op.object = kSelf;
            if (od.target.object.empty()) break;  // wait: any child
            auto procs = find_processes(od.target.object, at, od.kind == OpKind::Fork ? "to fork" : "to wait for");
            int me = first_replica_[decl];
            for (int c : procs)
                if (p_.processes[c].parent != me)
                    fail(at, fmt::format("'{}' is not a child of '{}' (declare parent = \"{}\")", p_.processes[c].name,
                                         d_.processes[decl].name, d_.processes[decl].name));
            if (od.kind == OpKind::Wait && procs.size() != 1)
                fail(at, fmt::format("'{}' has {} replicas; wait for one, e.g. {}#0, or for any child with 'wait'", od.target.object,
                                     procs.size(), od.target.object));
            if (od.kind == OpKind::Fork) {
                if (d_.processes[decl].repeat != 1) fail(at, "a process that forks in its run list cannot repeat it (repeat = 1)");
                for (int c : procs) {
                    auto& by_op = p_.processes[me].forked_by_op;
                    if (std::find(by_op.begin(), by_op.end(), c) != by_op.end())
                        fail(at, fmt::format("'{}' is already forked by an earlier op", p_.processes[c].name));
                    by_op.push_back(c);
                }
                op.count = static_cast<std::uint32_t>(procs.size());
            }
            op.object = static_cast<std::uint16_t>(procs[0]);
            break;
        }
        case OpKind::FifoOpen: {
            auto it = pipe_index_.find(od.target.object);
            if (it == pipe_index_.end()) unknown_object(od.target, at, "FIFO");
            if (pipe_decl_[it->second])
                fail(at, fmt::format("'{}' is an anonymous pipe: its ends are open from the start (declare [ipc.fifo.{}] for a FIFO)",
                                     od.target.object, od.target.object));
            if (od.undo) fail(at, "undo applies to semaphores only");
            op.object = static_cast<std::uint16_t>(it->second);
            op.value = od.value;
            if (od.nowait) op.flags |= kOpNoWait;
            break;
        }
        case OpKind::Sleep: op.value = od.sleep_ns; break;
        case OpKind::Print: op.first = text(od.data); break;
        case OpKind::Exit: op.value = od.value; break;
        case OpKind::Test:
        case OpKind::Jump:
        case OpKind::Loop:
        case OpKind::SetValue:
        case OpKind::Choose: break;  // script_compiler.cpp
    }
    return op;
}

// "P name" / "V name": a POSIX semaphore.
Op Planner::compile_psem(const OpDecl& od) {
    const RefDecl& ref = od.sems[0].ref;
    SourcePos at = pos_in_string(od.pos, ref.offset);
    auto it = psem_index_.find(ref.object);
    if (it == psem_index_.end()) {
        if (sem_index_.count(ref.object))
            fail(at, fmt::format("'{}' is a System V semaphore set: name a member, e.g. {}.{}", ref.object, ref.object,
                                 p_.sems[sem_index_[ref.object]].members[0]));
        unknown_object(ref, at, "POSIX semaphore");
    }
    if (od.undo) fail(at, "SEM_UNDO exists for System V semaphores only");
    Op op;
    op.kind = od.sems[0].delta < 0 ? OpKind::PsemWait : OpKind::PsemPost;
    op.object = static_cast<std::uint16_t>(it->second);
    if (od.nowait) op.flags |= kOpNoWait;
    if (od.timeout_ns) {
        if (op.kind != OpKind::PsemWait) fail(at, "only P waits: a timeout goes with P");
        op.value = *od.timeout_ns;
    }
    return op;
}

std::uint32_t Planner::text(const std::string& s) {
    p_.texts.push_back(s);
    return static_cast<std::uint32_t>(p_.texts.size() - 1);
}

}  // namespace simrun::detail

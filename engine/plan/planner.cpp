#include "plan/planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

namespace simrun {
namespace {

struct Failure {
    Diagnostic d;
};
[[noreturn]] void fail(SourcePos pos, std::string message) { throw Failure{{pos, std::move(message)}}; }

class Planner {
public:
    Planner(const ScenarioDecl& d, const PlanOptions& o) : d_(d), o_(o) {}

    Plan run() {
        p_.path = d_.path, p_.name = d_.name, p_.description = d_.description, p_.timeout_ns = d_.timeout_ns;
        p_.mode = o_.mode.value_or(d_.mode);
        p_.seed = d_.seed;
        objects();
        processes();
        fork_tree();
        pipes();
        scripts();
        expectations();
        faults();
        return std::move(p_);
    }

private:
    // ---- objects -------------------------------------------------------
    void claim_name(const std::string& name, SourcePos pos, const char* kind) {
        auto [it, fresh] = object_kind_.emplace(name, kind);
        if (!fresh) fail(pos, fmt::format("duplicate object name '{}' (already a {})", name, it->second));
    }

    void objects() {
        for (const auto& s : d_.sems) {
            claim_name(s.name, s.pos, "semaphore set");
            PlanSemSet ps{s.name, s.key, {}, {}, s.undo, p_.sem_values};
            std::set<std::string> seen;
            for (const auto& m : s.members) {
                ps.members.push_back(m.name);
                ps.initial.push_back(static_cast<int>(m.initial));
            }
            p_.sem_values += static_cast<int>(s.members.size());
            sem_index_[s.name] = static_cast<int>(p_.sems.size());
            p_.sems.push_back(std::move(ps));
        }
        for (const auto& s : d_.shms) {
            claim_name(s.name, s.pos, "shared memory segment");
            PlanShm ps{s.name, s.key, s.posix, {}, 0, static_cast<std::uint32_t>(p_.cell_slots), {}};
            for (const auto& c : s.cells) {
                ps.cells.push_back({c.name, ps.slots, static_cast<std::uint32_t>(c.initial.size()), c.is_array});
                ps.slots += static_cast<std::uint32_t>(c.initial.size());
                ps.initial.insert(ps.initial.end(), c.initial.begin(), c.initial.end());
            }
            p_.cell_slots += static_cast<int>(ps.slots);
            shm_index_[s.name] = static_cast<int>(p_.shms.size());
            p_.shms.push_back(std::move(ps));
        }
        for (const auto& pd : d_.pipes) claim_name(pd.name, pd.pos, "pipe");
        for (const auto& f : d_.fifos) claim_name(f.name, f.pos, "FIFO");
        for (const auto& ps : d_.psems) {
            claim_name(ps.name, ps.pos, "POSIX semaphore");
            psem_index_[ps.name] = static_cast<int>(p_.psems.size());
            p_.psems.push_back({ps.name, static_cast<int>(ps.value), ps.named});
        }
        for (const auto& q : d_.queues) {
            claim_name(q.name, q.pos, q.kind == QueueKind::SysV ? "System V message queue" : "POSIX message queue");
            queue_index_[q.name] = static_cast<int>(p_.queues.size());
            p_.queues.push_back({q.name, q.key, q.kind, static_cast<int>(q.max_messages), static_cast<int>(q.message_size)});
        }
    }

    // ---- processes -----------------------------------------------------
    void processes() {
        std::map<std::string, SourcePos> seen;
        for (std::size_t i = 0; i < d_.processes.size(); ++i) {
            const auto& pd = d_.processes[i];
            if (auto [it, fresh] = seen.emplace(pd.name, pd.pos); !fresh)
                fail(pd.pos, fmt::format("duplicate process name '{}' (first declared on line {})", pd.name, it->second.line));
            base_names_.push_back(pd.name);
            first_replica_.push_back(static_cast<int>(p_.processes.size()));
            for (int r = 0; r < pd.count; ++r) {
                PlanProcess pp;
                pp.name = pd.count == 1 ? pd.name : fmt::format("{}#{}", pd.name, r);
                pp.decl = static_cast<int>(i), pp.replica = r, pp.repeat = pd.repeat;
                pp.argv = pd.exec, pp.stdin_text = pd.stdin_text, pp.may_end_blocked = pd.may_end_blocked;
                pp.signals = pd.signals;
                pp.env = pd.env;
                if (pd.stdin_file) {
                    const std::string& f = pd.stdin_file->name;
                    std::string dir = d_.path.find('/') == std::string::npos ? "." : d_.path.substr(0, d_.path.rfind('/'));
                    pp.stdin_file = f.empty() || f[0] == '/' ? f : dir + "/" + f;
                    pp.stdin_file_pos = pd.stdin_file->pos;
                }
                for (const auto& sd : pd.signals)
                    if (sd.disposition == Disposition::Count || sd.disposition == Disposition::Record ||
                        sd.disposition == Disposition::Terminate)
                        pp.handled |= 1ull << (sd.signal - 1);
                if (!pd.signals.empty() && !pd.exec.empty()) fail(pd.signals[0].pos, "signal dispositions apply to scripted processes");
                p_.processes.push_back(std::move(pp));
            }
        }
    }

    // "producer" = every replica; "producer#1" = one.
    std::vector<int> find_processes(const std::string& name, SourcePos pos, const char* role) {
        auto hash = name.find('#');
        std::string base = name.substr(0, hash);
        int decl = -1;
        for (std::size_t i = 0; i < base_names_.size(); ++i)
            if (base_names_[i] == base) decl = static_cast<int>(i);
        if (decl < 0) fail(pos, fmt::format("unknown process '{}' {}{}", base, role, did_you_mean_suffix(base, base_names_)));
        int first = first_replica_[decl];
        int count = static_cast<int>(d_.processes[decl].count);
        if (hash == std::string::npos) {
            std::vector<int> all(count);
            for (int r = 0; r < count; ++r) all[r] = first + r;
            return all;
        }
        std::string digits = name.substr(hash + 1);
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 4 ||
            std::stoi(digits) >= count)
            fail(pos, fmt::format("process '{}' has replicas #0 to #{}; '{}' is not one of them", base, count - 1, name));
        return {first + std::stoi(digits)};
    }

    void fork_tree() {
        for (std::size_t i = 0; i < d_.processes.size(); ++i) {
            const auto& pd = d_.processes[i];
            if (!pd.parent) continue;
            auto parents = find_processes(pd.parent->name, pd.parent->pos, "as parent");
            if (parents.size() != 1)
                fail(pd.parent->pos, fmt::format("parent '{}' has {} replicas; name one, e.g. '{}#0'", pd.parent->name,
                                                 parents.size(), pd.parent->name));
            int parent = parents[0];
            if (p_.processes[parent].is_exec())
                fail(pd.parent->pos, fmt::format("parent '{}' is an exec'd program; only scripted processes fork declared children",
                                                 pd.parent->name));
            for (int r = 0; r < pd.count; ++r) {
                int child = first_replica_[i] + r;
                p_.processes[child].parent = parent;
                p_.processes[parent].children.push_back(child);
            }
        }
        // A cycle means some process never reaches the supervisor by parents.
        for (std::size_t i = 0; i < p_.processes.size(); ++i) {
            int at = static_cast<int>(i);
            for (std::size_t steps = 0; at != kSupervisor; ++steps) {
                if (steps > p_.processes.size()) {
                    const auto& pd = d_.processes[p_.processes[i].decl];
                    fail(pd.parent->pos, fmt::format("the fork tree has a cycle through process '{}'", pd.name));
                }
                at = p_.processes[at].parent;
            }
        }
    }

    // ---- pipes ---------------------------------------------------------
    void pipes() {
        for (const auto& pd : d_.pipes) {
            PlanPipe pp{pd.name, PipeRole::Declared, find_processes(pd.writer.name, pd.writer.pos, "as writer"),
                        find_processes(pd.reader.name, pd.reader.pos, "as reader")};
            for (int w : pp.writers)
                if (p_.processes[w].is_exec())
                    fail(pd.writer.pos, "pipe ends of exec'd programs are not supported yet; use a scripted process");
            for (int r : pp.readers)
                if (p_.processes[r].is_exec())
                    fail(pd.reader.pos, "pipe ends of exec'd programs are not supported yet; use a scripted process");
            pipe_index_[pd.name] = static_cast<int>(p_.pipes.size());
            pipe_decl_.push_back(&pd);
            p_.pipes.push_back(std::move(pp));
        }
        for (const auto& f : d_.fifos) {
            pipe_index_[f.name] = static_cast<int>(p_.pipes.size());
            pipe_decl_.push_back(nullptr);
            p_.pipes.push_back({f.name, PipeRole::Fifo, {}, {}});
        }
        for (std::size_t i = 0; i < p_.processes.size(); ++i) {
            auto& pp = p_.processes[i];
            if (!pp.is_exec()) continue;
            int me = static_cast<int>(i);
            if (pp.stdin_text) {
                pp.stdin_pipe = static_cast<int>(p_.pipes.size());
                p_.pipes.push_back({pp.name + ".stdin", PipeRole::Stdin, {kSupervisor}, {me}});
            }
            pp.stdout_pipe = static_cast<int>(p_.pipes.size());
            p_.pipes.push_back({pp.name + ".stdout", PipeRole::Stdout, {me}, {kSupervisor}});
        }
    }

    // ---- scripts -------------------------------------------------------
    std::vector<std::string> all_object_names() const {
        std::vector<std::string> names;
        for (const auto& [n, k] : object_kind_) names.push_back(n);
        return names;
    }

    [[noreturn]] void unknown_object(const RefDecl& ref, SourcePos at, const char* want) {
        auto it = object_kind_.find(ref.object);
        if (it != object_kind_.end())
            fail(at, fmt::format("'{}' is a {}, not a {}", ref.object, it->second, want));
        fail(at, fmt::format("unknown {} '{}'{}", want, ref.object, did_you_mean_suffix(ref.object, all_object_names())));
    }

    SemTerm resolve_sem(const RefDecl& ref, SourcePos op_pos, int& set) {
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
    std::pair<int, std::uint32_t> resolve_cell(const RefDecl& ref, SourcePos at) {
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

    int resolve_pipe(const RefDecl& ref, SourcePos at, int decl, bool need_write, bool need_read) {
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

    Op compile(const OpDecl& od, int decl) {
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
            case OpKind::Semctl: {
                static const std::pair<const char*, SemctlCommand> commands[] = {
                    {"SETVAL", kSetval}, {"GETVAL", kGetval}, {"GETNCNT", kGetncnt}, {"GETZCNT", kGetzcnt}, {"IPC_RMID", kIpcRmid}};
                for (auto [name, c] : commands)
                    if (od.command == name) op.count = c;
                int set = -1;
                if (op.count == kIpcRmid) {
                    if (!od.target.member.empty()) fail(at, "IPC_RMID removes the whole set: name the set, not a member");
                    auto it = sem_index_.find(od.target.object);
                    if (it == sem_index_.end()) unknown_object(od.target, at, "semaphore set");
                    set = it->second;
                } else {
                    if (od.target.member.empty()) fail(at, fmt::format("{} works on one semaphore: name a member", od.command));
                    op.slot = resolve_sem(od.target, od.pos, set).member;
                }
                op.object = static_cast<std::uint16_t>(set);
                op.value = od.value;
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
        }
        return op;
    }

    // "P name" / "V name": a POSIX semaphore.
    Op compile_psem(const OpDecl& od) {
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

    std::uint32_t text(const std::string& s) {
        p_.texts.push_back(s);
        return static_cast<std::uint32_t>(p_.texts.size() - 1);
    }

    void scripts() {
        // Replicas share one compiled script.
        for (std::size_t i = 0; i < d_.processes.size(); ++i) {
            auto first = static_cast<std::uint32_t>(p_.ops.size());
            for (const auto& od : d_.processes[i].run) {
                p_.ops.push_back(compile(od, static_cast<int>(i)));
                p_.op_text.push_back(od.text);
            }
            auto count = static_cast<std::uint32_t>(p_.ops.size()) - first;
            for (int r = 0; r < d_.processes[i].count; ++r)
                p_.processes[first_replica_[i] + r].first_op = first, p_.processes[first_replica_[i] + r].op_count = count;
        }
    }

    // ---- expectations --------------------------------------------------
    void expectations() {
        for (auto e : d_.expects) {
            if (e.kind == ExpectKind::Stdout) {
                auto procs = find_processes(e.process.name, e.process.pos, "in [[expect]]");
                if (procs.size() != 1)
                    fail(e.process.pos, fmt::format("'{}' has {} replicas; name one, e.g. {}#0", e.process.name, procs.size(), e.process.name));
                if (!p_.processes[procs[0]].is_exec())
                    fail(e.process.pos, fmt::format("'{}' is scripted: only exec'd programs have their stdout captured", e.process.name));
                e.process_index = procs[0];
            }
            for (auto& n : e.expr.nodes) {
                SourcePos at = pos_in_string(e.text_pos, n.offset);
                if (n.op == ExprOp::Count || n.op == ExprOp::Errors || n.op == ExprOp::Errno) {
                    for (std::size_t i = 0; i < p_.ops.size(); ++i) {
                        std::string target = op_target(p_, p_.ops[i]);
                        std::string short_form = std::string(op_verb(p_, p_.ops[i])) + (target.empty() ? "" : " " + target);
                        if (n.object == p_.op_text[i] || n.object == short_form) n.ops.push_back(static_cast<std::uint32_t>(i));
                    }
                    if (n.ops.empty()) {
                        std::vector<std::string> all(p_.op_text.begin(), p_.op_text.end());
                        fail(at, fmt::format("no process has the op '{}'{}", n.object, did_you_mean_suffix(n.object, all)));
                    }
                    continue;
                }
                if (n.op == ExprOp::Exit || n.op == ExprOp::Signal || n.op == ExprOp::Received) {
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
    void faults() {
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
                                                  did_you_mean_suffix(*f.after, candidates)));
                pf.text = fmt::format("{} to {} after its {} '{}'", signal_name(pf.signal), victim.name,
                                      pf.count == 1 ? std::string("first") : fmt::format("{}th", pf.count), *f.after);
            }
            p_.faults.push_back(std::move(pf));
        }
    }

    const ScenarioDecl& d_;
    const PlanOptions& o_;
    Plan p_;
    std::map<std::string, const char*> object_kind_;
    std::map<std::string, int> sem_index_, shm_index_, pipe_index_, queue_index_, psem_index_;
    std::vector<const PipeDecl*> pipe_decl_;
    std::vector<std::string> base_names_;
    std::vector<int> first_replica_;
};

}  // namespace

Result<Plan, Diagnostic> make_plan(const ScenarioDecl& decl, const PlanOptions& options) {
    try {
        return Planner(decl, options).run();
    } catch (const Failure& f) {
        return f.d;
    }
}

}  // namespace simrun

#include "scenario/scenario_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace simrun {

// FNV-1a: a stable fingerprint of the scenario text for schedule files.
static std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

Result<Plan, std::string> load_plan(const std::string& path, const PlanOptions& options) {
    auto source = read_source_file(path);
    if (!source) return render_diagnostic(path, "", source.error());
    auto decl = read_scenario(path, source.value());
    if (!decl) return render_diagnostic(path, source.value(), decl.error());
    auto plan = make_plan(decl.value(), options);
    if (!plan) return render_diagnostic(path, source.value(), plan.error());
    // Input files must be there before anything runs.
    for (const auto& p : plan->processes)
        if (!p.stdin_file.empty() && access(p.stdin_file.c_str(), R_OK) != 0)
            return render_diagnostic(path, source.value(),
                                     {p.stdin_file_pos, fmt::format("cannot read {}: {}", p.stdin_file, std::strerror(errno))});
    plan->source_hash = fnv1a(source.value());
    return std::move(plan.value());
}

}  // namespace simrun

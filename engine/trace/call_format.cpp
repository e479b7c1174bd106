#include "trace/call_format.hpp"

#include "scenario/model.hpp"
#include "util/duration.hpp"
#include "util/json.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>

#include <cstring>

namespace simrun {
namespace {

// The signals of a mask (bit sig-1), comma-separated, quoted for JSON or not.
std::string signal_list(std::uint64_t bits, bool quoted) {
    std::string out;
    for (int s = 1; s < 65; ++s)
        if (bits & (1ull << (s - 1))) {
            if (!out.empty()) out += quoted ? "," : ", ";
            out += quoted ? fmt::format("\"{}\"", signal_name(s)) : std::string(signal_name(s));
        }
    return out;
}

const char* ctl_name(std::int64_t cmd) {
    switch (cmd) {
        case IPC_RMID: return "IPC_RMID";
        case IPC_SET: return "IPC_SET";
        case IPC_STAT: return "IPC_STAT";
        case GETVAL: return "GETVAL";
        case SETVAL: return "SETVAL";
        case GETALL: return "GETALL";
        case SETALL: return "SETALL";
        case GETNCNT: return "GETNCNT";
        case GETZCNT: return "GETZCNT";
        case GETPID: return "GETPID";
        default: return "?";
    }
}

const char* fork_how(std::int64_t how) {
    switch (how) {
        case kForkVfork: return "vfork";
        case kForkSpawn: return "posix_spawn";
        case kForkSystem: return "system";
        case kForkPopen: return "popen";
        default: return "fork";
    }
}

}  // namespace

void read_sembufs(const Record& r, std::string_view payload, std::vector<sembuf>& out) {
    if (r.e.value == 1 && payload.empty()) {
        const SemBuf b = unpack_sembuf(r.e.step);
        out.assign(1, sembuf{b.num, b.op, b.flg});
        return;
    }
    out.resize(payload.size() / sizeof(sembuf));
    if (!out.empty()) std::memcpy(out.data(), payload.data(), out.size() * sizeof(sembuf));
}

void ChildNames::on_event(const Record& r) {
    if (r.kind != EventKind::Call) return;
    const auto call = static_cast<CallId>(r.e.op);
    // A forked child is named by its parent's fork record (arg: its slot);
    // one started otherwise (vfork, posix_spawn, system) by its own attach
    // (arg: the parent's process number; step 1: it claimed the slot
    // itself). A slot is reused once its holder has been reaped: the next
    // holder's fork or attach names it anew.
    // A child started otherwise is matched by pid to its parent's record
    // (vfork, posix_spawn: result, its pid; a controlled system: its third
    // field), which comes first.
    // A forked child that ran before fork returned in its parent attached
    // first and named itself by its parent's slot: the fork then names the
    // same process, not a new one.
    const std::string* parent = name(r.proc);
    auto named_for = [&](std::int64_t slot, std::int64_t pid) {
        const std::size_t i = static_cast<std::size_t>(slot) - declared_;
        return i < pids_.size() && pids_[i] == pid && name(static_cast<std::uint16_t>(slot));
    };
    if (call == CallId::Fork && r.e.arg >= static_cast<std::int64_t>(declared_) && r.e.arg < kRunProc && r.e.result > 0 && parent) {
        if (!named_for(r.e.arg, r.e.result)) add(static_cast<std::size_t>(r.e.arg), {*parent, root(r.proc)}, r.e.result);
    }
    else if (call == CallId::Fork && (r.e.value == kForkVfork || r.e.value == kForkSpawn) && r.e.result > 0 && parent)
        started_[r.e.result] = {*parent, root(r.proc)};
    else if (call == CallId::Fork && (r.e.value == kForkSystem || r.e.value == kForkPopen) && r.e.step > 0 && parent)  // the shell's pid
        started_[static_cast<std::int64_t>(r.e.step)] = {*parent, root(r.proc)};
    else if (call == CallId::Attach && r.proc >= declared_ && r.e.value > 0 && (r.e.step == 1 || !parent)) {
        if (auto it = started_.find(r.e.value); r.e.step == 1 && it != started_.end()) {
            const Parent from = std::move(it->second);
            started_.erase(it);
            add(r.proc, from, r.e.value);
        } else if (const std::string* by_slot = name(static_cast<std::uint16_t>(r.e.arg))) {
            add(r.proc, {*by_slot, root(static_cast<std::uint16_t>(r.e.arg))}, r.e.value);
        }
    }
}

void PsemNames::on_event(const Record& r, std::string_view payload) {
    if (r.kind != EventKind::Call || (r.flags & kRecCallStart) || r.e.err) return;
    switch (static_cast<CallId>(r.e.op)) {
        case CallId::SemOpen:  // its address in the first field
            if (r.e.result == 0) named_[r.e.arg] = std::string(payload);
            break;
        case CallId::Shmget:
            if (r.e.result >= 0) shm_sizes_[r.e.result] = r.e.value;
            break;
        case CallId::Shmat:
            if (r.e.result != -1)
                if (auto it = shm_sizes_.find(r.e.arg); it != shm_sizes_.end())
                    regions_.push_back({r.e.result, it->second, fmt::format("shm {}", r.e.arg)});
            break;
        case CallId::Mmap:
            if (r.e.result != -1) regions_.push_back({r.e.result, r.e.value, r.e.arg >= 0 ? fmt::format("mmap fd {}", r.e.arg) : "mmap"});
            break;
        default: break;
    }
}

const std::string* PsemNames::name(std::int64_t addr) {
    if (auto it = named_.find(addr); it != named_.end()) return &it->second;
    for (auto r = regions_.rbegin(); r != regions_.rend(); ++r)
        if (addr >= r->start && addr < r->start + r->length) return &(named_[addr] = fmt::format("{} +{}", r->what, addr - r->start));
    return nullptr;
}

void ChildNames::add(std::size_t child, const Parent& parent, std::int64_t pid) {
    if (names_.size() <= child) names_.resize(child + 1), roots_.resize(child + 1 - declared_, -1), pids_.resize(child + 1 - declared_, 0);
    names_[child] = parent.name + "/" + std::to_string(++children_[parent.name]);
    roots_[child - declared_] = parent.root;
    pids_[child - declared_] = pid;
}

const std::string* ChildNames::name(std::uint16_t proc) const {
    return proc < names_.size() && !names_[proc].empty() ? &names_[proc] : nullptr;
}

int ChildNames::root(std::uint16_t proc) const {
    if (proc < declared_) return proc;
    return proc - declared_ < roots_.size() ? roots_[proc - declared_] : -1;
}

const std::string* SysvNames::set(std::int64_t id) const {
    for (const auto& [i, n] : sets)
        if (i == id) return &n;
    return nullptr;
}
const std::string* SysvNames::queue(std::int64_t id) const {
    for (const auto& [i, n] : queues)
        if (i == id) return &n;
    return nullptr;
}

void append_call_json(std::string& l, const ev::Call& c) {
    l += fmt::format(",\"call\":\"{}\"", call_name(c.id));
    // Bytes that are not text keep their exact value beside it, as hex.
    auto text = [&](const char* key, std::string_view t) {
        l += fmt::format(",\"{}\":", key);
        append_json_string(l, t);
        if (!is_text(t)) l += fmt::format(",\"{}_hex\":\"", key), append_hex(l, t), l += '"';
    };
    auto obj = [&](const std::string* name) {
        if (name) l += ",\"obj\":", append_json_string(l, *name);
    };
    std::visit(Overloaded{
                   [&](const call::None&) {},
                   [&](const call::IpcGet& a) {
                       l += fmt::format(",\"key\":{}", a.key);
                       if (a.size) l += fmt::format(",\"{}\":{}", c.id == CallId::Semget ? "nsems" : "size", *a.size);
                   },
                   [&](const call::Semop& a) {
                       l += fmt::format(",\"semid\":{}", a.semid);
                       obj(a.set);
                       l += ",\"sops\":[";
                       for (std::size_t i = 0; i < a.sops.size(); ++i)
                           l += fmt::format("{}{{\"num\":{},\"op\":{},\"undo\":{},\"nowait\":{}}}", i ? "," : "", a.sops[i].sem_num,
                                            a.sops[i].sem_op, (a.sops[i].sem_flg & SEM_UNDO) ? "true" : "false",
                                            (a.sops[i].sem_flg & IPC_NOWAIT) ? "true" : "false");
                       l += ']';
                       if (a.timeout_ms) l += fmt::format(",\"timeout_ms\":{}", *a.timeout_ms);
                   },
                   [&](const call::Semctl& a) {
                       l += fmt::format(",\"semid\":{},\"semnum\":{},\"cmd\":\"{}\"", a.semid, a.semnum, ctl_name(a.cmd));
                       obj(a.set);
                       if (a.setval) l += fmt::format(",\"val\":{}", *a.setval);
                       if (!a.values.empty() && !c.err) l += fmt::format(",\"values\":[{}]", fmt::join(semctl_values(a.values), ","));
                   },
                   [&](const call::IdCtl& a) { l += fmt::format(",\"id\":{},\"cmd\":\"{}\"", a.id, ctl_name(a.cmd)); },
                   [&](const call::Shmat& a) { l += fmt::format(",\"shmid\":{}", a.shmid); },
                   [&](const call::Shmdt&) {},
                   [&](const call::SysvMsg& a) {
                       l += fmt::format(",\"msqid\":{},\"type\":{}", a.msqid, a.type);
                       obj(a.queue);
                       if (a.got_type) l += fmt::format(",\"got_type\":{}", *a.got_type);
                       text("text", a.text);
                   },
                   [&](const call::MqMsg& a) {
                       l += fmt::format(",\"mqd\":{},\"prio\":{}", a.mqd, a.prio);
                       text("text", a.text);
                   },
                   [&](const call::Named& a) { text("name", a.name); },
                   [&](const call::Psem& a) {
                       l += fmt::format(",\"sem\":\"{:#x}\"", a.addr);
                       obj(a.name);
                       if (!c.started) l += fmt::format(",\"value\":{}", a.value);
                   },
                   [&](const call::PsemInit& a) {
                       l += fmt::format(",\"sem\":\"{:#x}\"", a.addr);
                       obj(a.name);
                       l += fmt::format(",\"value\":{},\"pshared\":{}", a.value, a.pshared);
                   },
                   [&](const call::Mmap& a) { l += fmt::format(",\"fd\":{},\"length\":{}", a.fd, a.length); },
                   [&](const call::Pipe& a) { l += fmt::format(",\"fds\":[{},{}]", a.read_fd, a.write_fd); },
                   [&](const call::Io& a) {
                       l += fmt::format(",\"fd\":{},\"count\":{}", a.fd, a.count);
                       text("data", a.data);
                   },
                   [&](const call::SendSignal& a) {
                       // kill(pid, 0) probes: the signal is the number 0, not a name.
                       if (a.signal == 0) l += fmt::format(",\"target_pid\":{},\"signal\":0", a.pid);
                       else l += fmt::format(",\"target_pid\":{},\"signal\":\"{}\"", a.pid, signal_name(a.signal));
                       if (a.value) l += fmt::format(",\"value\":{}", *a.value);
                   },
                   [&](const call::Raise& a) { l += fmt::format(",\"signal\":\"{}\"", signal_name(a.signal)); },
                   [&](const call::Sigaction& a) {
                       l += fmt::format(",\"signal\":\"{}\",\"handler\":\"{}\"", signal_name(a.signal), disposition_name(a.disposition));
                   },
                   [&](const call::Handler& a) { l += fmt::format(",\"signal\":\"{}\",\"from_pid\":{}", signal_name(a.signal), a.from_pid); },
                   [&](const call::Sigprocmask& a) {
                       static const char* const hows[] = {"SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"};
                       l += fmt::format(",\"how\":\"{}\",\"set\":[{}]", a.how >= 0 && a.how < 3 ? hows[a.how] : "?", signal_list(a.set, true));
                   },
                   [&](const call::SigSet& a) { l += fmt::format(",\"set\":[{}]", signal_list(a.set, true)); },
                   [&](const call::Sigwait& a) {
                       l += fmt::format(",\"set\":[{}]", signal_list(a.set, true));
                       if (a.got > 0) l += fmt::format(",\"signal\":\"{}\"", signal_name(a.got));
                   },
                   [&](const call::Sleep& a) { l += fmt::format(",\"ns\":{}", a.ns); },
                   [&](const call::Alarm& a) { l += fmt::format(",\"seconds\":{}", a.seconds); },
                   [&](const call::Longjmp& a) {
                       l += fmt::format(",\"value\":{},\"handlers\":{}", a.value, a.handlers);
                       if (a.abandoned) l += fmt::format(",\"abandoned\":\"{}\"", call_name(*a.abandoned));
                   },
                   [&](const call::Wait& a) {
                       l += fmt::format(",\"for\":{}", a.for_pid);
                       if (a.pclose) l += ",\"how\":\"pclose\"";
                       if (a.status) l += fmt::format(",\"status\":\"{}\"", a.status->describe());
                   },
                   [&](const call::Exit& a) {
                       l += fmt::format(",\"code\":{}", a.code);
                       if (a.how != kExitCall) l += a.how == kExitFromMain ? ",\"how\":\"return\"" : ",\"how\":\"_exit\"";
                   },
                   [&](const call::Fork& a) {
                       l += fmt::format(",\"how\":\"{}\"", fork_how(a.how));
                       if (a.how == kForkSpawn || a.how == kForkSystem || a.how == kForkPopen) text("name", a.name);
                       if (a.status) l += fmt::format(",\"status\":\"{}\"", a.status->describe());
                   },
               },
               c.args);
}

std::vector<int> semctl_values(std::string_view raw) {
    std::vector<int> out;
    for (std::size_t i = 0; i + sizeof(unsigned short) <= raw.size(); i += sizeof(unsigned short)) {
        unsigned short v;
        std::memcpy(&v, raw.data() + i, sizeof v);
        out.push_back(v);
    }
    return out;
}

std::string_view call_object(const ev::Call& c) {
    auto named = [](const std::string* n) { return n ? std::string_view(*n) : std::string_view(); };
    return std::visit(Overloaded{[&](const call::Semop& a) { return named(a.set); },
                                 [&](const call::Semctl& a) { return named(a.set); },
                                 [&](const call::SysvMsg& a) { return named(a.queue); },
                                 [&](const call::Named& a) { return a.name; },
                                 [&](const call::Psem& a) { return named(a.name); },
                                 [&](const call::PsemInit& a) { return named(a.name); },
                                 [](const auto&) { return std::string_view(); }},
                      c.args);
}

int call_signal(const ev::Call& c) {
    return std::visit(Overloaded{[](const call::SendSignal& a) { return a.signal; }, [](const call::Raise& a) { return a.signal; },
                                 [](const call::Sigaction& a) { return a.signal; }, [](const call::Handler& a) { return a.signal; },
                                 [](const auto&) { return 0; }},
                      c.args);
}

std::string describe_call(const ev::Call& c) {
    const std::string result = c.started ? std::string(" ⏸")
                               : c.err   ? fmt::format(" ✘ {}", strerrorname_np(c.err) ? strerrorname_np(c.err) : "?")
                                         : fmt::format(" → {}", c.result);
    auto quoted = [](std::string_view t) { return "\"" + readable_bytes(t, 30) + "\""; };
    const char* name = call_name(c.id);
    auto plain = [&](std::int64_t first) { return fmt::format("{}({}){}", name, first, result); };
    return std::visit(
        Overloaded{
            [&](const call::None&) -> std::string {
                if (c.id == CallId::Attach) return "traced (preload)";
                if (c.id == CallId::Pause) return fmt::format("pause(){}", result);
                return fmt::format("{}(){}", name, result);
            },
            [&](const call::IpcGet& a) { return plain(a.key); },
            [&](const call::Semop& a) {
                std::string ops;
                for (const auto& s : a.sops) ops += fmt::format(" {} {:+d}{}", s.sem_num, s.sem_op, (s.sem_flg & SEM_UNDO) ? " undo" : "");
                const std::string set = a.set ? *a.set : fmt::format("semid {}", a.semid);
                if (a.timeout_ms) return fmt::format("semtimedop({}:{}, {} ms){}", set, ops, *a.timeout_ms, result);
                return fmt::format("semop({}:{}){}", set, ops, result);
            },
            [&](const call::Semctl& a) {
                std::string what = ctl_name(a.cmd);
                if (a.setval) what += fmt::format(" {}", *a.setval);
                if (!a.values.empty() && !c.err) what += fmt::format(" [{}]", fmt::join(semctl_values(a.values), " "));
                return fmt::format("semctl({}, {}, {}){}", a.set ? *a.set : std::to_string(a.semid), a.semnum, what, result);
            },
            [&](const call::IdCtl& a) { return plain(a.id); },
            [&](const call::Shmat& a) { return plain(a.shmid); },
            [&](const call::Shmdt& a) { return plain(a.addr); },
            [&](const call::SysvMsg& a) {
                const std::string queue = a.queue ? *a.queue : std::to_string(a.msqid);
                if (c.started) return fmt::format("{}({}, type {}){}", name, queue, a.type, result);
                return fmt::format("{}({}, type {}, {}){}", name, queue, a.got_type ? *a.got_type : a.type, quoted(a.text), result);
            },
            [&](const call::MqMsg& a) {
                if (c.started) return fmt::format("{}({}){}", name, a.mqd, result);
                return fmt::format("{}({}, prio {}, {}){}", name, a.mqd, a.prio, quoted(a.text), result);
            },
            [&](const call::Named& a) {
                if (c.id == CallId::Exec) return fmt::format("exec {}{}", quoted(a.name), c.result < 0 ? result : "");
                return fmt::format("{}({}){}", name, quoted(a.name), result);
            },
            [&](const call::Psem& a) {
                const std::string sem = a.name ? *a.name : fmt::format("{:#x}", a.addr);
                if (c.started || a.value < 0) return fmt::format("{}({}){}", name, sem, result);
                return fmt::format("{}({}){} (value {})", name, sem, result, a.value);
            },
            [&](const call::PsemInit& a) {
                return fmt::format("sem_init({}, {}, {}){}", a.name ? *a.name : fmt::format("{:#x}", a.addr), a.pshared, a.value, result);
            },
            [&](const call::Mmap& a) {
                const std::string what = a.fd < 0 ? std::string("shared anonymous") : fmt::format("fd {}", a.fd);
                return c.err ? fmt::format("mmap({}, {} bytes){}", what, a.length, result)
                             : fmt::format("mmap({}, {} bytes) → {:#x}", what, a.length, c.result);
            },
            [&](const call::Pipe& a) { return plain(a.read_fd); },
            [&](const call::Io& a) { return fmt::format("{}({}, {}){}", name, a.fd, quoted(a.data), result); },
            [&](const call::SendSignal& a) { return fmt::format("{}({}, {}){}", name, a.pid, signal_name(a.signal), result); },
            [&](const call::Raise& a) { return fmt::format("raise({}){}", signal_name(a.signal), result); },
            [&](const call::Sigaction& a) { return fmt::format("sigaction({}, {}){}", signal_name(a.signal), disposition_name(a.disposition), result); },
            [&](const call::Handler& a) { return fmt::format("⚑ {} from pid {} (its handler)", signal_name(a.signal), a.from_pid); },
            [&](const call::Sigprocmask& a) {
                static const char* const hows[] = {"SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"};
                return fmt::format("sigprocmask({}, [{}]){}", a.how >= 0 && a.how < 3 ? hows[a.how] : "?", signal_list(a.set, false), result);
            },
            [&](const call::SigSet& a) { return fmt::format("sigsuspend([{}]){}", signal_list(a.set, false), result); },
            [&](const call::Sigwait& a) {
                return fmt::format("sigwait([{}]){}", signal_list(a.set, false), a.got > 0 ? fmt::format(" → {}", signal_name(a.got)) : result);
            },
            [&](const call::Sleep& a) { return fmt::format("sleep({}){}", format_duration_ns(a.ns), result); },
            [&](const call::Alarm& a) { return fmt::format("alarm({}){}", a.seconds, result); },
            [&](const call::Longjmp& a) {
                return fmt::format("longjmp({}) out of {} handler{}{}", a.value, a.handlers, a.handlers == 1 ? "" : "s",
                                   a.abandoned ? fmt::format(" · {} abandoned", call_name(*a.abandoned)) : "");
            },
            [&](const call::Wait& a) {
                const char* what = a.pclose ? "pclose" : "wait";
                return a.status ? fmt::format("{} → pid {} {}", what, c.result, a.status->describe()) : fmt::format("{}{}", what, result);
            },
            [&](const call::Exit& a) {
                return a.how == kExitFromMain ? fmt::format("return {} from main", a.code)
                                              : fmt::format("{}({})", a.how == kExitImmediate ? "_exit" : "exit", a.code);
            },
            [&](const call::Fork& a) {
                if (a.how == kForkSystem) return fmt::format("system({}){}", quoted(a.name), a.status ? " → " + a.status->describe() : result);
                if (a.how == kForkSpawn || a.how == kForkPopen)
                    return fmt::format("{}({}){}", fork_how(a.how), quoted(a.name), c.err ? result : fmt::format(" → pid {}", c.result));
                return fmt::format("{}{}", fork_how(a.how), c.err ? result : fmt::format(" → pid {}", c.result));
            },
        },
        c.args);
}

}  // namespace simrun

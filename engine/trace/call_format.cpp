#include "trace/call_format.hpp"

#include "trace/jsonl_writer.hpp"

#include "scenario/model.hpp"
#include "util/duration.hpp"
#include "util/json.hpp"

#include <fmt/format.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>

#include <cstring>

namespace simrun {
namespace {

CallId call_of(const Record& r) { return static_cast<CallId>(r.e.op); }

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
        default: return "fork";
    }
}

}  // namespace

std::vector<sembuf> call_sembufs(const Record& r, std::string_view payload) {
    if (r.e.value == 1 && payload.empty()) {
        SemBuf b = unpack_sembuf(r.e.step);
        return {sembuf{b.num, b.op, b.flg}};
    }
    std::vector<sembuf> out(payload.size() / sizeof(sembuf));
    if (!out.empty()) std::memcpy(out.data(), payload.data(), out.size() * sizeof(sembuf));
    return out;
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
    // (vfork, posix_spawn: result, its pid), which comes first.
    const std::string* parent = name(r.proc);
    if (call == CallId::Fork && r.e.arg >= static_cast<std::int64_t>(declared_) && r.e.result > 0 && parent)
        add(static_cast<std::size_t>(r.e.arg), {*parent, root(r.proc)});
    else if (call == CallId::Fork && (r.e.value == kForkVfork || r.e.value == kForkSpawn) && r.e.result > 0 && parent)
        started_[r.e.result] = {*parent, root(r.proc)};
    else if (call == CallId::Attach && r.proc >= declared_ && r.e.value > 0 && (r.e.step == 1 || !parent)) {
        if (auto it = started_.find(r.e.value); r.e.step == 1 && it != started_.end()) {
            const Parent from = std::move(it->second);
            started_.erase(it);
            add(r.proc, from);
        } else if (const std::string* by_slot = name(static_cast<std::uint16_t>(r.e.arg))) {
            add(r.proc, {*by_slot, root(static_cast<std::uint16_t>(r.e.arg))});
        }
    }
}

void ChildNames::add(std::size_t child, const Parent& parent) {
    if (names_.size() <= child) names_.resize(child + 1), roots_.resize(child + 1 - declared_, -1);
    names_[child] = parent.name + "/" + std::to_string(++children_[parent.name]);
    roots_[child - declared_] = parent.root;
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

void append_call_json(std::string& l, const Record& r, std::string_view payload, const SysvNames& names) {
    const CallId c = call_of(r);
    l += fmt::format(",\"call\":\"{}\"", call_name(c));
    auto text = [&](const char* key) {
        l += fmt::format(",\"{}\":", key);
        append_json_string(l, payload);
    };
    switch (c) {
        case CallId::Semget:
        case CallId::Shmget:
        case CallId::Msgget:
            l += fmt::format(",\"key\":{}", r.e.arg);
            if (c == CallId::Semget) l += fmt::format(",\"nsems\":{}", r.e.value);
            if (c == CallId::Shmget) l += fmt::format(",\"size\":{}", r.e.value);
            break;
        case CallId::Semop: {
            l += fmt::format(",\"semid\":{}", r.e.arg);
            if (const auto* n = names.set(r.e.arg)) l += ",\"obj\":", append_json_string(l, *n);
            l += ",\"sops\":[";
            auto sops = call_sembufs(r, payload);
            for (std::size_t i = 0; i < sops.size(); ++i)
                l += fmt::format("{}{{\"num\":{},\"op\":{},\"undo\":{},\"nowait\":{}}}", i ? "," : "", sops[i].sem_num, sops[i].sem_op,
                                 (sops[i].sem_flg & SEM_UNDO) ? "true" : "false", (sops[i].sem_flg & IPC_NOWAIT) ? "true" : "false");
            l += ']';
            break;
        }
        case CallId::Semctl:
            l += fmt::format(",\"semid\":{},\"semnum\":{},\"cmd\":\"{}\"", r.e.arg, r.e.value, ctl_name(static_cast<std::int64_t>(r.e.step)));
            if (const auto* n = names.set(r.e.arg)) l += ",\"obj\":", append_json_string(l, *n);
            break;
        case CallId::Shmctl:
        case CallId::Msgctl:
            l += fmt::format(",\"id\":{},\"cmd\":\"{}\"", r.e.arg, ctl_name(r.e.value));
            break;
        case CallId::Shmat: l += fmt::format(",\"shmid\":{}", r.e.arg); break;
        case CallId::Msgsnd:
        case CallId::Msgrcv:
            l += fmt::format(",\"msqid\":{},\"type\":{}", r.e.arg, r.e.value);
            if (const auto* n = names.queue(r.e.arg)) l += ",\"obj\":", append_json_string(l, *n);
            if (c == CallId::Msgrcv && r.e.result >= 0) l += fmt::format(",\"got_type\":{}", static_cast<std::int64_t>(r.e.step));
            text("text");
            break;
        case CallId::MqSend:
        case CallId::MqReceive:
            l += fmt::format(",\"mqd\":{},\"prio\":{}", r.e.arg, r.e.value);
            text("text");
            break;
        case CallId::MqOpen:
        case CallId::MqUnlink:
        case CallId::SemOpen:
        case CallId::SemUnlink:
        case CallId::ShmOpen:
        case CallId::ShmUnlink:
        case CallId::Mkfifo:
        case CallId::Exec: text("name"); break;
        case CallId::SemWait:
        case CallId::SemTrywait:
        case CallId::SemTimedwait:
        case CallId::SemPost: l += fmt::format(",\"sem\":\"{:#x}\",\"value\":{}", r.e.arg, r.e.value); break;
        case CallId::SemInit: l += fmt::format(",\"sem\":\"{:#x}\",\"value\":{},\"pshared\":{}", r.e.arg, r.e.value, r.e.step); break;
        case CallId::Mmap: l += fmt::format(",\"fd\":{},\"length\":{}", r.e.arg, r.e.value); break;
        case CallId::Pipe: l += fmt::format(",\"fds\":[{},{}]", r.e.arg, r.e.value); break;
        case CallId::Read:
        case CallId::Write:
            l += fmt::format(",\"fd\":{},\"count\":{}", r.e.arg, r.e.value);
            text("data");
            break;
        case CallId::Kill:
        case CallId::Sigqueue:
            l += fmt::format(",\"pid\":{},\"signal\":\"{}\"", r.e.arg, signal_name(static_cast<int>(r.e.value)));
            if (c == CallId::Sigqueue) l += fmt::format(",\"value\":{}", static_cast<std::int64_t>(r.e.step));
            break;
        case CallId::Raise: l += fmt::format(",\"signal\":\"{}\"", signal_name(static_cast<int>(r.e.value))); break;
        case CallId::Sigaction:
            l += fmt::format(",\"signal\":\"{}\",\"handler\":\"{}\"", signal_name(static_cast<int>(r.e.value)),
                             r.e.step == 0 ? "default" : r.e.step == 1 ? "ignore" : "handler");
            break;
        case CallId::Handler:
            l += fmt::format(",\"signal\":\"{}\",\"from_pid\":{}", signal_name(static_cast<int>(r.e.value)), r.e.arg);
            break;
        case CallId::Sigprocmask: {
            static const char* const hows[] = {"SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"};
            l += fmt::format(",\"how\":\"{}\",\"set\":[{}]", r.e.arg >= 0 && r.e.arg < 3 ? hows[r.e.arg] : "?",
                             signal_list(static_cast<std::uint64_t>(r.e.value), true));
            break;
        }
        case CallId::Sigsuspend: l += fmt::format(",\"set\":[{}]", signal_list(static_cast<std::uint64_t>(r.e.value), true)); break;
        case CallId::Sigwait:
            l += fmt::format(",\"set\":[{}]", signal_list(static_cast<std::uint64_t>(r.e.value), true));
            if (r.e.result > 0) l += fmt::format(",\"signal\":\"{}\"", signal_name(static_cast<int>(r.e.result)));
            break;
        case CallId::Sleep: l += fmt::format(",\"ns\":{}", r.e.arg); break;
        case CallId::Alarm: l += fmt::format(",\"seconds\":{}", r.e.arg); break;
        case CallId::Longjmp:
            l += fmt::format(",\"value\":{},\"handlers\":{}", r.e.arg, r.e.value);
            if (r.e.step > 0) l += fmt::format(",\"abandoned\":\"{}\"", call_name(static_cast<CallId>(r.e.step - 1)));
            break;
        case CallId::Wait:
            l += fmt::format(",\"for\":{}", r.e.arg);
            if (r.e.result > 0) l += fmt::format(",\"status\":\"{}\"", describe_wait_status(static_cast<int>(r.e.value)));
            break;
        case CallId::Exit: l += fmt::format(",\"code\":{}", r.e.value); break;
        case CallId::Fork:
            l += fmt::format(",\"how\":\"{}\"", fork_how(r.e.value));
            if (r.e.value == kForkSpawn || r.e.value == kForkSystem) text("name");
            if (r.e.value == kForkSystem && r.e.result >= 0) l += fmt::format(",\"status\":\"{}\"", describe_wait_status(static_cast<int>(r.e.result)));
            break;
        default: break;
    }
}

std::string describe_call(const Record& r, std::string_view payload, const SysvNames& names) {
    const CallId c = call_of(r);
    std::string result = r.e.err ? fmt::format(" ✘ {}", strerrorname_np(r.e.err) ? strerrorname_np(r.e.err) : "?")
                                 : fmt::format(" → {}", r.e.result);
    auto quoted = [&] {
        std::string s(payload.substr(0, 30));
        for (char& ch : s)
            if (ch == '\n') ch = ' ';
        return "\"" + s + (payload.size() > 30 ? "…" : "") + "\"";
    };
    switch (c) {
        case CallId::Attach: return "traced (preload)";
        case CallId::Semop: {
            const std::string* set = names.set(r.e.arg);
            std::string ops;
            for (const auto& s : call_sembufs(r, payload))
                ops += fmt::format(" {} {:+d}{}", s.sem_num, s.sem_op, (s.sem_flg & SEM_UNDO) ? " undo" : "");
            return fmt::format("semop({}:{}){}", set ? *set : fmt::format("semid {}", r.e.arg), ops, result);
        }
        case CallId::Semctl: return fmt::format("semctl({}, {}, {}){}", names.set(r.e.arg) ? *names.set(r.e.arg) : std::to_string(r.e.arg),
                                                r.e.value, ctl_name(static_cast<std::int64_t>(r.e.step)), result);
        case CallId::Msgsnd:
        case CallId::Msgrcv:
            return fmt::format("{}({}, type {}, {}){}", call_name(c), names.queue(r.e.arg) ? *names.queue(r.e.arg) : std::to_string(r.e.arg),
                               c == CallId::Msgrcv && r.e.result >= 0 ? static_cast<std::int64_t>(r.e.step) : r.e.value, quoted(), result);
        case CallId::MqSend:
        case CallId::MqReceive:
        case CallId::Read:
        case CallId::Write: return fmt::format("{}({}, {}){}", call_name(c), r.e.arg, quoted(), result);
        case CallId::Kill:
        case CallId::Sigqueue: return fmt::format("{}({}, {}){}", call_name(c), r.e.arg, signal_name(static_cast<int>(r.e.value)), result);
        case CallId::Raise: return fmt::format("raise({}){}", signal_name(static_cast<int>(r.e.value)), result);
        case CallId::Sigaction:
            return fmt::format("sigaction({}, {}){}", signal_name(static_cast<int>(r.e.value)),
                               r.e.step == 0 ? "SIG_DFL" : r.e.step == 1 ? "SIG_IGN" : "handler", result);
        case CallId::Handler: return fmt::format("⚑ {} from pid {} (its handler)", signal_name(static_cast<int>(r.e.value)), r.e.arg);
        case CallId::Fork:
            if (r.e.value == kForkSystem)
                return fmt::format("system({}){}", quoted(), r.e.result >= 0 ? " → " + describe_wait_status(static_cast<int>(r.e.result)) : result);
            if (r.e.value == kForkSpawn) return fmt::format("posix_spawn({}){}", quoted(), r.e.err ? result : fmt::format(" → pid {}", r.e.result));
            return fmt::format("{}{}", fork_how(r.e.value), r.e.err ? result : fmt::format(" → pid {}", r.e.result));
        case CallId::Wait: return r.e.result > 0 ? fmt::format("wait → pid {} {}", r.e.result, describe_wait_status(static_cast<int>(r.e.value)))
                                                 : fmt::format("wait{}", result);
        case CallId::Exit: return fmt::format("exit({})", r.e.value);
        case CallId::Pause: return fmt::format("pause(){}", result);
        case CallId::Sigsuspend: return fmt::format("sigsuspend([{}]){}", signal_list(static_cast<std::uint64_t>(r.e.value), false), result);
        case CallId::Sigwait:
            return fmt::format("sigwait([{}]){}", signal_list(static_cast<std::uint64_t>(r.e.value), false),
                               r.e.result > 0 ? fmt::format(" → {}", signal_name(static_cast<int>(r.e.result))) : result);
        case CallId::Sleep: return fmt::format("sleep({}){}", format_duration_ns(r.e.arg), result);
        case CallId::Alarm: return fmt::format("alarm({}){}", r.e.arg, result);
        case CallId::Longjmp:
            return fmt::format("longjmp({}) out of {} handler{}{}", r.e.arg, r.e.value, r.e.value == 1 ? "" : "s",
                               r.e.step > 0 ? fmt::format(" · {} abandoned", call_name(static_cast<CallId>(r.e.step - 1))) : "");
        case CallId::Exec: return fmt::format("exec {}{}", quoted(), r.e.result < 0 ? result : "");
        default: break;
    }
    if (!payload.empty()) return fmt::format("{}({}){}", call_name(c), quoted(), result);
    return fmt::format("{}({}){}", call_name(c), r.e.arg, result);
}

}  // namespace simrun

#include "report/contention.hpp"

#include "util/duration.hpp"
#include "util/json.hpp"

#include <sys/sem.h>

#include <fmt/format.h>

#include <algorithm>

namespace simrun {
namespace {

// An object a take can wait on, as a number (kind in the top byte), so
// that an event costs no string; its name is made once, at first sight.
// 0: the op or call takes from nothing.
enum : std::uint64_t { kSem = 1, kPsem, kQueue, kPipe, kProgramSem, kProgramQueue };
constexpr std::uint64_t key(std::uint64_t kind, std::uint64_t id) { return kind << 56 | (id & ((1ull << 56) - 1)); }

std::uint64_t taken_key(const Plan& plan, const Op& op) {
    switch (op.kind) {
        case OpKind::Semop:
            for (std::uint32_t i = 0; i < op.count; ++i) {
                const SemTerm& t = plan.sem_terms[op.first + i];
                if (t.delta <= 0) return key(kSem, static_cast<std::uint64_t>(plan.sems[op.object].first_value + t.member));
            }
            return 0;
        case OpKind::PsemWait: return key(kPsem, op.object);
        case OpKind::MsgRecv:
        case OpKind::MsgSend: return key(kQueue, op.object);
        case OpKind::PipeRead:
        case OpKind::PipeWrite: return key(kPipe, op.object);
        default: return 0;
    }
}

std::uint64_t taken_key(const ev::Call& c) {
    if (const auto* s = std::get_if<call::Semop>(&c.args)) {
        for (const sembuf& b : s->sops)
            if (b.sem_op <= 0) return key(kProgramSem, static_cast<std::uint64_t>(s->semid) << 16 | b.sem_num);
        return 0;
    }
    if (const auto* m = std::get_if<call::SysvMsg>(&c.args)) return key(kProgramQueue, static_cast<std::uint64_t>(m->msqid));
    return 0;
}

std::string name_of(const Plan& plan, std::uint64_t k, const ev::Call* c) {
    const std::uint64_t id = k & ((1ull << 56) - 1);
    switch (k >> 56) {
        case kSem: return plan.sem_label(static_cast<int>(id));
        case kPsem: return plan.psems[id].name;
        case kQueue: return plan.queues[id].name;
        case kPipe: return "pipe " + plan.pipes[id].name;
        case kProgramSem: {
            const auto* s = c ? std::get_if<call::Semop>(&c->args) : nullptr;
            return fmt::format("{} sem {}", s && s->set ? *s->set : fmt::format("semid {}", id >> 16), id & 0xFFFF);
        }
        default: {
            const auto* m = c ? std::get_if<call::SysvMsg>(&c->args) : nullptr;
            return m && m->queue ? *m->queue : fmt::format("msqid {}", id);
        }
    }
}

}  // namespace

std::size_t Contention::object_index(std::uint64_t k, const ev::Call* c) {
    auto [it, fresh] = by_key_.emplace(k, objects_.size());
    if (fresh) objects_.push_back({name_of(plan_, k, c)});
    return it->second;
}

void Contention::took(std::size_t object, int proc, bool waited, std::uint64_t wait_ns) {
    ObjectContention& o = objects_[object];
    ++o.ops;
    if (waited) ++o.blocked, o.wait_ns += wait_ns, o.longest_ns = std::max(o.longest_ns, wait_ns);
    if (o.last >= 0 && o.last != proc) ++o.handoffs;
    o.last = proc;
}

void Contention::on_event(const Event& e) {
    if (!e.proc.name || e.proc.index == kRunProc) return;
    const int p = e.proc.index;
    auto it = current_.find(p);
    if (it == current_.end() || (procs_[it->second].seen != e.proc.name && procs_[it->second].name != *e.proc.name)) {
        current_[p] = procs_.size();  // first sight, or another child in the same spare slot
        procs_.push_back({*e.proc.name, p, e.proc.name, 0, 0, 0, e.ts, e.ts});
        it = current_.find(p);
    }
    ProcContention& pc = procs_[it->second];
    pc.seen = e.proc.name;
    pc.last_ts = std::max(pc.last_ts, e.ts);
    bool parked = false, woke = false;
    std::uint64_t object = 0;
    const ev::Call* call = nullptr;
    if (const auto* op = std::get_if<ev::ScriptOp>(&e.body)) {
        if (op->half == ev::ScriptOp::Half::Load) return;  // the first half of a racy +=
        parked = op->parked, woke = op->woke;
        object = taken_key(plan_, *op->op);
        if (!parked && op->result < 0) return;  // failed (EINTR, nowait): it took nothing
    } else if ((call = std::get_if<ev::Call>(&e.body))) {
        parked = call->started, woke = call->waited;
        object = taken_key(*call);
        if (!parked && call->result < 0) return;
    } else {
        return;
    }
    if (parked) {
        parked_at_[p] = e.ts;
        return;
    }
    std::uint64_t waited_ns = 0;
    if (woke) {
        if (auto it = parked_at_.find(p); it != parked_at_.end()) {
            waited_ns = e.ts > it->second ? e.ts - it->second : 0;
            parked_at_.erase(it);
        }
        ++pc.waits, pc.blocked_ns += waited_ns, pc.longest_ns = std::max(pc.longest_ns, waited_ns);
    }
    if (object) took(object_index(object, call), p, woke, waited_ns);
}

std::vector<ObjectContention> Contention::objects() const { return objects_; }

std::vector<ProcContention> Contention::processes() const { return procs_; }

std::string Contention::json(const std::vector<Usage>& usage) const {
    std::string out = "{\"objects\":[";
    for (std::size_t i = 0; i < objects_.size(); ++i) {
        const ObjectContention& o = objects_[i];
        out += i ? ",{\"name\":" : "{\"name\":";
        append_json_string(out, o.name);
        out += fmt::format(",\"ops\":{},\"blocked\":{},\"wait_ns\":{},\"longest_ns\":{},\"handoffs\":{}}}", o.ops, o.blocked, o.wait_ns,
                           o.longest_ns, o.handoffs);
    }
    out += "],\"processes\":[";
    bool first = true;
    for (const auto& pc : procs_) {
        out += first ? "{\"name\":" : ",{\"name\":";
        first = false;
        append_json_string(out, pc.name);
        out += fmt::format(",\"waits\":{},\"blocked_ns\":{},\"longest_ns\":{},\"span_ns\":{}", pc.waits, pc.blocked_ns, pc.longest_ns,
                           pc.last_ts - pc.first_ts);
        const auto p = static_cast<std::size_t>(pc.index);
        const Usage u = pc.index >= 0 && p < usage.size() ? usage[p] : Usage{};
        if (u.voluntary >= 0) out += fmt::format(",\"voluntary_switches\":{},\"involuntary_switches\":{}", u.voluntary, u.involuntary);
        if (u.cpu_ns >= 0) out += fmt::format(",\"cpu_ns\":{}", u.cpu_ns);
        out += '}';
    }
    return out + "]}";
}

std::vector<std::string> Contention::lines(const std::vector<Usage>& usage) const {
    std::vector<std::string> out;
    if (!objects_.empty()) out.push_back("contention by object (completed · blocked · total wait · longest · hand-offs):");
    std::size_t w = 0;
    for (const auto& o : objects_) w = std::max(w, o.name.size());
    for (const auto& pc : procs_) w = std::max(w, pc.name.size());
    for (const auto& o : objects_)
        out.push_back(fmt::format("  {:<{}}  {:>8} · {:>8} blocked · {:>10} · {:>10} · {:>8} hand-offs", o.name, w, o.ops, o.blocked,
                                  format_duration_ns(static_cast<std::int64_t>(o.wait_ns)),
                                  format_duration_ns(static_cast<std::int64_t>(o.longest_ns)), o.handoffs));
    if (!procs_.empty())
        out.push_back("time by process (span from its first event to its last · running on a CPU · blocked · the rest: waiting for its turn · waits · "
                      "context switches voluntary/involuntary):");
    for (const auto& pc : procs_) {
        const auto p = static_cast<std::size_t>(pc.index);
        const Usage u = pc.index >= 0 && p < usage.size() ? usage[p] : Usage{};
        const std::int64_t span = static_cast<std::int64_t>(pc.last_ts - pc.first_ts), blocked = static_cast<std::int64_t>(pc.blocked_ns);
        auto share = [&](std::int64_t part) { return span ? fmt::format(" ({:.0f} %)", 100.0 * static_cast<double>(part) / static_cast<double>(span)) : std::string(); };
        const std::string running = u.cpu_ns >= 0 ? format_duration_ns(u.cpu_ns) + share(u.cpu_ns) + " running" : "— running";
        const std::string rest = u.cpu_ns >= 0 ? format_duration_ns(std::max<std::int64_t>(0, span - blocked - u.cpu_ns)) + " waiting its turn" : "—";
        const std::string cs = u.voluntary >= 0 ? fmt::format("{}/{}", u.voluntary, u.involuntary) : "—";
        out.push_back(fmt::format("  {:<{}}  {:>10} · {} · {}{} blocked · {} · {:>6} waits · {}", pc.name, w, format_duration_ns(span), running,
                                  format_duration_ns(blocked), share(blocked), rest, pc.waits, cs));
    }
    return out;
}

}  // namespace simrun

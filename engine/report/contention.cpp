#include "report/contention.hpp"

#include "util/duration.hpp"
#include "util/json.hpp"

#include <sys/sem.h>

#include <fmt/format.h>

#include <algorithm>

namespace simrun {
namespace {

// The object a scripted op takes from (what can make it wait), or "".
std::string taken_object(const Plan& plan, const Op& op) {
    switch (op.kind) {
        case OpKind::Semop:
            for (std::uint32_t i = 0; i < op.count; ++i) {
                const SemTerm& t = plan.sem_terms[op.first + i];
                if (t.delta <= 0) return plan.sem_label(plan.sems[op.object].first_value + t.member);
            }
            return {};
        case OpKind::PsemWait: return plan.psems[op.object].name;
        case OpKind::MsgRecv:
        case OpKind::MsgSend: return plan.queues[op.object].name;
        case OpKind::PipeRead:
        case OpKind::PipeWrite: return "pipe " + plan.pipes[op.object].name;
        default: return {};
    }
}

// A program's call that can wait on an object: its name, or "".
std::string taken_object(const ev::Call& c) {
    if (const auto* s = std::get_if<call::Semop>(&c.args)) {
        for (const sembuf& b : s->sops)
            if (b.sem_op <= 0) return fmt::format("{} sem {}", s->set ? *s->set : fmt::format("semid {}", s->semid), b.sem_num);
        return {};
    }
    if (const auto* m = std::get_if<call::SysvMsg>(&c.args)) return m->queue ? *m->queue : fmt::format("msqid {}", m->msqid);
    return {};
}

}  // namespace

std::size_t Contention::object_index(const std::string& name) {
    auto [it, fresh] = by_name_.emplace(name, objects_.size());
    if (fresh) objects_.push_back({name});
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
    ProcContention& pc = procs_[p];
    if (pc.name.empty()) pc.name = *e.proc.name, pc.first_ts = e.ts;
    pc.last_ts = std::max(pc.last_ts, e.ts);
    bool parked = false, woke = false;
    std::string object;
    if (const auto* op = std::get_if<ev::ScriptOp>(&e.body)) {
        if (op->half == ev::ScriptOp::Half::Load) return;  // the first half of a racy +=
        parked = op->parked, woke = op->woke;
        object = taken_object(plan_, *op->op);
        if (!parked && op->result < 0) return;  // failed (EINTR, nowait): it took nothing
    } else if (const auto* c = std::get_if<ev::Call>(&e.body)) {
        parked = c->started, woke = c->waited;
        object = taken_object(*c);
        if (!parked && c->result < 0) return;
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
    if (!object.empty()) took(object_index(object), p, woke, waited_ns);
}

std::vector<ObjectContention> Contention::objects() const { return objects_; }

std::vector<ProcContention> Contention::processes() const {
    std::vector<ProcContention> out;
    for (const auto& [p, pc] : procs_) out.push_back(pc);
    return out;
}

std::string Contention::json() const {
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
    for (const auto& [p, pc] : procs_) {
        out += first ? "{\"name\":" : ",{\"name\":";
        first = false;
        append_json_string(out, pc.name);
        out += fmt::format(",\"waits\":{},\"blocked_ns\":{},\"longest_ns\":{},\"span_ns\":{}}}", pc.waits, pc.blocked_ns, pc.longest_ns,
                           pc.last_ts - pc.first_ts);
    }
    return out + "]}";
}

std::vector<std::string> Contention::lines(const std::vector<std::pair<std::int64_t, std::int64_t>>& switches) const {
    std::vector<std::string> out;
    if (!objects_.empty()) out.push_back("contention by object (completed · blocked · total wait · longest · hand-offs):");
    std::size_t w = 0;
    for (const auto& o : objects_) w = std::max(w, o.name.size());
    for (const auto& [p, pc] : procs_) w = std::max(w, pc.name.size());
    for (const auto& o : objects_)
        out.push_back(fmt::format("  {:<{}}  {:>8} · {:>8} blocked · {:>10} · {:>10} · {:>8} hand-offs", o.name, w, o.ops, o.blocked,
                                  format_duration_ns(static_cast<std::int64_t>(o.wait_ns)),
                                  format_duration_ns(static_cast<std::int64_t>(o.longest_ns)), o.handoffs));
    if (!procs_.empty()) out.push_back("time by process (from its first event to its last · blocked · waits · context switches voluntary/involuntary):");
    for (const auto& [p, pc] : procs_) {
        const std::uint64_t span = pc.last_ts - pc.first_ts;
        const double share = span ? 100.0 * static_cast<double>(pc.blocked_ns) / static_cast<double>(span) : 0.0;
        std::string cs = "—";
        if (p >= 0 && static_cast<std::size_t>(p) < switches.size() && switches[static_cast<std::size_t>(p)].first >= 0)
            cs = fmt::format("{}/{}", switches[static_cast<std::size_t>(p)].first, switches[static_cast<std::size_t>(p)].second);
        out.push_back(fmt::format("  {:<{}}  {:>10} · {:>10} blocked ({:.0f} %) · {:>8} waits · {}", pc.name, w,
                                  format_duration_ns(static_cast<std::int64_t>(span)), format_duration_ns(static_cast<std::int64_t>(pc.blocked_ns)),
                                  share, pc.waits, cs));
    }
    return out;
}

}  // namespace simrun

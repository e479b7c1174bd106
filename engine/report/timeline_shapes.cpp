#include "report/timeline_shapes.hpp"

#include "report/timeline.hpp"

#include <fmt/format.h>

namespace simrun {
namespace {

// The pid an event's body names as its own, if it names one.
std::int64_t own_pid(const Event& e) {
    return std::visit(Overloaded{[](const ev::Call& c) -> std::int64_t { return c.pid; }, [](const ev::Exec& x) -> std::int64_t { return x.pid; },
                                 [](const ev::ExecFailed& x) -> std::int64_t { return x.pid; }, [](const auto&) -> std::int64_t { return 0; }},
                      e.body);
}

}  // namespace

TimelineShapes::TimelineShapes(const Plan& plan, std::uint64_t t0) : plan_(plan), t0_(t0), last_ts_(t0) {}

int TimelineShapes::track(const Event& e) {
    // By name: a spare slot passes from a child that ended to the next.
    auto [it, fresh] = tid_by_name_.emplace(*e.proc.name, static_cast<int>(tid_by_name_.size()) + 1);
    const int tid = it->second;
    if (!fresh) return tid;
    // First sight of this process: its name and its place in the fork tree
    // (a declared process by its index, a program's child after its root).
    const bool declared = e.proc.index < plan_.processes.size();
    const int column = declared ? static_cast<int>(e.proc.index) : std::max(e.proc.column, 0);
    const int order = column * 10000 + (declared ? 0 : ++children_of_column_[column]);
    emit_track(tid, *e.proc.name, order);
    last_slice_[tid] = rel(e.ts);
    // A program's child: the arrow from its parent's fork, to a mark where
    // the child starts (not before the fork returned in the parent).
    if (auto it = forks_.find(own_pid(e)); it != forks_.end()) {
        const std::uint64_t at = std::max(rel(e.ts), it->second.ts);
        slice(tid, at, 0, "started (fork)", false);
        flow(it->second, tid, at, "fork");
        forks_.erase(it);
    }
    return tid;
}

void TimelineShapes::slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked) {
    emit_slice(tid, ts, dur, name, blocked);
    last_slice_[tid] = ts;
}

// From the slice that starts at from.ts on from.tid to the slice of tid that holds ts.
void TimelineShapes::flow(const Mark& from, int tid, std::uint64_t ts, const char* cat) {
    if (from.tid == tid) return;
    emit_flow(from.tid, from.ts, tid, ts, cat);
}

void TimelineShapes::signal_sent(std::int64_t from_pid, int signal, const Mark& here) {
    if (from_pid > 0) kills_[{from_pid, signal}] = here;
}

void TimelineShapes::signal_handled(std::int64_t from_pid, int signal, int tid, std::uint64_t ts) {
    auto it = kills_.find({from_pid, signal});
    if (it == kills_.end()) return;
    flow(it->second, tid, ts, "signal");
    kills_.erase(it);
}

void TimelineShapes::call(int tid, const Event& e, const ev::Call& c) {
    const std::uint64_t now = rel(e.ts);
    if (c.pid > 0) pid_of_tid_[tid] = c.pid, tid_of_pid_[c.pid] = tid;
    if (c.started) {
        parked_[tid].push_back(now);
        return;
    }
    std::uint64_t start = now;
    bool blocked = false;
    if (auto& waits = parked_[tid]; c.waited && !waits.empty()) start = waits.back(), blocked = true, waits.pop_back();
    slice(tid, start, now - start, describe_event(plan_, e), blocked);
    const Mark here{tid, start};
    if (c.id == CallId::Fork && c.result > 0) {
        // The child may have shown first (it ran before fork returned here).
        if (auto child = tid_of_pid_.find(c.result); child != tid_of_pid_.end() && child->second != tid) {
            slice(child->second, now, 0, "started (fork)", false);
            flow(here, child->second, now, "fork");
        } else {
            forks_[c.result] = here;
        }
    }
    if (auto* k = std::get_if<call::SendSignal>(&c.args); k && c.result == 0) signal_sent(c.pid, k->signal, here);
    if (auto* h = std::get_if<call::Handler>(&c.args)) signal_handled(h->from_pid, h->signal, tid, start);
}

void TimelineShapes::script_op(int tid, const Event& e, const ev::ScriptOp& o) {
    const std::uint64_t now = rel(e.ts);
    const Op& op = *o.op;
    if (o.parked) {
        parked_[tid].push_back(now);
        return;
    }
    std::uint64_t start = now;
    bool blocked = false;
    if (auto& waits = parked_[tid]; o.woke && !waits.empty()) start = waits.back(), blocked = true, waits.pop_back();
    slice(tid, start, now - start, describe_event(plan_, e), blocked);
    if (o.result < 0 || o.half == ev::ScriptOp::Half::Load) return;
    const std::string target = op_target(plan_, op);
    const Mark here{tid, start};
    // A flow ends where the waiting ended, still inside the blocked slice.
    const std::uint64_t arrive = now > start ? now - 1 : start;
    switch (op.kind) {
        case OpKind::Semop: {
            bool releases = false;
            for (std::uint32_t i = 0; i < op.count; ++i) releases = releases || plan_.sem_terms[op.first + i].delta > 0;
            if (releases) {
                last_release_["sem " + target] = here;
            } else if (o.woke) {
                if (auto it = last_release_.find("sem " + target); it != last_release_.end()) flow(it->second, tid, arrive, "wake");
            }
            if (o.value) emit_counter(now, target, *o.value);
            break;
        }
        case OpKind::PsemPost: last_release_["psem " + target] = here; if (o.value) emit_counter(now, target, *o.value); break;
        case OpKind::PsemWait:
            if (o.woke)
                if (auto it = last_release_.find("psem " + target); it != last_release_.end()) flow(it->second, tid, arrive, "wake");
            if (o.value) emit_counter(now, target, *o.value);
            break;
        case OpKind::MsgSend: sends_[target].push_back(here); break;
        case OpKind::MsgRecv:
            if (auto& q = sends_[target]; !q.empty()) {
                flow(q.front(), tid, arrive, "message");
                q.pop_front();
            }
            break;
        case OpKind::PipeWrite: last_release_["pipe " + target] = here; break;
        case OpKind::PipeRead:
            if (o.result > 0)
                if (auto it = last_release_.find("pipe " + target); it != last_release_.end()) flow(it->second, tid, arrive, "data");
            break;
        case OpKind::ShmStore:
        case OpKind::ShmAdd:
            if (o.value) emit_counter(now, target, *o.value);
            break;
        case OpKind::Kill:
            if (auto pid = pid_of_tid_.find(tid); pid != pid_of_tid_.end())
                signal_sent(pid->second, static_cast<int>(op.slot), here);
            break;
        default: break;
    }
}

void TimelineShapes::on_event(const Event& e) {
    last_ts_ = std::max(last_ts_, e.ts);
    last_tid_ = 0;
    if (std::holds_alternative<ev::RunStart>(e.body) || std::holds_alternative<ev::RunEnd>(e.body) || !e.proc.name ||
        e.proc.index == kRunProc)
        return;
    const int tid = last_tid_ = track(e);
    const std::uint64_t now = rel(e.ts);
    std::visit(Overloaded{
                   [&](const ev::ScriptOp& o) { script_op(tid, e, o); },
                   [&](const ev::Call& c) { call(tid, e, c); },
                   [&](const ev::Spawn& s) {
                       slice(tid, now, 0, describe_event(plan_, e), false);
                       if (s.pid > 0) tid_of_pid_[s.pid] = tid, pid_of_tid_[tid] = s.pid;
                       if (auto it = tid_of_pid_.find(s.parent_pid); it != tid_of_pid_.end())
                           flow({it->second, last_slice_[it->second]}, tid, now, "fork");
                   },
                   [&](const ev::Signal& s) {
                       // The instant marks the delivery; a zero-length slice is
                       // where a flow from its sender can end.
                       const std::string text = describe_event(plan_, e);
                       emit_instant(tid, now, text);
                       slice(tid, now, 0, text, false);
                       signal_handled(s.from_pid, s.signal, tid, now);
                   },
                   [&](const ev::Fault&) { emit_instant(tid, now, describe_event(plan_, e)); },
                   [&](const ev::Undo&) { emit_instant(tid, now, describe_event(plan_, e)); },
                   [&](const ev::Exit&) {
                       if (const std::string text = describe_event(plan_, e); !text.empty()) emit_instant(tid, now, text);
                   },
                   [&](const auto&) {
                       if (const std::string text = describe_event(plan_, e); !text.empty()) slice(tid, now, 0, text, false);
                   },
               },
               e.body);
}

void TimelineShapes::close(const std::vector<AlwaysBreak>& breaks) {
    for (auto& [tid, waits] : parked_)
        for (; !waits.empty(); waits.pop_back()) slice(tid, waits.back(), rel(last_ts_) - waits.back(), "still waiting when the run ended", true);
    for (const auto& b : breaks) {
        auto it = tid_by_name_.find(b.proc);
        emit_instant(it != tid_by_name_.end() ? it->second : 0, rel(b.ts), "expectation '" + b.expectation + "' first broke here");
    }
}

}  // namespace simrun

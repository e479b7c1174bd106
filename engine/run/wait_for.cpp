#include "run/wait_for.hpp"

#include "trace/record.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace simrun {
namespace {

class Builder {
public:
    Builder(const Plan& plan, const WaitSnapshot& snap) : plan_(plan), snap_(snap) {}

    WaitFor waits_for(int p) const {
        WaitFor w{p, name_of(p), {}, {}};
        const WaitSnapshot::Proc& s = snap_.procs[p];
        if (!declared(p)) {  // a program's child: what the tracer published
            program_wait(p, s, w);
            return w;
        }
        const PlanProcess& pp = plan_.processes[p];
        if (s.state == ProcState::WaitingChildren) {
            std::string kids;
            for (int c : pp.children)
                if (alive(c)) kids += (kids.empty() ? "" : ", ") + plan_.processes[c].name, w.edges.push_back(c);
            w.text = fmt::format("waits for its children ({})", kids);
            return w;
        }
        if (pp.is_exec()) {  // the preload tracer publishes the call it is parked in
            program_wait(p, s, w);
            return w;
        }
        const Op& op = plan_.ops[s.op];
        w.text = fmt::format("waits in '{}'", plan_.op_text[s.op]);
        switch (op.kind) {
            case OpKind::Semop: semop(p, op, w); break;
            case OpKind::PsemWait: psem_wait(p, op, w); break;
            case OpKind::MsgRecv: others_doing(p, op, OpKind::MsgSend, w); break;  // an empty queue: a sender
            case OpKind::MsgSend: others_doing(p, op, OpKind::MsgRecv, w); break;  // a full one: a receiver
            case OpKind::FifoOpen: fifo_open(p, op, w); break;
            case OpKind::PipeRead:
            case OpKind::PipeWrite: {
                const auto& ends = op.kind == OpKind::PipeRead ? plan_.pipes[op.object].writers : plan_.pipes[op.object].readers;
                for (int q : ends)
                    if (q >= 0 && alive(q) && q != p) w.edges.push_back(q);
                break;
            }
            default: break;
        }
        return w;
    }

    std::vector<std::string> dead_holders() const {
        std::vector<std::string> out;
        for (const PlanSemSet& set : plan_.sems)
            for (std::size_t m = 0; m < set.members.size(); ++m) {
                const int flat = set.first_value + static_cast<int>(m);
                const int taker = at(snap_.last_taker, flat);
                if (taker < 0 || alive(taker) || at(snap_.sem_values, flat) != 0) continue;
                out.push_back(fmt::format("{} = 0: last taken by {}, which died{}", plan_.sem_label(flat), plan_.processes[taker].name,
                                          set.undo ? "" : " (the set has no SEM_UNDO)"));
            }
        return out;
    }

    std::string name_of(int q) const { return declared(q) ? plan_.processes[q].name : snap_.procs[q].name; }

private:
    static int at(const std::vector<int>& v, int i) { return i >= 0 && static_cast<std::size_t>(i) < v.size() ? v[i] : -1; }
    bool declared(int q) const { return static_cast<std::size_t>(q) < plan_.processes.size(); }
    bool alive(int q) const { return q >= 0 && static_cast<std::size_t>(q) < snap_.procs.size() && snap_.procs[q].alive; }
    std::string name(int q) const { return name_of(q) + (alive(q) ? "" : " (dead)"); }

    // A program is parked in the call its tracer published; a wait for its
    // children waits for them.
    void program_wait(int p, const WaitSnapshot::Proc& s, WaitFor& w) const {
        const auto call = static_cast<CallId>(s.call);
        w.text = fmt::format("waits in its {} (a program: its calls are in the trace)", call_name(call));
        if (call == CallId::Wait) {
            std::string names;
            for (int c : s.children)
                if (alive(c) && c != p) w.edges.push_back(c), names += (names.empty() ? "" : ", ") + name(c);
            if (!names.empty()) w.text = "waits in its wait, for " + names;
        }
        if ((call == CallId::Msgrcv || call == CallId::Msgsnd) && s.sem_id >= 0) program_queue_wait(p, s, w);
        if ((call == CallId::Read || call == CallId::Write) && !s.pipe.empty()) {
            // The other end: whoever holds it open; itself too (a write end it forgot to close).
            std::string names;
            for (int q : s.pipe_ends) {
                names += (names.empty() ? "" : ", ") + (q == p ? "itself" : name(q));
                if (q != p && alive(q)) w.edges.push_back(q);
            }
            const bool reads = call == CallId::Read;
            w.text = fmt::format("waits in its {}(fd {}, {}); the {} end is open in {}", call_name(call), s.sem_id, s.pipe,
                                 reads ? "write" : "read", names.empty() ? "no process" : names);
        }
        if (call == CallId::Pause || call == CallId::Sigsuspend || call == CallId::Sigwait) {
            // A signal can come from whoever has sent one before.
            std::string names;
            for (int q : snap_.program_signalers)
                if (q != p) {
                    names += (names.empty() ? "" : ", ") + name(q);
                    if (alive(q)) w.edges.push_back(q);
                }
            w.text = fmt::format("waits for a signal in its {}; signals sent so far by {}", call_name(call), names.empty() ? "nobody else" : names);
        }
        if ((call == CallId::Semop) && s.sem_id >= 0 && s.sem_op <= 0) {
            // As for a script's P: the last taker, else whoever gave it back before.
            const std::pair<int, int> sem{s.sem_id, s.sem_num};
            const auto taker = snap_.program_takers.find(sem);
            const int by = taker == snap_.program_takers.end() ? -1 : taker->second;
            w.text = fmt::format("waits in its semop(semid {}, sem {} {:+}): last taken by {}", s.sem_id, s.sem_num, s.sem_op,
                                 by < 0 ? "nobody" : by == p ? "itself" : name(by));
            if (by >= 0 && by != p && alive(by)) {
                w.edges.push_back(by);
            } else if (auto rel = snap_.program_releasers.find(sem); rel != snap_.program_releasers.end()) {
                for (int q : rel->second)
                    if (q != p && alive(q)) w.edges.push_back(q);
            }
        }
    }

    // A receive waits for those who have sent to the queue, a send to a full
    // queue for those who have received from it: the edges go to the live
    // ones; the text names all, the dead too.
    void program_queue_wait(int p, const WaitSnapshot::Proc& s, WaitFor& w) const {
        const bool receives = static_cast<CallId>(s.call) == CallId::Msgrcv;
        const auto& by = receives ? snap_.program_senders : snap_.program_receivers;
        std::string names;
        if (auto it = by.find(s.sem_id); it != by.end())
            for (int q : it->second) {
                if (q == p) continue;
                names += (names.empty() ? "" : ", ") + name(q);
                if (alive(q)) w.edges.push_back(q);
            }
        const auto held = snap_.queue_messages.find(s.sem_id);
        const std::string state = held == snap_.queue_messages.end() ? std::string()
                                  : receives && held->second == 0 ? std::string("; the queue is empty")
                                  : receives ? fmt::format("; {} message{} in the queue, none of that type", held->second,
                                                           held->second == 1 ? "" : "s")
                                             : fmt::format("; the queue is full ({} messages)", held->second);
        w.text = receives ? fmt::format("waits in its msgrcv(msqid {}, type {}){}; sent to by {}", s.sem_id, s.sem_op, state,
                                        names.empty() ? "nobody yet" : names)
                          : fmt::format("waits in its msgsnd(msqid {}, type {}){}; received from by {}", s.sem_id, s.sem_op, state,
                                        names.empty() ? "nobody yet" : names);
    }

    // Does process q have an op of this kind on this object (and, if
    // `accept` says so, of the right sort)?
    template <typename Accept>
    bool has_op(int q, OpKind kind, std::uint32_t object, Accept accept) const {
        const PlanProcess& qp = plan_.processes[q];
        for (std::uint32_t k = qp.first_op; k < qp.first_op + qp.op_count; ++k)
            if (plan_.ops[k].kind == kind && plan_.ops[k].object == object && accept(plan_.ops[k])) return true;
        return false;
    }

    void semop(int p, const Op& op, WaitFor& w) const {
        for (std::uint32_t i = 0; i < op.count; ++i) {
            const SemTerm& t = plan_.sem_terms[op.first + i];
            if (t.delta > 0) continue;
            const int flat = plan_.sems[op.object].first_value + t.member;
            std::vector<int> releasers;
            std::string names;
            for (int q = 0; q < static_cast<int>(plan_.processes.size()); ++q) {
                const bool releases = has_op(q, OpKind::Semop, op.object, [&](const Op& o) {
                    for (std::uint32_t j = 0; j < o.count; ++j)
                        if (plan_.sem_terms[o.first + j].member == t.member && plan_.sem_terms[o.first + j].delta > 0) return true;
                    return false;
                });
                if (!releases || !alive(q) || q == p) continue;
                releasers.push_back(q);
                names += (names.empty() ? "" : ", ") + plan_.processes[q].name;
            }
            // The edge goes to whoever took it last (the holder, for a
            // lock); with no taker known, to whoever could release it.
            const int taker = at(snap_.last_taker, flat);
            if (taker >= 0 && taker != p && alive(taker)) w.edges.push_back(taker);
            else if (taker < 0) w.edges.insert(w.edges.end(), releasers.begin(), releasers.end());
            w.text += fmt::format(" ({} = {}; last taken by {}; {})", plan_.sem_label(flat), at(snap_.sem_values, flat),
                                  taker < 0 ? "nobody" : name(taker),
                                  names.empty() ? "no live process can release it" : "could be released by " + names);
        }
    }

    void psem_wait(int p, const Op& op, WaitFor& w) const {
        std::string posters;
        for (int q = 0; q < static_cast<int>(plan_.processes.size()); ++q)
            if (q != p && alive(q) && has_op(q, OpKind::PsemPost, op.object, [](const Op&) { return true; })) {
                w.edges.push_back(q);
                posters += (posters.empty() ? "" : ", ") + plan_.processes[q].name;
            }
        w.text += fmt::format(" ({}.value = {}; {})", plan_.psems[op.object].name, at(snap_.psem_values, static_cast<int>(op.object)),
                              posters.empty() ? "no live process can post it" : "could be posted by " + posters);
    }

    void others_doing(int p, const Op& op, OpKind other, WaitFor& w) const {
        for (int q = 0; q < static_cast<int>(plan_.processes.size()); ++q)
            if (q != p && alive(q) && has_op(q, other, op.object, [](const Op&) { return true; })) w.edges.push_back(q);
    }

    // A read-open waits for a writer to open, a write-open for a reader.
    void fifo_open(int p, const Op& op, WaitFor& w) const {
        for (int q = 0; q < static_cast<int>(plan_.processes.size()); ++q)
            if (q != p && alive(q) && has_op(q, OpKind::FifoOpen, op.object, [&](const Op& o) { return o.value != op.value; }))
                w.edges.push_back(q);
    }

    const Plan& plan_;
    const WaitSnapshot& snap_;
};

}  // namespace

std::vector<int> first_cycle(const std::vector<std::vector<int>>& edges) {
    const int n = static_cast<int>(edges.size());
    std::vector<int> state(edges.size(), 0), path, cycle;  // state: 0 new, 1 on the path, 2 done
    // Iterative depth-first search: (node, next edge to follow).
    for (int root = 0; root < n && cycle.empty(); ++root) {
        if (state[root] != 0) continue;
        std::vector<std::pair<int, std::size_t>> stack{{root, 0}};
        state[root] = 1;
        path.assign(1, root);
        while (!stack.empty() && cycle.empty()) {
            auto& [u, next] = stack.back();
            if (next == edges[u].size()) {
                state[u] = 2;
                stack.pop_back();
                path.pop_back();
                continue;
            }
            const int v = edges[u][next++];
            if (v < 0 || v >= n) continue;
            if (state[v] == 1) {
                cycle.assign(std::find(path.begin(), path.end(), v), path.end());
                cycle.push_back(v);
            } else if (state[v] == 0) {
                state[v] = 1;
                path.push_back(v);
                stack.emplace_back(v, 0);
            }
        }
    }
    return cycle;
}

std::string cycle_text(const WaitForGraph& g) {
    std::string c;
    for (int q : g.cycle) c += (c.empty() ? "" : " → ") + g.names[static_cast<std::size_t>(q)];
    return c;
}

WaitForGraph build_wait_for(const Plan& plan, const WaitSnapshot& snap) {
    Builder b(plan, snap);
    WaitForGraph g;
    std::vector<std::vector<int>> edges(snap.procs.size());
    for (std::size_t p = 0; p < snap.procs.size(); ++p) g.names.push_back(b.name_of(static_cast<int>(p)));
    for (std::size_t p = 0; p < snap.procs.size(); ++p) {
        if (!snap.procs[p].alive || !snap.procs[p].waits) continue;
        g.waits.push_back(b.waits_for(static_cast<int>(p)));
        edges[p] = g.waits.back().edges;
    }
    g.cycle = first_cycle(edges);
    g.dead_holders = b.dead_holders();
    return g;
}

}  // namespace simrun

#include "run/wait_for.hpp"

#include "trace/record.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace simrun {
namespace {

class Builder {
public:
    Builder(const Plan& plan, const WaitSnapshot& snap) : plan_(plan), snap_(snap) {}

    WaitFor waits_for(int p) const {
        WaitFor w{p, name_of(p), {}, {}, {}, {}};
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
            w.op = "wait for its children";
            return w;
        }
        if (pp.is_exec()) {  // the preload tracer publishes the call it is parked in
            program_wait(p, s, w);
            return w;
        }
        const Op& op = plan_.ops[s.op];
        w.text = fmt::format("waits in '{}'", plan_.op_text[s.op]);
        w.op = plan_.op_text[s.op];
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
                w.objects.push_back({"pipe " + plan_.pipes[op.object].name, "pipe", w.edges, false});
                break;
            }
            default: break;
        }
        if (op.kind == OpKind::MsgRecv || op.kind == OpKind::MsgSend)
            w.objects.push_back({plan_.queues[op.object].name, "queue", w.edges, false});
        if (op.kind == OpKind::FifoOpen) w.objects.push_back({plan_.pipes[op.object].name, "FIFO", w.edges, false});
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
        w.op = fmt::format("its {}", call_name(call));
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
            w.objects.push_back({s.pipe, "pipe", w.edges, false});
            w.text = fmt::format("waits in its {}(fd {}, {}){}; the {} end is open in {}", call_name(call), s.sem_id, s.pipe,
                                 s.untraced_read ? " inside libc (scanf, fgets)" : "", reads ? "write" : "read", names.empty() ? "no process" : names);
            if (s.untraced_read)
                w.text += " (whatever it printed through stdio into a pipe may still sit in its buffer: a program that answers "
                          "and then reads must fflush(stdout))";
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
            WaitObject object{fmt::format("semid {} sem {}", s.sem_id, s.sem_num), "semaphore", {}, false};
            if (by >= 0 && by != p && alive(by)) {
                object.holders.push_back(by), object.held = true;
            } else if (auto rel = snap_.program_releasers.find(sem); rel != snap_.program_releasers.end()) {
                for (int q : rel->second)
                    if (q != p && alive(q)) object.holders.push_back(q);
            }
            w.edges.insert(w.edges.end(), object.holders.begin(), object.holders.end());
            w.op = fmt::format("its semop(sem {} {:+})", s.sem_num, s.sem_op);
            w.objects.push_back(std::move(object));
        }
    }

    // A receive waits for those who have sent to the queue, a send to a full
    // queue for those who have received from it: the edges go to the live
    // ones; the text names all, the dead too.
    void program_queue_wait(int p, const WaitSnapshot::Proc& s, WaitFor& w) const {
        const bool receives = static_cast<CallId>(s.call) == CallId::Msgrcv;
        const auto& by = receives ? snap_.program_senders : snap_.program_receivers;
        std::string names;
        WaitObject object{fmt::format("msqid {}", s.sem_id), "queue", {}, false};
        if (auto it = by.find(s.sem_id); it != by.end())
            for (int q : it->second) {
                if (q == p) continue;
                names += (names.empty() ? "" : ", ") + name(q);
                if (alive(q)) w.edges.push_back(q), object.holders.push_back(q);
            }
        w.objects.push_back(std::move(object));
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
            WaitObject object{plan_.sem_label(flat), "semaphore", {}, false};
            if (taker >= 0 && taker != p && alive(taker)) object.holders.push_back(taker), object.held = true;
            else if (taker < 0) object.holders = releasers;
            w.edges.insert(w.edges.end(), object.holders.begin(), object.holders.end());
            w.objects.push_back(std::move(object));
            w.text += fmt::format(" ({} = {}; last taken by {}; {})", plan_.sem_label(flat), at(snap_.sem_values, flat),
                                  taker < 0 ? "nobody" : name(taker),
                                  names.empty() ? "no live process can release it" : "could be released by " + names);
        }
    }

    void psem_wait(int p, const Op& op, WaitFor& w) const {
        std::string posters;
        WaitObject object{plan_.psems[op.object].name, "semaphore", {}, false};
        for (int q = 0; q < static_cast<int>(plan_.processes.size()); ++q)
            if (q != p && alive(q) && has_op(q, OpKind::PsemPost, op.object, [](const Op&) { return true; })) {
                w.edges.push_back(q);
                object.holders.push_back(q);
                posters += (posters.empty() ? "" : ", ") + plan_.processes[q].name;
            }
        w.objects.push_back(std::move(object));
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

namespace {

std::string dot_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + '"';
}

}  // namespace

std::string wait_for_dot(const WaitForGraph& g, const std::string& title) {
    // The cycle's steps p -> q, each drawn red wherever it goes.
    std::set<std::pair<int, int>> in_cycle;
    for (std::size_t i = 0; i + 1 < g.cycle.size(); ++i) in_cycle.insert({g.cycle[i], g.cycle[i + 1]});
    const char* red = " color=red fontcolor=red penwidth=2";
    std::string out = fmt::format("digraph wait_for {{\n  label={};\n  labelloc=t;\n  node [fontname=\"sans\"];\n  edge [fontname=\"sans\", fontsize=10];\n",
                                  dot_string(title + (g.cycle.empty() ? "" : ", cycle " + cycle_text(g))));
    std::set<int> procs;
    for (const WaitFor& w : g.waits) {
        procs.insert(w.proc);
        procs.insert(w.edges.begin(), w.edges.end());
    }
    for (int p : procs) {
        const bool cyc = std::find(g.cycle.begin(), g.cycle.end(), p) != g.cycle.end();
        out += fmt::format("  p{} [label={} shape=ellipse{}];\n", p, dot_string(g.names.at(static_cast<std::size_t>(p))),
                           cyc ? " color=red penwidth=2" : "");
    }
    std::map<std::string, int> object_ids;
    std::set<std::string> object_edges;  // "o1->p2", once each
    for (const WaitFor& w : g.waits) {
        std::set<int> through;
        for (const WaitObject& o : w.objects) {
            auto [it, fresh] = object_ids.emplace(o.kind + " " + o.name, static_cast<int>(object_ids.size()));
            if (fresh) out += fmt::format("  o{} [label={} shape=box];\n", it->second, dot_string(o.name + "\n(" + o.kind + ")"));
            bool cyc = false;
            for (int q : o.holders) cyc = cyc || in_cycle.count({w.proc, q});
            out += fmt::format("  p{} -> o{} [label={}{}];\n", w.proc, it->second, dot_string(w.op.empty() ? "waits" : w.op), cyc ? red : "");
            for (int q : o.holders) {
                through.insert(q);
                if (!object_edges.insert(fmt::format("o{}->p{}", it->second, q)).second) continue;
                out += fmt::format("  o{} -> p{} [label={}{}];\n", it->second, q, dot_string(o.held ? "held by" : "could release"),
                                   in_cycle.count({w.proc, q}) ? red : " style=dashed");
            }
        }
        for (int q : w.edges)
            if (!through.count(q))
                out += fmt::format("  p{} -> p{} [label={}{}];\n", w.proc, q, dot_string(w.op.empty() ? "waits for" : w.op),
                                   in_cycle.count({w.proc, q}) ? red : "");
    }
    return out + "}\n";
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

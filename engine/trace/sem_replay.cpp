#include "trace/sem_replay.hpp"

#include "trace/call_format.hpp"

#include <sys/ipc.h>
#include <sys/sem.h>

#include <algorithm>
#include <cstring>

namespace simrun {

constexpr int kSemValueMax = 32767;  // SEMVMX

SemReplay::SemReplay(const Plan& plan) : plan_(plan), semadj_(plan.processes.size()) {
    for (const auto& s : plan.sems) values_.insert(values_.end(), s.initial.begin(), s.initial.end());
}

// The kernel applies proc's SEM_UNDO adjustments as it exits: Undo records
// dated like `at`. e.arg: the declared semaphore (flat index), or -1 for a
// program's set (e.pid its id, e.op the member); e.err: the adjustment;
// e.result and e.value: the value before and after (e.iter 0: not known).
void SemReplay::exited(std::uint16_t proc, const Record& at, std::vector<Record>& undo) {
    auto record = [&](std::int64_t flat, int semid, int num, int adj, int& value, bool known) {
        Record u = at;
        u.kind = EventKind::Undo;
        u.proc = proc;
        u.flags = kRecValue;
        u.e.arg = flat, u.e.pid = semid, u.e.op = static_cast<std::uint32_t>(num), u.e.err = adj;
        u.e.result = value;
        if (known) value = std::clamp(value + adj, 0, kSemValueMax);
        u.e.value = value;
        u.e.iter = known;
        undo.push_back(u);
    };
    if (proc < semadj_.size()) {
        auto& adj = semadj_[proc];
        for (std::size_t i = 0; i < adj.size(); ++i)
            if (adj[i] != 0) record(static_cast<std::int64_t>(i), -1, 0, adj[i], values_[i], true);
        adj.clear();
    }
    if (auto it = program_adj_.find(proc); it != program_adj_.end()) {
        for (const auto& [sem, adj] : it->second) {
            if (adj == 0) continue;
            ProgramSet& set = program_sets_[sem.first];
            set.fit(static_cast<std::size_t>(sem.second) + 1);
            int value = set.values[sem.second];
            const bool known = set.known[sem.second];
            record(-1, sem.first, sem.second, adj, value, known);
            set.values[sem.second] = value;
        }
        program_adj_.erase(it);
    }
}

void SemReplay::annotate(Record& r, std::vector<Record>& undo, std::string_view payload, std::vector<Record>* before) {
    if (r.kind == EventKind::Exit) return exited(r.proc, r, undo);
    // A traced program's child (a spare slot) ends with no Exit record of
    // its own: its exit call, its parent's wait or simrun's reaping says so.
    if (r.kind == EventKind::Reaped || (r.kind == EventKind::Call && static_cast<CallId>(r.e.op) == CallId::Wait && r.e.result > 0)) {
        auto pid = r.kind == EventKind::Reaped ? r.e.pid : static_cast<std::int32_t>(r.e.result);
        for (auto& [child_pid, child] : children_)
            if (child_pid == pid && child >= 0) exited(static_cast<std::uint16_t>(child), r, undo), child = -1;
        return;
    }
    if (r.kind == EventKind::Call) {
        const auto call = static_cast<CallId>(r.e.op);
        if (call == CallId::Attach && r.proc >= plan_.processes.size()) children_.emplace_back(static_cast<std::int32_t>(r.e.value), r.proc);
        if (call == CallId::Exit) {
            for (auto& [child_pid, child] : children_)
                if (child == r.proc) child = -1;
            return exited(r.proc, r, undo);
        }
        if (r.e.result < 0 || (r.flags & kRecCallStart)) return;  // failed, or only started: nothing changed
        if (call == CallId::Semget) return program_semget(r);
        if (call == CallId::Semctl) return program_semctl(r, payload);
        return program_semop(r, payload);
    }
    if ((r.kind != EventKind::Op && r.kind != EventKind::Block) || r.proc >= semadj_.size()) return;
    const Op& op = plan_.ops[r.e.op];
    if (op.kind == OpKind::Semctl && r.kind == EventKind::Op && r.e.result >= 0 && (op.count == kSetall || op.count == kGetall)) {
        // SETALL sets every value (and clears every adjustment); GETALL reads them.
        const int first = plan_.sems[op.object].first_value;
        const std::size_t n = plan_.sems[op.object].members.size();
        for (std::size_t m = 0; m < n; ++m) {
            if (op.count == kSetall) values_[first + m] = plan_.sem_terms[op.first + m].delta;
            else if (payload.size() >= (m + 1) * sizeof(std::int32_t)) {
                std::int32_t v;
                std::memcpy(&v, payload.data() + m * sizeof v, sizeof v);
                values_[first + m] = v;
            }
            if (op.count == kSetall)
                for (auto& adj : semadj_)
                    if (!adj.empty()) adj[first + m] = 0;
        }
        return;
    }
    if (op.kind == OpKind::Semctl && r.kind == EventKind::Op && r.e.result >= 0) {
        // SETVAL sets a value; GETVAL reads the kernel's: both are facts the replay takes.
        int flat = plan_.sems[op.object].first_value + static_cast<int>(op.slot);
        if (op.count == kSetval) values_[flat] = static_cast<int>(op.value);
        if (op.count == kGetval) values_[flat] = static_cast<int>(r.e.result);
        // SETVAL clears every process's adjustment for it, as the kernel does.
        if (op.count == kSetval)
            for (auto& adj : semadj_)
                if (!adj.empty()) adj[flat] = 0;
        return;
    }
    if (op.kind != OpKind::Semop) return;
    const int first = plan_.sems[op.object].first_value;
    if (r.kind == EventKind::Op && r.e.result == 0) {
        if (before) undo_first(r, op, *before);
        for (std::uint32_t i = 0; i < op.count; ++i) {
            const SemTerm& t = plan_.sem_terms[op.first + i];
            values_[first + t.member] += t.delta;
            if (op.flags & kOpUndo) {
                auto& adj = semadj_[r.proc];
                if (adj.empty()) adj.assign(values_.size(), 0);
                adj[first + t.member] -= t.delta;
            }
        }
    }
    if (op.count == 1) {
        r.e.value = values_[first + plan_.sem_terms[op.first].member];
        r.flags |= kRecValue;
    }
}

// See annotate: a P that the replayed values cannot allow came after an undo.
void SemReplay::undo_first(const Record& r, const Op& op, std::vector<Record>& before) {
    const int first = plan_.sems[op.object].first_value;
    for (std::uint32_t i = 0; i < op.count; ++i) {
        const SemTerm& t = plan_.sem_terms[op.first + i];
        const int flat = first + t.member;
        if (t.delta >= 0 || values_[flat] + t.delta >= 0) continue;
        for (std::size_t q = 0; q < semadj_.size(); ++q) {
            if (q == r.proc || semadj_[q].empty() || semadj_[q][flat] <= 0) continue;
            exited(static_cast<std::uint16_t>(q), r, before);
            break;
        }
    }
}

void SemReplay::program_semop(const Record& r, std::string_view payload) {
    if (static_cast<CallId>(r.e.op) != CallId::Semop || r.e.result != 0) return;
    if (r.proc >= semadj_.size()) semadj_.resize(r.proc + 1u);
    const int semid = static_cast<int>(r.e.arg);
    auto set = std::find(semids_.begin(), semids_.end(), semid);
    read_sembufs(r, payload, sops_);
    if (set == semids_.end()) {  // a set of the program's own
        ProgramSet& own = program_sets_[semid];
        for (const sembuf& s : sops_) {
            own.fit(s.sem_num + 1u);
            own.values[s.sem_num] += s.sem_op;
            if (s.sem_flg & SEM_UNDO) program_adj_[r.proc][{semid, s.sem_num}] -= s.sem_op;
        }
        return;
    }
    const auto& decl = plan_.sems[static_cast<std::size_t>(set - semids_.begin())];
    for (const sembuf& s : sops_) {
        if (s.sem_num >= decl.members.size()) continue;
        const int flat = decl.first_value + s.sem_num;
        values_[flat] += s.sem_op;
        if (s.sem_flg & SEM_UNDO) {
            auto& adj = semadj_[r.proc];
            if (adj.empty()) adj.assign(values_.size(), 0);
            adj[flat] -= s.sem_op;
        }
    }
}

// A set the call made starts at 0 (IPC_PRIVATE, or IPC_CREAT|IPC_EXCL); one
// it opened has values unknown until a SETVAL, SETALL, GETVAL or GETALL.
void SemReplay::program_semget(const Record& r) {
    const int semid = static_cast<int>(r.e.result);
    if (std::find(semids_.begin(), semids_.end(), semid) != semids_.end()) return;
    const bool made = r.e.arg == IPC_PRIVATE || ((r.e.step & IPC_CREAT) && (r.e.step & IPC_EXCL));
    ProgramSet& set = program_sets_[semid];
    if (made) set = {};
    set.fit(r.e.value > 0 ? static_cast<std::size_t>(r.e.value) : 0);
    if (made) std::fill(set.known.begin(), set.known.end(), true);
}

void SemReplay::clear_adjustments(int semid, int num) {
    for (auto& [proc, adj] : program_adj_)
        for (auto it = adj.begin(); it != adj.end();)
            it = it->first.first == semid && (num < 0 || it->first.second == num) ? adj.erase(it) : std::next(it);
}

// SETVAL and SETALL set values and clear every process's adjustment for
// them, as the kernel does; GETVAL and GETALL read the kernel's values.
void SemReplay::program_semctl(const Record& r, std::string_view payload) {
    const int semid = static_cast<int>(r.e.arg), num = static_cast<int>(r.e.value);
    const auto cmd = static_cast<int>(r.e.step);
    const std::vector<int> all = cmd == SETALL || cmd == GETALL ? semctl_values(payload) : std::vector<int>{};
    auto set = std::find(semids_.begin(), semids_.end(), semid);
    if (set != semids_.end()) {  // a declared set
        const auto& decl = plan_.sems[static_cast<std::size_t>(set - semids_.begin())];
        auto put = [&](int member, int value, bool clear) {
            if (member < 0 || static_cast<std::size_t>(member) >= decl.members.size()) return;
            values_[decl.first_value + member] = value;
            if (clear)
                for (auto& adj : semadj_)
                    if (!adj.empty()) adj[decl.first_value + member] = 0;
        };
        if (cmd == SETVAL || cmd == GETVAL) put(num, cmd == SETVAL ? static_cast<std::int32_t>(r.e.iter) : static_cast<int>(r.e.result), cmd == SETVAL);
        for (std::size_t m = 0; m < all.size(); ++m) put(static_cast<int>(m), all[m], cmd == SETALL);
        return;
    }
    if (cmd == IPC_RMID) {
        program_sets_.erase(semid);
        clear_adjustments(semid, -1);
        return;
    }
    if (cmd != SETVAL && cmd != GETVAL && all.empty()) return;
    ProgramSet& own = program_sets_[semid];
    auto put = [&](int member, int value) {
        if (member < 0 || static_cast<std::size_t>(member) >= kMaxMembers) return;
        own.fit(static_cast<std::size_t>(member) + 1);
        own.values[member] = value, own.known[member] = true;
    };
    if (cmd == SETVAL || cmd == GETVAL) put(num, cmd == SETVAL ? static_cast<std::int32_t>(r.e.iter) : static_cast<int>(r.e.result));
    for (std::size_t m = 0; m < all.size(); ++m) put(static_cast<int>(m), all[m]);
    if (cmd == SETVAL) clear_adjustments(semid, num);
    if (cmd == SETALL) clear_adjustments(semid, -1);
}

}  // namespace simrun

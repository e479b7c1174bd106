#include "trace/sem_replay.hpp"

#include "trace/call_format.hpp"

#include <sys/sem.h>

#include <algorithm>
#include <cstring>

namespace simrun {

constexpr int kSemValueMax = 32767;  // SEMVMX

SemReplay::SemReplay(const Plan& plan) : plan_(plan), semadj_(plan.processes.size()) {
    for (const auto& s : plan.sems) values_.insert(values_.end(), s.initial.begin(), s.initial.end());
}

// The kernel applies proc's SEM_UNDO adjustments as it exits: Undo records
// dated like `at`.
void SemReplay::exited(std::uint16_t proc, const Record& at, std::vector<Record>& undo) {
    if (proc >= semadj_.size()) return;
    auto& adj = semadj_[proc];
    for (std::size_t i = 0; i < adj.size(); ++i) {
        if (adj[i] == 0) continue;
        Record u = at;
        u.kind = EventKind::Undo;
        u.proc = proc;
        u.flags = kRecValue;
        u.e.arg = static_cast<std::int64_t>(i);
        u.e.result = values_[i];
        values_[i] = std::clamp(values_[i] + adj[i], 0, kSemValueMax);
        u.e.value = values_[i];
        undo.push_back(u);
    }
    adj.clear();
}

void SemReplay::annotate(Record& r, std::vector<Record>& undo, std::string_view payload) {
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

void SemReplay::program_semop(const Record& r, std::string_view payload) {
    if (static_cast<CallId>(r.e.op) != CallId::Semop || r.e.result != 0 || (r.flags & kRecCallStart)) return;  // a start is not an operation
    if (r.proc >= semadj_.size()) semadj_.resize(r.proc + 1u);
    auto set = std::find(semids_.begin(), semids_.end(), static_cast<int>(r.e.arg));
    if (set == semids_.end()) return;
    const auto& decl = plan_.sems[static_cast<std::size_t>(set - semids_.begin())];
    read_sembufs(r, payload, sops_);
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

}  // namespace simrun

// Semaphore values derived from the merged event stream, so that processes
// never pay a semctl(GETVAL) per op. Starting from the declared initial
// values, every successful semop adds its deltas in stream order; when a
// process exits, the SEM_UNDO adjustments it accumulated are applied the way
// the kernel does (clamped at 0) and reported as Undo events. The sets
// programs make or open themselves (IPC_PRIVATE, a key not declared) are
// replayed too, by id, from their calls: a new set starts at 0, SETVAL,
// SETALL, GETVAL and GETALL give values, IPC_RMID ends it; a set a
// program opened without setting it has values unknown until then, and its
// Undo events carry the adjustment alone.
//
// Accuracy: a V is stamped before its call and a P after it returns, so at
// every point the replayed value is >= the kernel's (never negative). When
// processes run one at a time (controlled mode, or no overlap) it is exact;
// the final values are exact once every process has exited. The supervisor
// compares them with the kernel's at the end of the run.
#pragma once

#include "plan/plan.hpp"
#include "trace/record.hpp"

#include <sys/sem.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

namespace simrun {

class SemReplay {
public:
    explicit SemReplay(const Plan& plan);
    // Sets value (kRecValue) on single-member semop Op and Block records.
    // After an Exit, appends one Undo record per adjusted semaphore to `undo`.
    //
    // A P woken by a killed holder's undo can return (and be stamped) before
    // simrun reaps the holder: the undo came first in the kernel. When a P
    // would take a value below zero, the undo of a process holding an
    // adjustment on it is taken as having happened then: its Undo records
    // go to `before` (delivered ahead of r), and its exit adds none later.
    void annotate(Record& r, std::vector<Record>& undo, std::string_view payload = {}, std::vector<Record>* before = nullptr);
    const std::vector<int>& values() const { return values_; }
    // The declared sets' ids (per Plan::sems), so that an exec'd program's
    // traced semop on them (a Call record) counts too.
    // (One per declared set: extra ids are dropped, missing ones are -1.)
    void set_semids(std::vector<int> semids) {
        semids_ = std::move(semids);
        semids_.resize(plan_.sems.size(), -1);
    }

private:
    void undo_first(const Record& r, const Op& op, std::vector<Record>& before);
    // A set a program made or opened: its values (known[i]: value i is known).
    // Members are numbered below 65536 (semop's sem_num is unsigned short;
    // the kernel's SEMMSL is 32000): a record claiming more is not believed.
    static constexpr std::size_t kMaxMembers = 65536;
    struct ProgramSet {
        std::vector<int> values;
        std::vector<bool> known;
        void fit(std::size_t n) {
            n = std::min(n, kMaxMembers);
            if (values.size() < n) values.resize(n, 0), known.resize(n, false);
        }
    };
    void program_semop(const Record& r, std::string_view payload);
    void program_semget(const Record& r);
    void program_semctl(const Record& r, std::string_view payload);
    void clear_adjustments(int semid, int num);  // num -1: every member
    void exited(std::uint16_t proc, const Record& at, std::vector<Record>& undo);
    std::vector<std::pair<std::int32_t, int>> children_;  // traced programs' children: pid, process number (-1 once exited)
    std::vector<int> semids_;
    const Plan& plan_;
    std::vector<int> values_;               // flat, per semaphore
    std::vector<std::vector<int>> semadj_;  // per process, flat per semaphore
    std::vector<struct sembuf> sops_;       // reused: a program's semop being replayed
    std::map<int, ProgramSet> program_sets_;  // by semid
    // per process: SEM_UNDO adjustments on programs' sets, by (semid, member)
    std::map<std::uint16_t, std::map<std::pair<int, int>, int>> program_adj_;
};

}  // namespace simrun

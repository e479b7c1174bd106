// When each of a plan's faults fires, for every trigger: at a time since
// the run started (the supervisor's loop), at a scheduling step (the
// controller), after a process's n-th matching op (the agent in free mode,
// the controller in controlled mode). Every fault whose trigger is met
// fires, once: two `after` faults of one process both fire.
//
// Decides only; the caller records the Fault event and sends the signal.
// Holds one counter per fault, sized by the constructor: a copy made
// before fork (in spawn/runtime.hpp's Runtime) serves a child without any
// allocation in it. Not thread-safe; each process counts with its own copy.
#pragma once

#include "plan/plan.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace simrun {

class FaultInjector {
public:
    FaultInjector() = default;
    explicit FaultInjector(const std::vector<PlanFault>& faults) : faults_(&faults), matches_(faults.size(), 0), fired_(faults.size(), 0) {}

    // Does process `proc` have any `after` fault (the agent's fast path)?
    bool has_after_op(int proc) const {
        for (std::size_t f = 0; f < size(); ++f)
            if ((*faults_)[f].proc == proc && (*faults_)[f].trigger == FaultTrigger::AfterOp) return true;
        return false;
    }

    // Process `proc` has completed op `op` (an index into Plan::ops).
    template <typename Fire>
    void after_op(int proc, std::uint32_t op, Fire&& fire) {
        for (std::size_t f = 0; f < size(); ++f) {
            const PlanFault& pf = (*faults_)[f];
            if (fired_[f] || pf.proc != proc || pf.trigger != FaultTrigger::AfterOp || !matches(pf, op)) continue;
            if (++matches_[f] >= pf.count) fired_[f] = 1, fire(pf);
        }
    }

    // Controlled mode: step number `step` is about to be granted.
    template <typename Fire>
    void at_step(std::uint64_t step, Fire&& fire) {
        for (std::size_t f = 0; f < size(); ++f) {
            const PlanFault& pf = (*faults_)[f];
            if (fired_[f] || pf.trigger != FaultTrigger::AtStep || static_cast<std::uint64_t>(pf.at) != step) continue;
            fired_[f] = 1, fire(pf);
        }
    }

    // Controlled mode: the first step from `from` on at which a fault yet to
    // fire is due (~0 if none): a run of steps granted at once stops before it.
    std::uint64_t next_at_step(std::uint64_t from) const {
        std::uint64_t next = ~0ull;
        for (std::size_t f = 0; f < size(); ++f) {
            const PlanFault& pf = (*faults_)[f];
            if (fired_[f] || pf.trigger != FaultTrigger::AtStep || static_cast<std::uint64_t>(pf.at) < from) continue;
            next = std::min(next, static_cast<std::uint64_t>(pf.at));
        }
        return next;
    }

    // Free mode: `since_start_ns` have passed since the run started.
    template <typename Fire>
    void at_time(std::int64_t since_start_ns, Fire&& fire) {
        for (std::size_t f = 0; f < size(); ++f) {
            const PlanFault& pf = (*faults_)[f];
            if (fired_[f] || pf.trigger != FaultTrigger::AtTime || since_start_ns < pf.at) continue;
            fired_[f] = 1, fire(pf);
        }
    }

private:
    std::size_t size() const { return faults_ ? faults_->size() : 0; }
    static bool matches(const PlanFault& pf, std::uint32_t op) {
        for (std::uint32_t i : pf.ops)
            if (i == op) return true;
        return false;
    }
    const std::vector<PlanFault>* faults_ = nullptr;
    std::vector<std::int64_t> matches_;
    std::vector<char> fired_;
};

}  // namespace simrun

// Controlled mode: which parked processes may try their call again. A step
// that would block parks its process; it is tried again once any later
// step, or anything outside the steps (a death, a fault, a signal, a
// child's exit), may have changed what it waits on: a semaphore, a queue,
// a pipe, a FIFO, a signal, a child. Nothing more precise is assumed, so a
// parked call is never left waiting on a change it could see. Plain
// bookkeeping, unit-tested (tests/run/parking_test.cpp).
#pragma once

#include "trace/protocol.hpp"

#include <cstdint>
#include <vector>

namespace simrun {

class Parking {
public:
    // Process p's step ended with this outcome.
    void after_step(int p, StepOutcome o) {
        grow(p);
        switch (o) {
            case StepOutcome::Blocked: park(p); return;  // nothing changed: it waits for someone else's step
            case StepOutcome::BlockedChanged:            // parked, but what others wait on changed (a FIFO writer now waits)
                ++epoch_;
                park(p);
                return;
            case StepOutcome::Exiting: return;  // its death is the change (changed(), when it is seen)
            default:
                parked_[p] = false;
                ++epoch_;
                return;
        }
    }
    // Something changed outside the steps: every parked process may try again.
    void changed() { ++epoch_; }
    // It tries again whatever changed (its timed wait ends).
    void release(int p) {
        grow(p);
        parked_[p] = false;
    }
    bool parked(int p) const { return static_cast<std::size_t>(p) < parked_.size() && parked_[p]; }
    // Parked, and nothing has changed since it last tried: not runnable.
    bool waiting(int p) const { return parked(p) && since_[p] == epoch_; }

private:
    void park(int p) { parked_[p] = true, since_[p] = epoch_; }
    void grow(int p) {
        if (static_cast<std::size_t>(p) >= parked_.size()) parked_.resize(p + 1, false), since_.resize(p + 1, 0);
    }
    std::uint64_t epoch_ = 0;  // count of changes
    std::vector<bool> parked_;
    std::vector<std::uint64_t> since_;
};

}  // namespace simrun

// The run's shared memory: one memfd mapping created by the supervisor before
// any fork and inherited by every process of the run. It holds a status slot
// per process (what the supervisor reads for timeouts and deadlocks) and one
// trace ring per process, one for the supervisor, and one per process for
// its signal handlers. What is where (and what the slots hold) is
// trace/protocol.hpp, which the preload tracer shares.
#pragma once

#include "trace/protocol.hpp"
#include "trace/ring.hpp"
#include "trace/trace_clock.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <fcntl.h>

#include <atomic>
#include <cstdint>

namespace simrun {

class Arena {
public:
    // `spares`: extra slots with their rings for the children that traced
    // programs fork (claimed by the preload tracer, see claim_spare()).
    static Result<Arena> create(std::uint32_t processes, std::uint32_t ring_capacity, std::uint32_t spares = 0);
    Arena(Arena&&) noexcept;
    Arena& operator=(Arena&&) = delete;
    ~Arena();

    std::uint32_t processes() const { return layout_.processes; }
    const ArenaLayout& layout() const { return layout_; }
    std::uint32_t rings() const { return layout_.ring_count(); }
    std::uint32_t own_ring(std::uint32_t p) const { return layout_.own_ring(p); }
    std::uint32_t signal_ring(std::uint32_t p) const { return layout_.signal_ring(p); }
    std::uint32_t supervisor_ring() const { return layout_.supervisor_ring(); }
    std::uint32_t spares() const { return layout_.spares; }
    std::uint32_t spares_missed() const { return header_->spares_missed.load(); }
    std::uint32_t unscheduled() const { return header_->unscheduled.load(); }
    ProcSlot& slot(std::uint32_t p) const { return slots_[p]; }
    std::atomic<std::uint64_t>& shared_epoch() const { return header_->shared_epoch; }
    RingWriter writer(std::uint32_t ring, int wake_fd) const;
    // Publishes a fresh stamp (the supervisor, at every turn of its loop):
    // a process writing alone takes a fresh stamp again after it.
    void tick() const { publish_stamp(header_->newest_stamp, trace_now()); }
    RingReader reader(std::uint32_t ring) const;
    // For the preload tracer, which maps the memfd itself (SIMRUN_TRACE).
    int fd() const { return fd_.get(); }
    std::uint32_t capacity() const { return layout_.capacity; }
    // Record stamps to CLOCK_MONOTONIC ns, as of now (see trace_clock.hpp).
    StampToNs stamp_to_ns() const { return StampToNs(start_clock_, sample_clock(), tsc_); }
private:
    Arena() = default;
    RingHeader* ring_header(std::uint32_t ring) const;
    UniqueFd fd_;
    void* base_ = nullptr;
    ArenaLayout layout_;
    ArenaHeader* header_ = nullptr;
    ProcSlot* slots_ = nullptr;
    bool tsc_ = false;
    ClockSample start_clock_;
};

}  // namespace simrun

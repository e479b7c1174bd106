// The run's shared memory: one memfd mapping created by the supervisor before
// any fork and inherited by every process of the run. It holds a status slot
// per process (what the supervisor reads for timeouts and deadlocks) and one
// trace ring per process, one for the supervisor, and one per process for
// its signal handlers.
#pragma once

#include "trace/ring.hpp"
#include "trace/trace_clock.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <fcntl.h>

#include <atomic>
#include <cstdint>

namespace simrun {

enum class ProcState : std::uint32_t {
    Unborn = 0,
    Running,
    BlockedSem,       // in a semop that would block
    BlockedPipe,      // in a pipe read or write that would block
    BlockedQueue,     // in a message send or receive that would block
    BlockedPsem,      // in sem_wait on a POSIX semaphore
    BlockedSignal,    // in pause or sigwait
    Sleeping,
    WaitingChildren,  // script done, reaping its children
    Program,          // exec'd program running (opaque to simrun)
    Exited,
};

// Controlled scheduling: the gate is a futex shared by a process and the
// supervisor. The process sets kAtGate when it has finished a step (with
// its outcome) and sleeps until the supervisor sets kGranted for one more.
enum Gate : std::uint32_t { kRunning = 0, kAtGate = 1, kGranted = 2 };

enum class StepOutcome : std::uint32_t {
    Started,   // arrived at its first gate
    Done,      // an op completed
    Partial,   // a step inside an op (the load of a racy +=)
    Blocked,   // the op would block: nothing changed, park until something does
    BlockedChanged,  // parked, but announcing it changed what others may do (a FIFO writer now waits)
    Internal,  // forked a child, closed its pipe ends, reaped a child
    Exiting,   // its last step: the process exits right after
};

// Written by the process itself (and by its reaper on exit); read by the
// supervisor. Lock-free atomics only.
struct alignas(64) ProcSlot {
    std::atomic<std::int32_t> pid;
    std::atomic<ProcState> state;
    std::atomic<std::uint32_t> op;    // current op index (into Plan::ops)
    std::atomic<std::uint32_t> iter;  // current repeat iteration
    std::atomic<std::int32_t> wait_status;
    std::atomic<std::uint32_t> gate;  // Gate
    std::atomic<StepOutcome> outcome;
    std::atomic<std::uint64_t> step;  // the step number granted
    std::atomic<std::int32_t> result;  // of its last semop (0 or -1): who took what, for deadlock reports
    std::atomic<std::uint32_t> timed_out;  // controlled: the supervisor ended its timed wait
    // Signals. Handlers count and record deliveries; in controlled mode a
    // sender announces a handler run it expects (or a death it causes), so
    // the supervisor can let it finish before the next step.
    // See trace/slot_signals.hpp.
    std::atomic<std::uint64_t> blocked;       // the process's blocked signals (bit sig-1), as it published them
    std::atomic<std::uint64_t> sig_handlers;  // signals whose handler counts its runs in sig_settled
    std::atomic<std::uint64_t> sig_ignored;   // signals it ignores
    std::atomic<std::uint64_t> sig_ending;    // handlers that end the process after they ran
    std::atomic<std::uint32_t> sig_known;     // 1: the four masks above are its own (else: nothing is announced)
    std::atomic<std::uint32_t> sig_expected;  // handler runs announced by senders
    std::atomic<std::uint32_t> sig_settled;   // handler runs for signals a process sent (kill, sigqueue, raise)
    std::atomic<std::uint32_t> sig_handled;   // handler runs, whatever sent the signal
    std::atomic<std::uint32_t> doomed;        // a signal that kills it was sent
    // Its end, for the verdict: set by whoever reaps it (wait4's rusage),
    // or by the child itself when exec fails.
    std::atomic<std::int32_t> exec_errno;
    std::atomic<std::uint64_t> cpu_ns;
    std::atomic<std::int64_t> maxrss_kb;
    // The preload tracer attached in this exec'd program: 1; 2 from an exec
    // of a traced image until the new image attaches (still 2 at the end:
    // what it exec'd ran untraced).
    std::atomic<std::uint32_t> traced;
    std::atomic<std::uint32_t> timed;   // controlled: the program's parked call has a timeout the supervisor may end
    std::atomic<std::uint32_t> alarm_secs;  // controlled: the program's alarm(), rung by the supervisor (0: none)
};

// The seals on the arena's memfd (its size is fixed), and the first word of
// its header: a program may put a file of its own on the descriptor number
// SIMRUN_TRACE names, and the tracer in the image it execs must not take
// that file for the arena.
inline constexpr int kArenaSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
inline constexpr std::uint32_t kArenaMagic = 0x5349'4d52;  // "SIMR"

// At the arena's start: what processes claim for themselves at run time.
struct alignas(64) ArenaHeader {
    std::atomic<std::uint32_t> magic;       // kArenaMagic
    std::atomic<std::uint32_t> next_spare;  // spare slots handed out so far (a reused one is not counted again)
    std::atomic<std::uint32_t> spares_missed;  // children that found every spare slot held, and ran untraced
    std::atomic<std::uint32_t> tsc_clock;   // 1: records are stamped with the time-stamp counter (trace_clock.hpp)
    // The run's newest stamp (trace_clock.hpp): read at every record,
    // written only by a fresh stamp, so it has a cache line of its own.
    alignas(64) std::atomic<std::uint64_t> newest_stamp;
};

class Arena {
public:
    // `spares`: extra slots with their rings for the children that traced
    // programs fork (claimed by the preload tracer, see claim_spare()).
    static Result<Arena> create(std::uint32_t processes, std::uint32_t ring_capacity, std::uint32_t spares = 0);
    Arena(Arena&&) noexcept;
    Arena& operator=(Arena&&) = delete;
    ~Arena();

    std::uint32_t processes() const { return processes_; }
    // Per process: its ring, and one for its signal handlers (a handler may
    // interrupt the process in the middle of writing a record). Plus the
    // supervisor's ring.
    // Spares come after: own rings from 2P+1, signal rings after those. A
    // spare's process number (in records) is P + s.
    std::uint32_t rings() const { return 2 * (processes_ + spares_) + 1; }
    std::uint32_t own_ring(std::uint32_t p) const { return p < processes_ ? p : 2 * processes_ + 1 + (p - processes_); }
    std::uint32_t signal_ring(std::uint32_t p) const {
        return p < processes_ ? processes_ + 1 + p : 2 * processes_ + 1 + spares_ + (p - processes_);
    }
    std::uint32_t spares() const { return spares_; }
    std::uint32_t spares_missed() const { return header_->spares_missed.load(); }
    ProcSlot& slot(std::uint32_t p) const { return slots_[p]; }
    RingWriter writer(std::uint32_t ring, int wake_fd) const;
    // Publishes a fresh stamp (the supervisor, at every turn of its loop):
    // a process writing alone takes a fresh stamp again after it.
    void tick() const { publish_stamp(header_->newest_stamp, trace_now()); }
    RingReader reader(std::uint32_t ring) const;
    std::uint32_t supervisor_ring() const { return processes_; }
    // For the preload tracer, which maps the memfd itself: the fd, the
    // whole size, where a process's slot and a ring start, ring capacity.
    int fd() const { return fd_.get(); }
    std::size_t size() const { return size_; }
    std::size_t slot_offset(std::uint32_t p) const { return reinterpret_cast<std::byte*>(&slots_[p]) - static_cast<std::byte*>(base_); }
    std::size_t ring_offset(std::uint32_t ring) const { return static_cast<std::size_t>(rings_ - static_cast<std::byte*>(base_)) + ring_bytes_ * ring; }
    std::size_t ring_bytes() const { return ring_bytes_; }
    std::uint32_t capacity() const { return capacity_; }
    // Record stamps to CLOCK_MONOTONIC ns, as of now (see trace_clock.hpp).
    StampToNs stamp_to_ns() const { return StampToNs(start_clock_, sample_clock(), tsc_); }
private:
    Arena() = default;
    UniqueFd fd_;
    void* base_ = nullptr;
    std::size_t size_ = 0;
    std::uint32_t processes_ = 0, capacity_ = 0, spares_ = 0;
    ArenaHeader* header_ = nullptr;
    ProcSlot* slots_ = nullptr;
    std::byte* rings_ = nullptr;
    std::size_t ring_bytes_ = 0;
    bool tsc_ = false;
    ClockSample start_clock_;
};

}  // namespace simrun

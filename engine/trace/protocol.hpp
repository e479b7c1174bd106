// What simrun and the tracer inside exec'd programs share, in one header
// compiled by both (the preload is built without exceptions or the C++
// runtime): the arena's header and process slots, the arena's layout
// arithmetic, the controlled-step gate (both sides), the step outcomes,
// and SIMRUN_TRACE, the variable that tells an exec'd program where its
// slot and rings are. Nothing here allocates; everything a child or a
// signal handler calls is async-signal-safe (atomics, futex system calls,
// digit loops).
#pragma once

#include "util/futex.hpp"

#include <fcntl.h>

#include <atomic>
#include <cstddef>
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
    Spinning,         // free mode: in a busy wait (a while with an empty body) whose test has held many times in a row, or in a loop whose iterations change nothing
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
    std::atomic<std::uint32_t> op;    // a scripted process: its current op (index into Plan::ops)
    std::atomic<std::uint32_t> iter;  // a scripted process: its current repeat iteration
    std::atomic<std::uint32_t> call;  // an exec'd program: the CallId of the call it is in (trace/record.hpp)
    // Controlled mode, a spare slot: 1 while its holder, a child a scheduled
    // program forked, is scheduled too (it waits at its gate from its first
    // moment); parent: the process number of the one that forked it.
    std::atomic<std::uint32_t> scheduled;
    std::atomic<std::uint32_t> parent;
    // Controlled, a program in semop: the operation it waits on or made (the
    // first that takes or waits for zero, else the first), for the wait-for
    // graph; in msgsnd or msgrcv: the queue in sem_id, the type in sem_op;
    // in a read or write of a pipe or FIFO: the descriptor in sem_id.
    std::atomic<std::int32_t> sem_id;
    std::atomic<std::int32_t> sem_num;
    std::atomic<std::int32_t> sem_op;
    std::atomic<std::int32_t> wait_status;
    std::atomic<std::uint32_t> gate;  // Gate
    std::atomic<StepOutcome> outcome;
    std::atomic<std::uint64_t> step;  // the step number granted
    // A scripted process may be granted a run of steps at once: `batch`
    // more after `step`, which it takes without handing the gate back
    // unless one blocks or is of a kind the controller must see (agent.cpp,
    // keeps_batch). last_step: the number of the step it is in (or ended with).
    std::atomic<std::uint32_t> batch;
    std::atomic<std::uint64_t> last_step;
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
    std::atomic<std::int64_t> nvcsw, nivcsw;  // context switches, voluntary and involuntary
    // The preload tracer attached in this exec'd program: 1; 2 from an exec
    // of a traced image until the new image attaches (still 2 at the end:
    // what it exec'd ran untraced).
    std::atomic<std::uint32_t> traced;
    std::atomic<std::uint32_t> timed;   // controlled: the program's parked call has a timeout the supervisor may end
    std::atomic<std::uint32_t> alarm_secs;  // controlled: the program's alarm(), rung by the supervisor (0: none)
    // A scripted process in a loop that changes nothing (Spinning): 1 + the
    // op (index into Plan::ops) it loops back to (0: none, or an empty busy wait).
    std::atomic<std::uint32_t> loop_head;
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
    std::atomic<std::uint32_t> unscheduled;    // controlled: images started without fork (vfork, posix_spawn, system) that ran free
    std::atomic<std::uint32_t> tsc_clock;   // 1: records are stamped with the time-stamp counter (trace_clock.hpp)
    // The run's newest stamp (trace_clock.hpp): read at every record,
    // written only by a fresh stamp, so it has a cache line of its own.
    alignas(64) std::atomic<std::uint64_t> newest_stamp;
    // Bumped by a scripted process before each op that may change shared
    // state (Plan::watch_loops only): a loop iteration that saw it unchanged,
    // and changed none of its own values, changed nothing at all.
    alignas(64) std::atomic<std::uint64_t> shared_epoch;
};

// Where everything is in the arena: the header, then a slot per process
// (P declared, then S spares), then the rings. Per process two rings: its
// own, and one for its signal handlers (a handler may interrupt the
// process in the middle of writing a record); plus the supervisor's.
// Declared processes' own rings are 0..P-1, the supervisor's P, their
// signal rings P+1..2P; the spares' own rings follow from 2P+1, their
// signal rings after those. A spare's process number (in records) is P + s.
struct ArenaLayout {
    std::uint64_t size = 0;        // bytes, the whole memfd
    std::uint64_t slots = 0;       // offset of slot 0
    std::uint64_t slot_size = sizeof(ProcSlot);
    std::uint64_t rings = 0;       // offset of ring 0
    std::uint64_t ring_bytes = 0;  // one ring: its header and its records
    std::uint32_t capacity = 0;    // records per ring
    std::uint32_t processes = 0, spares = 0;

    // `ring_bytes`: a ring's header and `capacity` records (trace/ring.hpp).
    static constexpr ArenaLayout of(std::uint32_t processes, std::uint32_t spares, std::uint32_t capacity, std::uint64_t ring_bytes) {
        ArenaLayout l;
        l.processes = processes, l.spares = spares, l.capacity = capacity, l.ring_bytes = ring_bytes;
        l.slots = sizeof(ArenaHeader);
        l.rings = sizeof(ArenaHeader) + (sizeof(ProcSlot) * (processes + spares) + 63) / 64 * 64;
        l.size = l.rings + ring_bytes * l.ring_count();
        return l;
    }
    constexpr std::uint32_t ring_count() const { return 2 * (processes + spares) + 1; }
    constexpr std::uint32_t supervisor_ring() const { return processes; }
    constexpr std::uint32_t own_ring(std::uint32_t p) const { return p < processes ? p : 2 * processes + 1 + (p - processes); }
    constexpr std::uint32_t signal_ring(std::uint32_t p) const {
        return p < processes ? processes + 1 + p : 2 * processes + 1 + spares + (p - processes);
    }
    constexpr std::uint64_t slot_offset(std::uint32_t p) const { return slots + slot_size * p; }
    constexpr std::uint64_t ring_offset(std::uint32_t ring) const { return rings + ring_bytes * ring; }
};

// ---- the gate -------------------------------------------------------------
// The process's side (the agent of a scripted process, the tracer of an
// exec'd program): wait for the grant of one step, then hand the gate back
// with the step's outcome.
// `instead()`, checked whenever the wait wakes (a signal handler may have
// run in it), may end the wait without a grant: false then.
template <typename F>
inline bool gate_await_grant_unless(ProcSlot& s, F instead) {
    for (;;) {
        const std::uint32_t g = s.gate.load(std::memory_order_acquire);
        if (g == kGranted) {
            s.gate.store(kRunning, std::memory_order_relaxed);
            return true;
        }
        if (instead()) return false;
        futex_wait(&s.gate, g);
    }
}

inline std::uint64_t gate_await_grant(ProcSlot& s) {
    gate_await_grant_unless(s, [] { return false; });
    return s.step.load(std::memory_order_relaxed);
}

inline void gate_hand_back(ProcSlot& s, StepOutcome outcome) {
    s.outcome.store(outcome, std::memory_order_relaxed);
    s.gate.store(kAtGate, std::memory_order_release);
    futex_wake(&s.gate);
}

// The controller's side: grant step `step` (and `batch` more to a scripted
// process), then wait for the gate to come back (it spins a little first:
// most steps take microseconds).
inline void gate_grant(ProcSlot& s, std::uint64_t step, std::uint32_t batch = 0) {
    s.step.store(step, std::memory_order_relaxed);
    s.batch.store(batch, std::memory_order_relaxed);
    s.gate.store(kGranted, std::memory_order_release);
    futex_wake(&s.gate);
}

inline bool gate_is_back(const ProcSlot& s) { return s.gate.load(std::memory_order_acquire) == kAtGate; }

// True when the gate is back within about `timeout_ns` (after `spins` looks).
inline bool gate_wait_back(ProcSlot& s, int spins, long timeout_ns) {
    for (int i = 0; i < spins; ++i)
        if (gate_is_back(s)) return true;
    const std::uint32_t g = s.gate.load(std::memory_order_acquire);
    if (g == kAtGate) return true;
    futex_wait(&s.gate, g, timeout_ns);
    return gate_is_back(s);
}

// ---- SIMRUN_TRACE -------------------------------------------------------------
// SIMRUN_TRACE=V,fd,wake_fd,size,slots,slot_size,rings,ring_bytes,capacity,P,S,PROC
// V the version (kTraceEnvVersion: a tracer of another simrun refuses the
// variable), fd and wake_fd the inherited descriptors of the arena and the
// supervisor's wake-up eventfd, then the ArenaLayout, and last PROC, the
// process number, always five digits: a forked child rewrites it in place
// for the spare slot it claims, so what it execs traces into that slot.
inline constexpr std::uint32_t kTraceEnvVersion = 2;
inline constexpr int kTraceEnvFields = 12;
inline constexpr std::size_t kTraceEnvMax = 12 * 21;  // twelve numbers with their commas, and the NUL

struct TraceEnv {
    std::uint32_t version = kTraceEnvVersion;
    int arena_fd = -1, wake_fd = -1;
    ArenaLayout layout;
    std::uint32_t proc = 0;
};

namespace trace_env_detail {
inline char* put(char* out, std::uint64_t v, int width = 0) {
    char digits[20];
    int n = 0;
    do digits[n++] = static_cast<char>('0' + v % 10), v /= 10;
    while (v);
    for (int i = n; i < width; ++i) *out++ = '0';
    while (n) *out++ = digits[--n];
    return out;
}
}  // namespace trace_env_detail

// Writes the value (without "SIMRUN_TRACE=") and a NUL into out, which
// holds kTraceEnvMax bytes; returns its length.
inline std::size_t encode_trace_env(const TraceEnv& e, char* out) {
    using trace_env_detail::put;
    const ArenaLayout& l = e.layout;
    const std::uint64_t fields[] = {e.version, static_cast<std::uint64_t>(e.arena_fd), static_cast<std::uint64_t>(e.wake_fd), l.size,
                                    l.slots, l.slot_size, l.rings, l.ring_bytes, l.capacity, l.processes, l.spares};
    char* p = out;
    for (std::uint64_t v : fields) p = put(p, v), *p++ = ',';
    p = put(p, e.proc, 5);
    *p = 0;
    return static_cast<std::size_t>(p - out);
}

// Five digits at the PROC field (proc_field: where decode_trace_env found it).
inline void set_trace_env_proc(char* proc_field, std::uint32_t p) {
    for (int i = 4; i >= 0; --i, p /= 10) proc_field[i] = static_cast<char>('0' + p % 10);
}

// Parses a value; false for another version or a malformed one. proc_at
// (if given) gets the offset of the PROC field in text.
inline bool decode_trace_env(const char* text, TraceEnv& e, std::size_t* proc_at = nullptr) {
    std::uint64_t v[kTraceEnvFields];
    const char* p = text;
    for (int i = 0; i < kTraceEnvFields; ++i) {
        if (i == kTraceEnvFields - 1 && proc_at) *proc_at = static_cast<std::size_t>(p - text);
        const char* start = p;
        std::uint64_t x = 0;
        while (*p >= '0' && *p <= '9' && p - start < 19) x = x * 10 + static_cast<std::uint64_t>(*p++ - '0');
        if (p == start || *p != (i < kTraceEnvFields - 1 ? ',' : '\0')) return false;
        if (i == kTraceEnvFields - 1 && p - start != 5) return false;
        v[i] = x;
        if (i == 0 && x != kTraceEnvVersion) return false;
        ++p;
    }
    if (v[1] > 0x7fffffff || v[2] > 0x7fffffff || v[8] > 0xffffffff || v[9] > 0xffffffff || v[10] > 0xffffffff) return false;
    e.version = static_cast<std::uint32_t>(v[0]);
    e.arena_fd = static_cast<int>(v[1]), e.wake_fd = static_cast<int>(v[2]);
    ArenaLayout& l = e.layout;
    l.size = v[3], l.slots = v[4], l.slot_size = v[5], l.rings = v[6], l.ring_bytes = v[7];
    l.capacity = static_cast<std::uint32_t>(v[8]), l.processes = static_cast<std::uint32_t>(v[9]), l.spares = static_cast<std::uint32_t>(v[10]);
    e.proc = static_cast<std::uint32_t>(v[11]);
    // The layout must hold together: a slot past the rings or a ring past
    // the end would have the tracer write outside the arena.
    const std::uint64_t procs = static_cast<std::uint64_t>(l.processes) + l.spares;
    if (l.slot_size != sizeof(ProcSlot) || l.slots < sizeof(ArenaHeader) || procs > 100000 || e.proc >= procs) return false;
    if (l.slots > l.rings || (l.rings - l.slots) / l.slot_size < procs) return false;
    return l.ring_bytes > 0 && l.rings <= l.size && (l.size - l.rings) / l.ring_bytes >= l.ring_count();
}

}  // namespace simrun

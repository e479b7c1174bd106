// Trace timestamps. Ring writers stamp their records with trace_now():
// the CPU's time-stamp counter where the kernel keeps its own time with it
// (x86-64 with clocksource "tsc": constant rate, synchronized across CPUs),
// else CLOCK_MONOTONIC in ns. The collector turns stamps into
// CLOCK_MONOTONIC ns when it merges, along the line through two (stamp, ns)
// samples taken at the run's start and end; order between stamps is kept
// exactly.
//
// Stamps are taken lazily, because reading the counter alone is a share of
// a traced semop worth saving (docs/trace-format.md). Every fresh stamp is
// published as the run's newest (ArenaHeader::newest_stamp). A writer whose
// own last stamp is still the newest reuses it: no other process has
// stamped anything since, so no record of another process can belong
// between the two. Anything that may wake another process is stamped
// before its call, anything that may have waited after it returns, so a
// woken process always sees a newer stamp than its waker's and takes a
// fresh one. The supervisor publishes a stamp at every turn of its loop
// (at most 10 ms apart): a process writing alone re-stamps at least that
// often, so a record's time is at most one turn early.
//
// The writer side is async-signal-safe and needs no C++ runtime (the
// preload tracer links it).
#pragma once

#include <atomic>
#include <cstdint>

namespace simrun {

std::uint64_t monotonic_ns();

// Set once per process before it writes records (the supervisor, from the
// arena it creates; a traced program, from the arena's header); inherited
// across fork.
extern bool g_trace_tsc;

inline std::uint64_t trace_now() {
#if defined(__x86_64__)
    if (g_trace_tsc) return __builtin_ia32_rdtsc();
#endif
    return monotonic_ns();
}

// Raises the run's newest stamp to `t` (a stamp only ever grows).
inline void publish_stamp(std::atomic<std::uint64_t>& newest, std::uint64_t t) {
    std::uint64_t cur = newest.load(std::memory_order_relaxed);
    while (t > cur && !newest.compare_exchange_weak(cur, t, std::memory_order_seq_cst, std::memory_order_relaxed)) {
    }
}

// A fresh stamp, published (newest: nullptr publishes nowhere).
inline std::uint64_t fresh_stamp(std::atomic<std::uint64_t>* newest) {
    const std::uint64_t t = trace_now();
    if (newest) publish_stamp(*newest, t);
    return t;
}

// Whether the counter can stamp traces here (SIMRUN_CLOCK=monotonic: never).
bool tsc_usable();

// A trace_now() stamp and CLOCK_MONOTONIC ns read together.
struct ClockSample {
    std::uint64_t stamp = 0, ns = 0;
};
ClockSample sample_clock();

// Stamps to CLOCK_MONOTONIC ns, through two samples.
class StampToNs {
public:
    StampToNs(ClockSample start, ClockSample end, bool tsc);
    std::uint64_t operator()(std::uint64_t stamp) const;

private:
    ClockSample start_;
    double ns_per_stamp_ = 1.0;
    bool tsc_ = false;
};

}  // namespace simrun

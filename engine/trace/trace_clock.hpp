// Trace timestamps. Every ring writer stamps its records with trace_now():
// the CPU's time-stamp counter where the kernel keeps its own time with it
// (x86-64 with clocksource "tsc": constant rate, synchronized across CPUs),
// else CLOCK_MONOTONIC in ns. Reading the counter is a single instruction;
// clock_gettime costs a traced program's every call about 10-20 ns more
// (tools/bench/preload.sh). The collector turns stamps into CLOCK_MONOTONIC
// ns when it merges, along the line through two (stamp, ns) samples taken
// at the run's start and end; order between stamps is kept exactly.
// The writer side is async-signal-safe and needs no C++ runtime (the
// preload tracer links it).
#pragma once

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

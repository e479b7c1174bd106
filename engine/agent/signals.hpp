// Signal dispositions of a scripted process and its handler. The handler
// is async-signal-safe: it writes to the process's own signal ring (never
// the ring the interrupted code may be writing) and bumps counters in its
// slot. Everything it reads was set before the handlers were installed.
#pragma once

#include "spawn/runtime.hpp"

namespace simrun {

// In the child, before its script (spawn/ has reset every signal to its
// default): install the process's declared dispositions.
void install_dispositions(const Runtime& rt, int proc);

// Controlled mode, before sending `sig` to process `target`: note what the
// signal will do there (a handler run to wait for, or a death), so the
// supervisor lets it happen before the next step.
void announce_signal(const Runtime& rt, int target, int sig);

// Default action of a signal: does it end the process?
bool kills_by_default(int sig);

}  // namespace simrun

// Signal dispositions of a scripted process and its handler. The handler
// is async-signal-safe: it writes to the process's own signal ring (never
// the ring the interrupted code may be writing) and bumps counters in its
// slot. Everything it reads was set before the handlers were installed.
#pragma once

#include "spawn/runtime.hpp"
#include "trace/slot_signals.hpp"

namespace simrun {

// In the child, before its script (spawn/ has reset every signal to its
// default): install the process's declared dispositions and publish them
// in its slot (trace/slot_signals.hpp), so that senders can announce.
void install_dispositions(const Runtime& rt, int proc);

}  // namespace simrun

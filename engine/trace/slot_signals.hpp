// What a signal will do to a process, read from what the process published
// in its slot. In controlled mode the sender of a signal announces what it
// expects (a handler run, or a death) before it sends, so the supervisor can
// let the delivery happen before anyone takes the next step. Lock-free and
// async-signal-safe: scripted processes (agent/) and the preload tracer in
// exec'd programs use it alike.
#pragma once

#include "trace/arena.hpp"
#include "util/futex.hpp"

#include <signal.h>

#include <cstdint>

namespace simrun {

constexpr std::uint64_t sig_bit(int sig) { return sig > 0 && sig < 65 ? 1ull << (sig - 1) : 0; }

// A signal set as a mask (bit sig-1); none for nullptr.
inline std::uint64_t signal_bits(const sigset_t* set) {
    std::uint64_t bits = 0;
    for (int sig = 1; set && sig < 65 && sig < NSIG; ++sig)
        if (sigismember(set, sig) == 1) bits |= sig_bit(sig);
    return bits;
}

// Default action of a signal: does it end the process?
inline bool kills_by_default(int sig) {
    switch (sig) {
        case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:          // ignored
        case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return false;  // stop
        default: return true;
    }
}

// The process's dispositions: `handlers` (whose runs count in sig_settled),
// `ignored`, and `ending` (handlers that end the process after they ran);
// any other signal has its default action. The blocked mask is published
// apart, as it changes.
inline void publish_dispositions(ProcSlot& s, std::uint64_t handlers, std::uint64_t ignored, std::uint64_t ending) {
    s.sig_handlers.store(handlers);
    s.sig_ignored.store(ignored);
    s.sig_ending.store(ending);
    s.sig_known.store(1);
}

// One disposition changed.
inline void publish_disposition(ProcSlot& s, int sig, bool handler, bool ignored) {
    const std::uint64_t bit = sig_bit(sig);
    if (handler) s.sig_handlers.fetch_or(bit);
    else s.sig_handlers.fetch_and(~bit);
    if (ignored) s.sig_ignored.fetch_or(bit);
    else s.sig_ignored.fetch_and(~bit);
    s.sig_ending.fetch_and(~bit);
}

// Before sending `sig` to the process of slot `s`.
inline void announce_signal(ProcSlot& s, int sig) {
    const std::uint64_t bit = sig_bit(sig);
    if (sig == SIGKILL) {
        s.doomed.store(1);
        return;
    }
    if (!bit || !s.sig_known.load()) return;
    if (sig == SIGSTOP || (s.blocked.load() & bit)) return;  // stops it; stays pending until it unblocks it
    if (s.sig_handlers.load() & bit) {
        s.sig_expected.fetch_add(1);
        if (s.sig_ending.load() & bit) s.doomed.store(1);
        return;
    }
    if (!(s.sig_ignored.load() & bit) && kills_by_default(sig)) s.doomed.store(1);
}

// In a handler, as it starts: one run done, and one announced delivery if a
// process sent the signal (the kernel's own, SIGCHLD or a timer's, are not
// announced).
inline void count_handler_run(ProcSlot& s, const siginfo_t* si) {
    s.sig_handled.fetch_add(1);
    if (si && (si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL)) {
        s.sig_settled.fetch_add(1);
        futex_wake(&s.sig_settled);  // the supervisor may be waiting for it
    }
}

}  // namespace simrun

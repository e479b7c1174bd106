#include "agent/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace simrun {
namespace {

// Set once in each scripted process, before any handler can run.
struct HandlerContext {
    RingWriter ring;
    ProcSlot* slot = nullptr;
    const PlanProcess* me = nullptr;
    std::uint16_t proc = 0;
};
HandlerContext g_handler;

void on_signal(int sig, siginfo_t* si, void*) {
    int saved = errno;
    Record& r = g_handler.ring.begin(EventKind::Signal, g_handler.proc);
    r.e.arg = sig;
    r.e.pid = si->si_pid;
    r.e.result = si->si_code;
    r.e.value = si->si_value.sival_int;
    r.e.step = kNoStep;
    g_handler.ring.commit();
    g_handler.slot->sig_handled.fetch_add(1);
    errno = saved;
    if (g_handler.me->disposition(sig) == Disposition::Terminate) _exit(0);
}

}  // namespace

bool kills_by_default(int sig) {
    switch (sig) {
        case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:          // ignored
        case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return false;  // stop
        default: return true;
    }
}

void install_dispositions(const Runtime& rt, int proc) {
    const PlanProcess& me = rt.plan->processes[proc];
    if (me.signals.empty()) return;
    g_handler = {rt.arena->writer(rt.arena->signal_ring(static_cast<std::uint32_t>(proc)), rt.wake_fd), &rt.arena->slot(proc), &me,
                 static_cast<std::uint16_t>(proc)};
    for (const auto& s : me.signals) {
        struct sigaction sa = {};
        if (s.disposition == Disposition::Default) continue;
        if (s.disposition == Disposition::Ignore) {
            sa.sa_handler = SIG_IGN;
        } else {
            sa.sa_sigaction = on_signal;
            sa.sa_flags = SA_SIGINFO | SA_RESTART;
            sigfillset(&sa.sa_mask);  // one handler at a time: its ring has one writer
        }
        sigaction(s.signal, &sa, nullptr);
    }
}

void announce_signal(const Runtime& rt, int target, int sig) {
    const PlanProcess& t = rt.plan->processes[target];
    if (t.is_exec()) return;  // runs free: nothing to wait for
    ProcSlot& slot = rt.arena->slot(target);
    if (slot.blocked.load() & (1ull << (sig - 1))) return;  // stays pending until it unblocks it
    Disposition d = t.disposition(sig);
    if (sig == SIGKILL || (d == Disposition::Default && kills_by_default(sig))) {
        slot.doomed.store(1);
        return;
    }
    if (d == Disposition::Count || d == Disposition::Record || d == Disposition::Terminate) {
        slot.sig_expected.fetch_add(1);
        if (d == Disposition::Terminate) slot.doomed.store(1);
    }
}

}  // namespace simrun

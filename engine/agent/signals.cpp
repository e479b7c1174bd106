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
    count_handler_run(*g_handler.slot, si);
    errno = saved;
    if (g_handler.me->disposition(sig) == Disposition::Terminate) _exit(0);
}

}  // namespace

void install_dispositions(const Runtime& rt, int proc) {
    const PlanProcess& me = rt.plan->processes[proc];
    ProcSlot& slot = rt.arena->slot(proc);
    std::uint64_t handlers = 0, ignored = 0, ending = 0;
    for (const auto& s : me.signals) {
        if (s.disposition == Disposition::Ignore) ignored |= sig_bit(s.signal);
        else if (s.disposition != Disposition::Default) handlers |= sig_bit(s.signal);
        if (s.disposition == Disposition::Terminate) ending |= sig_bit(s.signal);
    }
    publish_dispositions(slot, handlers, ignored, ending);
    if (me.signals.empty()) return;
    g_handler = {rt.arena->writer(rt.arena->signal_ring(static_cast<std::uint32_t>(proc)), rt.wake_fd), &slot, &me,
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

}  // namespace simrun

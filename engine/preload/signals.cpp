// The signal wrappers: kill, sigqueue and raise; sigaction and signal (the
// program's handler goes behind our trampoline, which records each
// delivery); sigprocmask; waiting for signals, sleeping and alarm.
#include "preload/tracer.hpp"

#include "trace/slot_signals.hpp"
#include "util/disposition.hpp"

#include <time.h>

namespace simrun::preload {
namespace {

// The user's handlers, behind our trampoline.
struct UserHandler {
    std::atomic<void*> fn{nullptr};
    std::atomic<int> siginfo{0};
    std::atomic<int> once{0};  // SA_RESETHAND: back to the default as it is delivered
};
constinit UserHandler handlers[65];

// Controlled mode, before kill(pid, sig): announce the deliveries it causes
// among the declared processes (the ones the supervisor schedules).
void announce_kill(pid_t pid, int sig) {
    if (!controlled || sig <= 0 || sig >= 65) return;
    const pid_t group = pid == 0 ? ::getpgrp() : pid < -1 ? -pid : 0;
    for (unsigned long p = 0, n = declared_processes(); p < n; ++p) {
        ProcSlot& s = slot_of(p);
        const pid_t q = s.pid.load();
        if (q <= 0) continue;
        const bool hit = pid > 0 ? q == pid : pid == -1 ? q != my_pid : ::getpgid(q) == group;
        if (hit) announce_signal(s, sig);
    }
}

}  // namespace

// What a signal does to this process, in its slot (trace/slot_signals.hpp),
// for senders to announce in controlled mode. Published as the process
// starts (an exec keeps ignored signals, a fork the handlers too) and
// changed by the wrappers of sigaction and sigprocmask. Not from a vfork
// child: the slot is its parent's.
void publish_blocked(std::uint64_t bits) {
    if (slot && !vfork_child) slot->blocked.store(bits);
}
void publish_signals() {
    std::uint64_t handlers_mask = 0, ignored = 0;
    for (int sig = 1; sig < 65; ++sig) {
        struct sigaction cur;
        if (real.sigaction(sig, nullptr, &cur) != 0) continue;
        if (cur.sa_flags & SA_SIGINFO) {
            if (cur.sa_sigaction == trampoline) handlers_mask |= sig_bit(sig);
        } else if (cur.sa_handler == SIG_IGN) {
            ignored |= sig_bit(sig);
        }
    }
    sigset_t blocked;
    if (real.sigprocmask(SIG_BLOCK, nullptr, &blocked) == 0) publish_blocked(signal_bits(&blocked));
    publish_dispositions(*slot, handlers_mask, ignored, 0);
}

void trampoline(int sig, siginfo_t* info, void* ctx) {
    int saved = errno;
    // Stamped before the run is counted: once it is, the supervisor may let
    // the next step go, and that step's records must come after this one.
    std::uint64_t ts = now();
    if (on && slot && !vfork_child && sig > 0 && sig < 65) {
        if (handlers[sig].once.load()) publish_disposition(*slot, sig, false, false);
        count_handler_run(*slot, info);
    }
    // Delivered inside a call we wrap (raise, a semop that EINTRs): record
    // it all the same, and the calls the program's handler makes too (a
    // SIGALRM handler's V while the program waits in its P): in_hook marks
    // our call, not the handler's. The lock decides the ring: a handler
    // that interrupted a record writes to the signal ring.
    const int hooked = in_hook;
    enter_handler(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)), hooked);  // for a siglongjmp out of it
    in_hook = 0;
    if (sig > 0 && sig < 65) emit(CallId::Handler, {info ? info->si_pid : 0, sig, info ? info->si_code : 0}, 0, 0, ts);
    errno = saved;
    void* fn = sig > 0 && sig < 65 ? handlers[sig].fn.load() : nullptr;
    if (fn) {
        if (handlers[sig].siginfo.load()) reinterpret_cast<void (*)(int, siginfo_t*, void*)>(fn)(sig, info, ctx);
        else reinterpret_cast<void (*)(int)>(fn)(sig);
    }
    in_hook = hooked;
    leave_handler();
}

namespace {

// The program's handler goes behind the trampoline, which records each
// delivery; queries see the program's own handler.
int set_action(int sig, const struct sigaction* act, struct sigaction* old) {
    void* prev_fn = handlers[sig].fn.load();
    int prev_info = handlers[sig].siginfo.load();
    struct sigaction mine;
    const struct sigaction* use = act;
    Disposition kind = Disposition::Default;
    if (act) {
        bool info = act->sa_flags & SA_SIGINFO;
        void* fn = info ? reinterpret_cast<void*>(act->sa_sigaction) : reinterpret_cast<void*>(act->sa_handler);
        kind = fn == reinterpret_cast<void*>(SIG_DFL)   ? Disposition::Default
               : fn == reinterpret_cast<void*>(SIG_IGN) ? Disposition::Ignore
                                                        : Disposition::Handler;
        if (kind == Disposition::Handler) {
            handlers[sig].fn.store(fn), handlers[sig].siginfo.store(info), handlers[sig].once.store((act->sa_flags & SA_RESETHAND) != 0);
            mine = *act;
            mine.sa_flags |= SA_SIGINFO;
            mine.sa_sigaction = trampoline;
            use = &mine;
        }
    }
    enter_call(CallId::Sigaction);
    int r = real.sigaction(sig, use, old);
    leave_call();
    int err = errno;
    if (r == 0 && old && old->sa_sigaction == trampoline) {
        if (prev_info) old->sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(prev_fn);
        else old->sa_handler = reinterpret_cast<void (*)(int)>(prev_fn), old->sa_flags &= ~SA_SIGINFO;
    }
    if (act && r == 0 && slot) publish_disposition(*slot, sig, kind == Disposition::Handler, kind == Disposition::Ignore);
    if (act) emit(CallId::Sigaction, {0, sig, static_cast<std::int64_t>(kind)}, r, r < 0 ? err : 0);
    errno = err;
    return r;
}

// sigprocmask and pthread_sigmask: recorded alike, the new mask published.
// (One mask for the process: a program whose threads block different
// signals is announced to by the last call's.)
template <typename F>
int change_mask(int how, const sigset_t* set, sigset_t* old, F call) {
    sigset_t before;
    sigset_t* prev = old ? old : &before;
    const std::uint64_t bits = signal_bits(set);
    return traced<int>(CallId::Sigprocmask, {how, static_cast<std::int64_t>(bits)}, false, [&] {
        int r = call(how, set, prev);
        if (r == 0 && set) {
            const std::uint64_t was = signal_bits(prev);
            publish_blocked(how == SIG_SETMASK ? bits : how == SIG_BLOCK ? was | bits : was & ~bits);
        }
        return r;
    });
}

// Waiting for signals, and sleeping. No re-entrancy guard around them (the
// handlers they let run are traced either way: the trampoline clears it). In
// controlled mode no time passes but by steps: a pause or sigsuspend parks
// until a handler has run (a step of another process sent the signal), a
// sigwait until the signal is pending, and a sleep is one step that
// returns at once.
int wait_for_handler(CallId c, const sigset_t* during) {
    const std::uint64_t bits = signal_bits(during);
    if (!stepping()) {
        record_wait_start(c, {0, static_cast<std::int64_t>(bits)});  // it always waits
        int r = during ? real.sigsuspend(during) : real.pause();
        int err = errno;
        emit(c, {0, static_cast<std::int64_t>(bits)}, r, err);
        errno = err;
        return r;
    }
    // Handler runs count from the call's first step, when it really starts:
    // one that ran while the process waited for that step came before the
    // call, as it would have natively (the lost wake-up of a flag checked
    // and then a pause stays lost).
    std::uint32_t from = 0;  // the trampoline counts every run
    sigset_t before;
    bool started = false, masked = false;
    step_until_done(c, {0, static_cast<std::int64_t>(bits)}, [&] {
        if (!started) {
            started = true;
            from = slot->sig_handled.load();
            // It always waits, as in free mode: its start comes before any handler it runs.
            record_wait_start(c, {0, static_cast<std::int64_t>(bits)});
            if (during) {  // what is pending and now unblocked runs its handler here, inside the call
                real.sigprocmask(SIG_SETMASK, during, &before), publish_blocked(bits);
                masked = true;
            }
        }
        if (slot->sig_handled.load() == from) return false;
        if (masked) real.sigprocmask(SIG_SETMASK, &before, nullptr), publish_blocked(signal_bits(&before));
        emit(c, {0, static_cast<std::int64_t>(bits)}, -1, EINTR);
        return true;
    });
    errno = EINTR;
    return -1;
}

// A sleep of `ns` (-1: until an absolute time): `call` sleeps for real in
// free mode; the result in controlled mode is `done`.
template <typename R, typename F>
R sleep_call(std::int64_t ns, R done, F call) {
    if (stepping()) {
        one_step(CallId::Sleep, [&] {
            emit(CallId::Sleep, {ns}, 0, 0);
            return 0;
        });
        return done;
    }
    // Its start, then its end stamped when it ends: what happened meanwhile comes between.
    if (ns != 0) record_wait_start(CallId::Sleep, {ns});
    R r = call();
    int err = errno;
    emit(CallId::Sleep, {ns}, static_cast<std::int64_t>(r), r == static_cast<R>(-1) ? err : 0);
    errno = err;
    return r;
}
std::int64_t span_ns(const timespec* t) { return t ? static_cast<std::int64_t>(t->tv_sec) * 1'000'000'000 + t->tv_nsec : 0; }

// sigwait, sigwaitinfo, sigtimedwait: the signal taken (or -1).
int take_signal(const sigset_t* set, siginfo_t* info, const timespec* timeout) {
    const auto bits = static_cast<std::int64_t>(signal_bits(set));
    if (!stepping()) {
        return may_wait<int>(
            CallId::Sigwait, {0, bits},
            [&](int& r) {
                const timespec zero = {0, 0};
                r = real.sigtimedwait(set, info, &zero);
                return !(r < 0 && errno == EAGAIN);
            },
            [&] { return timeout ? real.sigtimedwait(set, info, timeout) : real.sigwaitinfo(set, info); },
            [&](int r) { emit(CallId::Sigwait, {0, bits}, r, r < 0 ? errno : 0); });
    }
    int got = -1, err = 0;
    step_until_done(CallId::Sigwait, {0, bits}, [&] {
        const timespec zero = {0, 0};
        got = real.sigtimedwait(set, info, &zero);
        err = errno;
        if (got < 0 && err == EAGAIN) return false;
        emit(CallId::Sigwait, {0, bits}, got, got < 0 ? err : 0);
        return true;
    }, timeout != nullptr, [&] {
        got = -1, err = EAGAIN;
        emit(CallId::Sigwait, {0, bits}, -1, EAGAIN);
    });
    errno = err;
    return got;
}

}  // namespace
}  // namespace simrun::preload

using namespace simrun;
using namespace simrun::preload;

namespace {

// What signal() and its relatives set: through the traced sigaction.
sighandler_t set_handler(int sig, sighandler_t h, int flags) {
    struct sigaction act = {}, old = {};
    act.sa_handler = h;
    act.sa_flags = flags;
    sigemptyset(&act.sa_mask);
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}
int change_one(int how, int sig) {
    sigset_t one;
    sigemptyset(&one);
    if (sigaddset(&one, sig) < 0) return -1;
    return sigprocmask(how, &one, nullptr);
}
sigset_t mask_of(unsigned bits) {
    sigset_t set;
    sigemptyset(&set);
    for (int s = 1; s <= 32; ++s)
        if (bits & (1u << (s - 1))) sigaddset(&set, s);
    return set;
}
int change_bsd(int how, int mask) {
    sigset_t set = mask_of(static_cast<unsigned>(mask)), old;
    if (sigprocmask(how, &set, &old) < 0) return -1;
    unsigned bits = 0;
    for (int s = 1; s <= 32; ++s)
        if (sigismember(&old, s) == 1) bits |= 1u << (s - 1);
    return static_cast<int>(bits);
}

}  // namespace

#pragma GCC visibility push(default)
extern "C" {

int kill(pid_t pid, int sig) {
    return traced<int>(CallId::Kill, {pid, sig}, true, [&] {
        announce_kill(pid, sig);
        return real.kill(pid, sig);
    });
}
int sigqueue(pid_t pid, int sig, const sigval v) {
    return traced<int>(CallId::Sigqueue, {pid, sig, v.sival_int}, true, [&] {
        if (pid > 0) announce_kill(pid, sig);
        return real.sigqueue(pid, sig, v);
    });
}
int raise(int sig) {
    return traced<int>(CallId::Raise, {0, sig}, true, [&] {
        announce_kill(my_pid, sig);
        return real.raise(sig);
    });
}

int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
    if (!on || vfork_child || sig <= 0 || sig >= 65) return real.sigaction(sig, act, old);
    if (!act) return set_action(sig, act, old);
    return one_step(CallId::Sigaction, [&] { return set_action(sig, act, old); });  // a change is a step
}
sighandler_t signal(int sig, sighandler_t h) {
    if (!on || vfork_child) return real.signal(sig, h);
    return set_handler(sig, h, SA_RESTART);  // signal()'s BSD semantics, as glibc gives them
}
sighandler_t bsd_signal(int sig, sighandler_t h) { return signal(sig, h); }
sighandler_t ssignal(int sig, sighandler_t h) { return signal(sig, h); }
// System V's signal: the handler runs once, unblocked, and a call it
// interrupts fails with EINTR. What signal() is bound to when a program
// asks for strict POSIX or X/Open without glibc's defaults (_POSIX_SOURCE,
// -std=c99): __sysv_signal.
sighandler_t sysv_signal(int sig, sighandler_t h) {
    if (h == SIG_ERR) return errno = EINVAL, SIG_ERR;
    return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}
sighandler_t __sysv_signal(int sig, sighandler_t h) { return sysv_signal(sig, h); }
int gsignal(int sig) { return raise(sig); }
// X/Open's signal calls, made of the calls they are (as glibc makes them),
// so that each shows as its sigaction and sigprocmask.
sighandler_t sigset(int sig, sighandler_t disp) {
    sigset_t one, old;
    sigemptyset(&one);
    if (sigaddset(&one, sig) < 0) return SIG_ERR;
    struct sigaction act = {}, prev = {};
    if (disp == SIG_HOLD) {
        if (sigprocmask(SIG_BLOCK, &one, &old) < 0) return SIG_ERR;
        if (sigismember(&old, sig)) return SIG_HOLD;
        if (sigaction(sig, nullptr, &prev) < 0) return SIG_ERR;
        return prev.sa_handler;
    }
    act.sa_handler = disp;
    sigemptyset(&act.sa_mask);
    if (sigaction(sig, &act, &prev) < 0 || sigprocmask(SIG_UNBLOCK, &one, &old) < 0) return SIG_ERR;
    return sigismember(&old, sig) ? SIG_HOLD : prev.sa_handler;
}
int sighold(int sig) { return change_one(SIG_BLOCK, sig); }
int sigrelse(int sig) { return change_one(SIG_UNBLOCK, sig); }
int sigignore(int sig) {
    struct sigaction act = {};
    act.sa_handler = SIG_IGN;
    sigemptyset(&act.sa_mask);
    return sigaction(sig, &act, nullptr);
}
// BSD's sigpause takes a mask; X/Open's (what sigpause is bound to with
// _XOPEN_SOURCE) a signal to let through while it waits. Both are a sigsuspend.
int __sigpause(int sig_or_mask, int is_sig) {
    sigset_t set;
    if (is_sig) {
        if (sigprocmask(SIG_BLOCK, nullptr, &set) < 0 || sigdelset(&set, sig_or_mask) < 0) return -1;
    } else {
        set = mask_of(static_cast<unsigned>(sig_or_mask));
    }
    return sigsuspend(&set);
}
// (The header binds the name sigpause to __xpg_sigpause: BSD's is defined by its symbol.)
int bsd_sigpause(int mask) __asm__("sigpause");
int bsd_sigpause(int mask) { return __sigpause(mask, 0); }
int __xpg_sigpause(int sig) { return __sigpause(sig, 1); }
// BSD's masks as ints (signals 1-32).
int sigblock(int mask) { return change_bsd(SIG_BLOCK, mask); }
int sigsetmask(int mask) { return change_bsd(SIG_SETMASK, mask); }
int killpg(pid_t pgrp, int sig) {
    if (pgrp < 0) return errno = EINVAL, -1;
    return kill(-pgrp, sig);
}
int sigprocmask(int how, const sigset_t* set, sigset_t* old) { return change_mask(how, set, old, real.sigprocmask); }
int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) { return change_mask(how, set, old, real.pthread_sigmask); }
int pause() { return wait_for_handler(CallId::Pause, nullptr); }
int sigsuspend(const sigset_t* mask) { return wait_for_handler(CallId::Sigsuspend, mask); }
unsigned int sleep(unsigned int seconds) {
    return sleep_call(static_cast<std::int64_t>(seconds) * 1'000'000'000, 0u, [&] { return real.sleep(seconds); });
}
int usleep(useconds_t us) { return sleep_call(static_cast<std::int64_t>(us) * 1000, 0, [&] { return real.usleep(us); }); }
int nanosleep(const timespec* req, timespec* rem) {
    return sleep_call(span_ns(req), 0, [&] { return real.nanosleep(req, rem); });
}
int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
    int err = 0;  // it returns its error instead of setting errno
    sleep_call(flags & TIMER_ABSTIME ? -1 : span_ns(req), 0, [&] {
        err = real.clock_nanosleep(clock, flags, req, rem);
        return err ? (errno = err, -1) : 0;
    });
    return err;
}
int sigwait(const sigset_t* set, int* sig) {
    int r = take_signal(set, nullptr, nullptr);
    if (r < 0) return errno;
    *sig = r;
    return 0;
}
int sigwaitinfo(const sigset_t* set, siginfo_t* info) { return take_signal(set, info, nullptr); }
int sigtimedwait(const sigset_t* set, siginfo_t* info, const timespec* timeout) { return take_signal(set, info, timeout); }
// Controlled mode: no timer runs; the supervisor rings the alarm (sends
// SIGALRM) when no process can step, as time moving on to it would.
unsigned int alarm(unsigned int seconds) {
    if (!stepping()) return traced<unsigned>(CallId::Alarm, {seconds}, false, [&] { return real.alarm(seconds); });
    unsigned prev = 0;
    one_step(CallId::Alarm, [&] {
        prev = slot->alarm_secs.exchange(seconds);
        emit(CallId::Alarm, {seconds}, prev, 0);
        return 0;
    });
    return prev;
}

}  // extern "C"
#pragma GCC visibility pop

#include "agent/agent_impl.hpp"
#include "util/wait_status.hpp"

// Signals, waiting for children, crashing.

namespace simrun::detail {

// ---- signals -------------------------------------------------------
void Agent::publish_mask() {
    sigset_t cur;
    sigprocmask(SIG_SETMASK, nullptr, &cur);
    slot_.blocked.store(signal_bits(&cur));
}

void Agent::to_set(std::uint64_t bits, sigset_t& set) {
    sigemptyset(&set);
    for (int sig = 1; sig < 65 && sig < NSIG; ++sig)
        if (bits & (1ull << (sig - 1))) sigaddset(&set, sig);
}

Attempt Agent::send_signal(const Op& op) {
    const int sig = static_cast<int>(op.slot);
    const int target = op.object == kSelf ? proc_ : op.object;
    pid_t pid = rt_.arena->slot(target).pid.load();
    // Stamped before the call: the handler's record must come after it.
    Record& r = begin(EventKind::Op);
    r.e.pid = pid;
    int rc;
    if (pid <= 0) {
        rc = -1, errno = ESRCH;
    } else {
        if (controlled_) announce_signal(rt_.arena->slot(target), sig);
        if (op.flags & kOpSigqueue) {
            sigval v;
            const std::int64_t value = value_of(op);  // computed as an int: wraps like the C cast would
            v.sival_int = static_cast<int>(value);
            r.e.arg = v.sival_int;
            rc = ::sigqueue(pid, sig, v);
        } else {
            rc = op.object == kSelf ? ::raise(sig) : ::kill(pid, sig);
        }
    }
    r.e.result = rc;
    r.e.err = rc < 0 ? errno : 0;
    commit();
    return Attempt::Done;
}

Attempt Agent::mask_signals(const Op& op) {
    sigset_t set;
    to_set(static_cast<std::uint64_t>(op.value), set);
    Record& r = begin(EventKind::Op);  // before: an unblock delivers what was pending during the call
    if (op.slot) {
        sigset_t pending;
        sigpending(&pending);
        r.e.value = static_cast<std::int64_t>(signal_bits(&pending) & static_cast<std::uint64_t>(op.value));
        r.flags = kRecValue;
    }
    commit();
    if (!op.slot) sigprocmask(SIG_BLOCK, &set, nullptr), publish_mask();
    else publish_mask_after_unblock(set);
    return Attempt::Done;
}

void Agent::publish_mask_after_unblock(const sigset_t& set) {
    // Published first: a handler that runs during the unblock is not one a sender announced.
    slot_.blocked.store(slot_.blocked.load() & ~signal_bits(&set));
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

Attempt Agent::pause_op(bool parked) {
    if (!parked) pause_from_ = slot_.sig_handled.load();
    if (controlled_) {
        if (slot_.sig_handled.load() == pause_from_) return Attempt::WouldBlock;  // no handler has run yet
    } else {
        begin(EventKind::Block);
        commit();
        slot_.state.store(ProcState::BlockedSignal, std::memory_order_release);
        ::pause();
        slot_.state.store(ProcState::Running, std::memory_order_release);
        parked = true;
    }
    Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0);
    r.e.result = -1;
    r.e.err = EINTR;
    commit();
    return Attempt::Done;
}

Attempt Agent::sigwait_op(const Op& op, bool parked) {
    const int sig = static_cast<int>(op.slot);
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, sig);
    // sigwaitinfo takes signals that are blocked: block it while waiting.
    sigprocmask(SIG_BLOCK, &one, &old);
    publish_mask();
    siginfo_t si = {};
    timespec now = {0, 0};
    int rc = sigtimedwait(&one, &si, &now);
    if (rc < 0 && errno == EAGAIN) {
        if (controlled_) return Attempt::WouldBlock;  // stays blocked: a sender's signal waits as pending
        begin(EventKind::Block);
        commit();
        slot_.state.store(ProcState::BlockedSignal, std::memory_order_release);
        do rc = sigwaitinfo(&one, &si);
        while (rc < 0 && errno == EINTR);
        slot_.state.store(ProcState::Running, std::memory_order_release);
        parked = true;
    }
    int err = rc < 0 ? errno : 0;
    if (sigismember(&old, sig) != 1) sigprocmask(SIG_UNBLOCK, &one, nullptr);
    publish_mask();
    Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0);
    r.e.result = rc;
    r.e.err = err;
    r.e.pid = si.si_pid;
    r.e.arg = si.si_code;
    r.e.value = si.si_value.sival_int;
    commit();
    return Attempt::Done;
}

void Agent::crash(const Op& op) {
    begin(EventKind::Op).e.value = op.value;
    commit();
    end_step(StepOutcome::Exiting);
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    sigaction(static_cast<int>(op.value), &dfl, nullptr);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, static_cast<int>(op.value));
    sigprocmask(SIG_UNBLOCK, &one, nullptr);
    if (op.value == SIGSEGV) {
        volatile int* volatile nowhere = nullptr;
        *nowhere = 1;  // a real invalid write: the kernel sends SIGSEGV
    }
    ::abort();
}

Attempt Agent::wait_op(const Op& op, bool parked) {
    pid_t want = op.object == kSelf ? -1 : rt_.arena->slot(op.object).pid.load();
    if (want == 0) want = -1;  // not forked yet: wait reports ECHILD if it has no child at all
    int status = 0;
    struct rusage usage = {};
    pid_t rc = ::wait4(want, &status, WNOHANG, &usage);
    if (rc == 0) {
        if (controlled_) return Attempt::WouldBlock;
        begin(EventKind::Block);
        commit();
        slot_.state.store(ProcState::WaitingChildren, std::memory_order_release);
        do rc = ::wait4(want, &status, 0, &usage);
        while (rc < 0 && errno == EINTR);
        slot_.state.store(ProcState::Running, std::memory_order_release);
        parked = true;
    }
    int err = rc < 0 ? errno : 0;
    if (rc > 0) record_exit(rt_, ring_, rc, status, usage);
    Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0);
    r.e.result = rc;
    r.e.err = err;
    r.e.arg = status;
    commit();
    // wait as st: the exit code, or 128 + the signal that killed it (as a shell's $?); -1 when none was reaped.
    bind(op, rc <= 0 ? -1 : WaitStatus(status).shell_code());
    return Attempt::Done;
}

}  // namespace simrun::detail

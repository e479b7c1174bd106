#include "run/controller.hpp"

#include "run/proc_stats.hpp"
#include "spawn/spawner.hpp"
#include "trace/slot_signals.hpp"
#include "util/futex.hpp"
#include "run/wait_snapshot.hpp"

#include <poll.h>
#include <signal.h>
#include <semaphore.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace simrun {

struct Controller::Proc {
    bool known = false;      // forked, its pidfd open
    bool dead = false;       // exited (it may still wait for its parent to reap it)
    bool exiting = false;    // took its last step
    bool parked = false;     // its op would block
    std::uint64_t parked_epoch = 0;
    UniqueFd pidfd;
};

Controller::Controller(const Plan& plan, Runtime& rt, RingWriter& ring, SandboxMode mode, ControlHooks hooks)
    : plan_(plan),
      rt_(rt),
      ring_(ring),
      mode_(mode),
      hooks_(std::move(hooks)),
      procs_(plan.processes.size()),
      last_taker_(plan.sem_values, -1),
      faults_(plan.faults) {}

Controller::~Controller() = default;

// Scripted processes step op by op; an exec'd program call by call when the
// preload tracer can reach it (rt.stepped), else it runs free.
static bool scheduled(const Plan& plan, const Runtime& rt, int p) {
    return !plan.processes[p].is_exec() || (static_cast<std::size_t>(p) < rt.stepped.size() && rt.stepped[p]);
}

void Controller::discover() {
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        Proc& pr = procs_[p];
        if (pr.known) continue;
        pid_t pid = rt_.arena->slot(p).pid.load();
        if (pid <= 0) continue;
        pr.known = true;
        pr.pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
        // A new process has run its set-up (closing pipe ends it does not
        // use) before its first gate: nothing else moves until it is there.
        if (scheduled(plan_, rt_, static_cast<int>(p)) && wait_at_gate(static_cast<int>(p)) == Wait::Died) on_death(static_cast<int>(p));
    }
}

Controller::Wait Controller::wait_at_gate(int p) {
    ProcSlot& slot = rt_.arena->slot(p);
    for (;;) {
        if (gate_wait_back(slot, 64, 2'000'000)) return Wait::AtGate;
        hooks_.idle();
        pollfd pf{procs_[p].pidfd.get(), POLLIN, 0};
        if (pf.fd >= 0 && ::poll(&pf, 1, 0) > 0) return Wait::Died;
        if (hooks_.stop_requested()) return Wait::Stopped;
        if (monotonic_ns() >= deadline_) return Wait::Timeout;
    }
}

bool Controller::wait_death(int p, long timeout_ms) {
    pollfd pf{procs_[p].pidfd.get(), POLLIN, 0};
    for (long waited = 0; waited < timeout_ms; waited += 10) {
        if (pf.fd < 0 || ::poll(&pf, 1, 10) > 0) return true;
        hooks_.idle();
    }
    return false;
}

void Controller::on_death(int p) {
    Proc& pr = procs_[p];
    if (pr.dead) return;
    pr.dead = true;
    int status;
    // Ours if its parent is the supervisor or has died (orphans come to us);
    // otherwise its parent reaps it in one of its own steps.
    pid_t pid = rt_.arena->slot(p).pid.load();
    struct rusage usage = {};
    if (wait4(pid, &status, WNOHANG, &usage) == pid) record_exit(rt_, ring_, pid, status, usage, true);
    record_death(rt_, ring_, p, getpid());  // a zombie if its parent has yet to reap it; its children orphans
    ++epoch_;
}

void Controller::fire(const PlanFault& f, std::uint64_t step) {
    Proc& victim = procs_[f.proc];
    if (!victim.known || victim.dead) return;
    ProcSlot& slot = rt_.arena->slot(f.proc);
    Record& r = ring_.begin(EventKind::Fault, static_cast<std::uint16_t>(f.proc));
    r.e.arg = f.signal;
    r.e.step = step;
    r.e.pid = slot.pid.load();
    ring_.commit();
    const bool known = slot.sig_known.load();
    announce_signal(slot, f.signal);
    ::kill(r.e.pid, f.signal);
    // A fatal signal: wait until the kernel has finished the process (and
    // applied its SEM_UNDO adjustments) before anyone else moves; a handler:
    // until it has run.
    if (known || f.signal == SIGKILL) settle_signals();
    else if (wait_death(f.proc, 1000)) on_death(f.proc);
    ++epoch_;
}

// A step that sent signals (see trace/slot_signals.hpp): let every handler
// it caused run, and every process it killed die, before anyone takes the
// next step. A delivery that cannot come any more (the signal merged with
// one already pending, or met a disposition the sender could not see) is
// given up once /proc shows nothing on its way, or after two seconds.
void Controller::settle_signals() {
    for (std::size_t q = 0; q < procs_.size(); ++q) {
        Proc& pr = procs_[q];
        if (!pr.known || pr.dead) continue;
        ProcSlot& s = rt_.arena->slot(q);
        if (s.doomed.load()) {
            if (wait_death(static_cast<int>(q), 2000)) on_death(static_cast<int>(q));
            else s.doomed.store(0);  // it survived: a handler or a mask the sender could not see
            continue;
        }
        for (int waits = 0;; ++waits) {
            const std::uint32_t settled = s.sig_settled.load();
            if (settled >= s.sig_expected.load()) break;
            pollfd pf{pr.pidfd.get(), POLLIN, 0};
            if (pf.fd >= 0 && ::poll(&pf, 1, 0) > 0) {
                on_death(static_cast<int>(q));
                break;
            }
            if (waits >= 2000) break;
            if (waits > 0 && waits % 10 == 0 && proc_is_ours() && !signal_may_come(s.pid.load())) break;
            futex_wait(&s.sig_settled, settled, 1'000'000);  // the handler wakes it; a death within 1 ms
        }
        // Square the books: what did not come is not waited for again, and
        // a delivery nobody announced (a signal pending while blocked) does
        // not stand in for a later one.
        if (const std::uint32_t settled = s.sig_settled.load(); settled != s.sig_expected.load()) s.sig_expected.store(settled);
    }
}

void Controller::after_step(int p, std::uint64_t step) {
    settle_signals();
    ProcSlot& slot = rt_.arena->slot(p);
    Proc& pr = procs_[p];
    StepOutcome outcome = slot.outcome.load();
    switch (outcome) {
        case StepOutcome::Blocked:
            pr.parked = true;
            pr.parked_epoch = epoch_;
            return;
        case StepOutcome::BlockedChanged:  // others may now proceed; it waits for a change of theirs
            ++epoch_;
            pr.parked = true;
            pr.parked_epoch = epoch_;
            return;
        case StepOutcome::Exiting:
            pr.exiting = true;
            if (wait_death(p, 5000)) on_death(p);
            return;
        case StepOutcome::Done: {
            pr.parked = false;
            ++epoch_;
            if (plan_.processes[p].is_exec()) return;  // a program's call: no op of the plan
            std::uint32_t op_index = slot.op.load();
            const Op& op = plan_.ops[op_index];
            if (op.kind == OpKind::Semop && slot.result.load() == 0)
                for (std::uint32_t i = 0; i < op.count; ++i) {
                    const SemTerm& t = plan_.sem_terms[op.first + i];
                    if (t.delta < 0) last_taker_[plan_.sems[op.object].first_value + t.member] = p;
                }
            faults_.after_op(static_cast<int>(p), op_index, [&](const PlanFault& pf) { fire(pf, step); });
            return;
        }
        default:
            pr.parked = false;
            ++epoch_;
            return;
    }
}

std::vector<int> Controller::runnable() const {
    std::vector<int> out;
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        const Proc& pr = procs_[p];
        if (!pr.known || pr.dead || pr.exiting || !scheduled(plan_, rt_, static_cast<int>(p))) continue;
        if (pr.parked && pr.parked_epoch == epoch_) continue;  // nothing changed since it last tried
        out.push_back(static_cast<int>(p));
    }
    return out;
}

// Nothing can step: time moves on to the first timed wait's timeout (the
// lowest-numbered process in one), which then fails with ETIMEDOUT.
bool Controller::expire_timed_wait() {
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        Proc& pr = procs_[p];
        if (!pr.known || pr.dead || !pr.parked) continue;
        ProcSlot& slot = rt_.arena->slot(p);
        // A program says so itself (semtimedop, sem_timedwait, mq_timed*);
        // a script's op is a P with a timeout.
        auto timed_op = [&] {
            const Op& op = plan_.ops[slot.op.load()];
            return op.kind == OpKind::PsemWait && op.value > 0;
        };
        if (plan_.processes[p].is_exec() ? !slot.timed.load() : !timed_op()) continue;
        slot.timed_out.store(1);
        pr.parked = false;
        return true;
    }
    return false;
}

// Nothing can step and no timed wait is left: time moves on to the
// earliest alarm a program set (the fewest seconds; then the lowest
// number), and simrun sends its SIGALRM.
bool Controller::ring_alarm() {
    int first = -1;
    std::uint32_t secs = 0;
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        const Proc& pr = procs_[p];
        const std::uint32_t s = rt_.arena->slot(p).alarm_secs.load();
        if (pr.known && !pr.dead && s > 0 && (first < 0 || s < secs)) first = static_cast<int>(p), secs = s;
    }
    if (first < 0) return false;
    ProcSlot& slot = rt_.arena->slot(first);
    slot.alarm_secs.store(0);
    announce_signal(slot, SIGALRM);
    ::kill(slot.pid.load(), SIGALRM);
    settle_signals();
    ++epoch_;
    return true;
}

// Nothing scheduled can step, but exec'd programs still run free: wait for
// one of them to end (a parent may be reaping it). So do the processes the
// traced programs started themselves (forked, spawned): a program parked in
// its wait may be waiting for one. False if none is left.
bool Controller::wait_free_running() {
    std::vector<pollfd> fds;
    std::vector<int> who;  // declared process, or -1: a program's own child
    std::vector<pid_t> programs, declared;
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        if (!procs_[p].known || procs_[p].dead) continue;
        const pid_t pid = rt_.arena->slot(p).pid.load();
        declared.push_back(pid);
        if (plan_.processes[p].is_exec()) programs.push_back(pid);
        if (!scheduled(plan_, rt_, static_cast<int>(p))) fds.push_back({procs_[p].pidfd.get(), POLLIN, 0}), who.push_back(static_cast<int>(p));
    }
    std::vector<UniqueFd> children;
    for (const Descendant& d : programs.empty() ? std::vector<Descendant>{} : descendants(programs)) {
        if (std::find(declared.begin(), declared.end(), d.pid) != declared.end()) continue;
        if (d.zombie) {
            // Died since its parent last tried its wait: once, everyone may retry.
            if (!announced_zombies_.insert(d.pid).second) continue;
            ++epoch_;
            return true;
        }
        UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, d.pid, 0)));
        if (!fd.valid()) continue;
        fds.push_back({fd.get(), POLLIN, 0}), who.push_back(-1);
        children.push_back(std::move(fd));
    }
    if (fds.empty()) return false;
    while (::poll(fds.data(), fds.size(), 10) <= 0) {
        hooks_.idle();
        if (hooks_.stop_requested() || monotonic_ns() >= deadline_) return true;  // the loop reports it
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        if (who[i] >= 0) on_death(who[i]);
        else ++epoch_;  // its parent may reap it now
    }
    return true;
}

bool Controller::alive_scheduled() const {
    for (std::size_t p = 0; p < procs_.size(); ++p)
        if (procs_[p].known && !procs_[p].dead && scheduled(plan_, rt_, static_cast<int>(p))) return true;
    return false;
}

ControlResult Controller::run(Strategy& strategy, std::uint64_t deadline_ns, const std::vector<int>* strict, bool record_choices) {
    deadline_ = deadline_ns;
    ControlResult out;
    discover();
    for (std::uint64_t step = 0;; ++step) {
        faults_.at_step(step, [&](const PlanFault& pf) { fire(pf, step); });
        if (monotonic_ns() >= deadline_) {
            out.outcome = Outcome::Timeout;
            return out;
        }
        if (hooks_.stop_requested()) {
            out.outcome = Outcome::Interrupted;
            return out;
        }
        std::vector<int> ready = runnable();
        if (ready.empty() && expire_timed_wait()) ready = runnable();
        if (ready.empty() && ring_alarm()) ready = runnable();
        if (ready.empty() && wait_free_running()) {
            --step;  // nobody stepped: the same step again, now that something changed
            continue;
        }
        if (ready.empty()) {
            if (!alive_scheduled()) return out;
            bool all_may_block = true;
            for (std::size_t p = 0; p < procs_.size(); ++p)
                if (procs_[p].known && !procs_[p].dead && scheduled(plan_, rt_, static_cast<int>(p)))
                    all_may_block = all_may_block && plan_.processes[p].may_end_blocked;
            if (!all_may_block) {
                out.outcome = Outcome::Deadlock;
                explain_deadlock(out);
                return out;
            }
            end_blocked(out);
            return out;
        }
        int p = strategy.pick(ready, step);
        if (strict && step < strict->size() && (*strict)[step] != p) {
            out.divergence = fmt::format("at step {} the schedule names {}, which cannot take a step now", step,
                                         plan_.processes[(*strict)[step]].name);
            out.outcome = Outcome::Interrupted;
            return out;
        }
        out.schedule.push_back(p);
        if (record_choices) out.choices.push_back(ready);
        ProcSlot& slot = rt_.arena->slot(p);
        gate_grant(slot, step);
        switch (wait_at_gate(p)) {
            case Wait::AtGate: after_step(p, step); break;
            case Wait::Died: on_death(p); break;  // killed inside its step (SIGPIPE, a crash)
            case Wait::Stopped: out.outcome = Outcome::Interrupted; return out;
            case Wait::Timeout: out.outcome = Outcome::Timeout; return out;
        }
        discover();
        if ((step & 255) == 255) hooks_.idle();
    }
}

// Every process left is blocked and declared may_end_blocked (a server in
// its receive loop): the run is complete; end them, in index order.
void Controller::end_blocked(ControlResult& out) {
    const WaitForGraph g = wait_for_graph();
    for (const WaitFor& w : g.waits) {
        out.diagnosis.push_back(fmt::format("{} ended blocked, as it may: {}", plan_.processes[w.proc].name, w.text));
        ::kill(rt_.arena->slot(w.proc).pid.load(), SIGKILL);
        if (wait_death(w.proc, 1000)) on_death(w.proc);
    }
}

// ---- deadlock: the wait-for graph -------------------------------------------

WaitForGraph Controller::wait_for_graph() const {
    auto alive = [&](int q) { return procs_[q].known && !procs_[q].dead; };
    auto stuck = [&](int q) { return scheduled(plan_, rt_, q); };
    return build_wait_for(plan_, take_wait_snapshot(plan_, *rt_.arena, rt_.semids, rt_.psems, alive, stuck, last_taker_));
}

void Controller::explain_deadlock(ControlResult& out) const {
    out.diagnosis.push_back("no process can take a step, and not all of them may end blocked:");
    for (auto& line : wait_for_lines(plan_, wait_for_graph(), true)) out.diagnosis.push_back(std::move(line));
}

}  // namespace simrun

#include "run/controller.hpp"

#include "run/proc_stats.hpp"
#include "spawn/spawner.hpp"
#include "trace/slot_signals.hpp"
#include "util/futex.hpp"
#include "run/parking.hpp"
#include "run/pipe_ends.hpp"
#include "run/wait_snapshot.hpp"

#include <poll.h>
#include <sys/msg.h>
#include <signal.h>
#include <semaphore.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace simrun {

// A process the controller schedules: a declared one (its identity is its
// index in the plan, and its slot), or a child a scheduled program forked
// (identities from P on, in the order they were forked; any spare slot).
struct Controller::Proc {
    int slot = -1;           // in the arena
    pid_t pid = 0;
    int root = -1;           // the declared process it descends from
    int parent = -1;         // a child: the process that forked it
    std::string name;        // "student", "student/1"
    bool known = false;      // forked, its pidfd open
    bool dead = false;       // exited (it may still wait for its parent to reap it)
    bool exiting = false;    // took its last step
    bool free_running = false;  // its step did not come back in time: it runs beside the others until it does
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
      faults_(plan.faults) {
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        procs_[p].slot = procs_[p].root = static_cast<int>(p);
        procs_[p].name = plan.processes[p].name;
    }
}

Controller::~Controller() = default;

ProcSlot& Controller::slot(int p) const { return rt_.arena->slot(static_cast<std::uint32_t>(procs_[p].slot)); }

bool Controller::declared(int p) const { return static_cast<std::size_t>(p) < plan_.processes.size(); }

// Scripted processes step op by op; an exec'd program call by call when the
// preload tracer can reach it (rt.stepped), else it runs free; the children
// of a scheduled program are scheduled as it is.
bool Controller::scheduled(int p) const {
    if (!declared(p)) return true;
    return !plan_.processes[p].is_exec() || (static_cast<std::size_t>(p) < rt_.stepped.size() && rt_.stepped[p]);
}

bool Controller::program(int p) const { return !declared(p) || plan_.processes[p].is_exec(); }

const std::string& Controller::name(int p) const { return procs_[p].name; }

std::vector<std::string> Controller::children() const {
    std::vector<std::string> out;
    for (std::size_t p = plan_.processes.size(); p < procs_.size(); ++p) out.push_back(procs_[p].name);
    return out;
}

void Controller::discover(bool after_fork) {
    for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
        Proc& pr = procs_[p];
        if (pr.known) continue;
        pid_t pid = rt_.arena->slot(p).pid.load();
        if (pid <= 0) continue;
        pr.known = true;
        pr.pid = pid;
        pr.pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
        // A new process has run its set-up (closing pipe ends it does not
        // use) before its first gate: nothing else moves until it is there.
        if (!scheduled(static_cast<int>(p))) continue;
        const Wait w = wait_at_gate(static_cast<int>(p));
        if (w == Wait::Died) on_death(static_cast<int>(p));
        if (w == Wait::RunningFree) run_free(static_cast<int>(p), 0);
    }
    if (after_fork && rt_.arena->spares() > 0) discover_children();
}

// A scheduled program's fork is its step, and the step ends once the child
// waits at its own gate (preload/processes.cpp): so a child is found here
// right after the step that made it, in the order of the forks, whatever
// spare slot it took. It is named as the trace names it (its parent's name,
// "/", and how many children that parent has had).
void Controller::discover_children() {
    const Arena& arena = *rt_.arena;
    for (std::uint32_t s = arena.processes(); s < arena.processes() + arena.spares(); ++s) {
        const ProcSlot& slot = arena.slot(s);
        const pid_t pid = slot.pid.load();
        if (pid <= 0 || !slot.scheduled.load() || slot.gate.load(std::memory_order_acquire) != kAtGate) continue;
        if (holder_.size() < arena.processes() + arena.spares()) holder_.resize(arena.processes() + arena.spares(), -1);
        if (holder_[s] >= 0 && procs_[holder_[s]].pid == pid) continue;  // found already
        // The process that holds the parent's slot now (it is alive: it just forked).
        const std::uint32_t ps = slot.parent.load();
        const int parent = ps < plan_.processes.size() ? static_cast<int>(ps) : ps < holder_.size() ? holder_[ps] : -1;
        Proc child;
        child.slot = static_cast<int>(s);
        child.pid = pid;
        child.root = parent >= 0 ? procs_[parent].root : -1;
        child.parent = parent;
        const std::string parent_name = parent >= 0 ? procs_[parent].name : "?";
        child.name = parent_name + "/" + std::to_string(++children_of_[parent_name]);
        child.known = true;
        child.pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
        holder_[s] = static_cast<int>(procs_.size());
        procs_.push_back(std::move(child));
    }
}

// How long a step may run without coming back before the process is let
// run beside the others: CPU time (a busy wait on shared memory, a long
// computation between two calls) or real time (a call simrun does not
// trace that blocks: poll, waitid, a socket).
constexpr std::uint64_t kStepCpuBudgetNs = 20'000'000, kStepWallBudgetNs = 500'000'000;

static std::uint64_t cpu_time_ns(pid_t pid) {
    clockid_t clock;
    timespec ts{};
    if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0;
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

Controller::Wait Controller::wait_at_gate(int p) {
    ProcSlot& slot = this->slot(p);
    std::uint64_t since = 0, cpu0 = 0;
    for (;;) {
        if (gate_wait_back(slot, 64, 2'000'000)) return Wait::AtGate;
        hooks_.idle();
        // Only a program runs code of its own between two steps.
        if (program(p)) {
            const std::uint64_t now = monotonic_ns(), cpu = cpu_time_ns(procs_[p].pid);
            if (since == 0) since = now, cpu0 = cpu;
            else if (now - since >= kStepWallBudgetNs || cpu - cpu0 >= kStepCpuBudgetNs) return Wait::RunningFree;
        }
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
    pid_t pid = pr.pid;
    struct rusage usage = {};
    if (wait4(pid, &status, WNOHANG, &usage) == pid) record_exit(rt_, ring_, pid, status, usage, true);
    if (declared(p)) record_death(rt_, ring_, p, getpid());  // a zombie if its parent has yet to reap it; its children orphans
    parking_.changed();
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
    parking_.changed();
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
        ProcSlot& s = slot(static_cast<int>(q));
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
    ProcSlot& slot = this->slot(p);
    Proc& pr = procs_[p];
    StepOutcome outcome = slot.outcome.load();
    parking_.after_step(p, outcome);
    const bool slept = outcome == StepOutcome::Done &&
                       (program(p) ? static_cast<CallId>(slot.call.load()) == CallId::Sleep : plan_.ops[slot.op.load()].kind == OpKind::Sleep);
    if (slept && strategy_) strategy_->slept(p);
    switch (outcome) {
        case StepOutcome::Exiting:
            pr.exiting = true;
            if (wait_death(p, 5000)) on_death(p);
            return;
        case StepOutcome::Done: {
            if (program(p)) {
                const auto call = static_cast<CallId>(slot.call.load());
                if ((call == CallId::Kill || call == CallId::Sigqueue) &&
                    std::find(program_signalers_.begin(), program_signalers_.end(), p) == program_signalers_.end())
                    program_signalers_.push_back(p);
                if (call == CallId::Msgsnd || call == CallId::Msgrcv) {
                    auto& users = (call == CallId::Msgsnd ? program_senders_ : program_receivers_)[slot.sem_id.load()];
                    if (std::find(users.begin(), users.end(), p) == users.end()) users.push_back(p);
                    return;
                }
                if (call != CallId::Semop) return;
                const std::pair<int, int> sem{slot.sem_id.load(), slot.sem_num.load()};
                const int op = slot.sem_op.load();
                if (op < 0) program_takers_[sem] = p;
                auto& rel = program_releasers_[sem];
                if (op > 0 && std::find(rel.begin(), rel.end(), p) == rel.end()) rel.push_back(p);
                return;
            }  // a program's call: no op of the plan
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
        default: return;
    }
}

std::vector<int> Controller::runnable() const {
    std::vector<int> out;
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        const Proc& pr = procs_[p];
        if (!pr.known || pr.dead || pr.exiting || pr.free_running || !scheduled(static_cast<int>(p))) continue;
        if (parking_.waiting(static_cast<int>(p))) continue;  // nothing changed since it last tried
        out.push_back(static_cast<int>(p));
    }
    return out;
}

// Nothing can step: time moves on to the first timed wait's timeout (the
// lowest-numbered process in one), which then fails with ETIMEDOUT.
bool Controller::expire_timed_wait() {
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        Proc& pr = procs_[p];
        if (!pr.known || pr.dead || !parking_.parked(static_cast<int>(p))) continue;
        ProcSlot& slot = this->slot(static_cast<int>(p));
        // A program says so itself (semtimedop, sem_timedwait, mq_timed*);
        // a script's op is a P with a timeout.
        auto timed_op = [&] {
            const Op& op = plan_.ops[slot.op.load()];
            return op.kind == OpKind::PsemWait && op.value > 0;
        };
        if (program(static_cast<int>(p)) ? !slot.timed.load() : !timed_op()) continue;
        slot.timed_out.store(1);
        parking_.release(static_cast<int>(p));
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
        const std::uint32_t s = slot(static_cast<int>(p)).alarm_secs.load();
        if (pr.known && !pr.dead && s > 0 && (first < 0 || s < secs)) first = static_cast<int>(p), secs = s;
    }
    if (first < 0) return false;
    ProcSlot& slot = this->slot(first);
    slot.alarm_secs.store(0);
    announce_signal(slot, SIGALRM);
    ::kill(slot.pid.load(), SIGALRM);
    settle_signals();
    parking_.changed();
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
        const pid_t pid = procs_[p].pid;
        declared.push_back(pid);
        if (program(static_cast<int>(p))) programs.push_back(pid);
        if (!scheduled(static_cast<int>(p))) fds.push_back({procs_[p].pidfd.get(), POLLIN, 0}), who.push_back(static_cast<int>(p));
    }
    std::vector<UniqueFd> children;
    for (const Descendant& d : programs.empty() ? std::vector<Descendant>{} : descendants(programs)) {
        if (std::find(declared.begin(), declared.end(), d.pid) != declared.end()) continue;
        if (d.zombie) {
            // Died since its parent last tried its wait: once, everyone may retry.
            if (!announced_zombies_.insert(d.pid).second) continue;
            parking_.changed();
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
        else parking_.changed();  // its parent may reap it now
    }
    return true;
}

// A step that did not come back within its budget: the process runs beside
// the scheduled ones until it reaches its next call, and the report says
// that from this step on the run is not reproducible.
void Controller::run_free(int p, std::uint64_t step) {
    procs_[p].free_running = true;
    notes_.push_back(fmt::format("{} ran without a traced call for longer than a step may (a busy wait, a long computation, or a call "
                                 "simrun does not trace): it ran beside the scheduled processes from step {}, so the run is not "
                                 "reproducible from there",
                                 name(p), step));
}

void Controller::rejoin(std::uint64_t step) {
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        Proc& pr = procs_[p];
        if (!pr.free_running || pr.dead || !gate_is_back(slot(static_cast<int>(p)))) continue;
        pr.free_running = false;
        after_step(static_cast<int>(p), step);
    }
}

// Nothing at a gate can step, but a process runs free: wait a little for it
// to come back or die.
bool Controller::wait_running_free() {
    for (std::size_t p = 0; p < procs_.size(); ++p) {
        Proc& pr = procs_[p];
        if (!pr.free_running || pr.dead) continue;
        if (!gate_wait_back(slot(static_cast<int>(p)), 0, 5'000'000)) {
            hooks_.idle();
            pollfd pf{pr.pidfd.get(), POLLIN, 0};
            if (pf.fd >= 0 && ::poll(&pf, 1, 0) > 0) on_death(static_cast<int>(p));
        }
        // What it did meanwhile (a program writing its answer through stdio,
        // which no wrapper sees) may be what a parked process waits for: they
        // all try again.
        parking_.changed();
        return true;
    }
    return false;
}

std::vector<std::string> Controller::describe_children() const {
    std::vector<std::string> lines;
    for (std::size_t p = plan_.processes.size(); p < procs_.size(); ++p) {
        const Proc& pr = procs_[p];
        if (!pr.known || pr.dead) continue;
        const auto call = call_name(static_cast<CallId>(slot(static_cast<int>(p)).call.load()));
        lines.push_back(pr.free_running ? fmt::format("  {} runs its own code since its last call ({})", pr.name, call)
                        : parking_.parked(static_cast<int>(p)) ? fmt::format("  {} waits in its {}", pr.name, call)
                                        : fmt::format("  {} is at its next step (after its {})", pr.name, call));
    }
    return lines;
}

bool Controller::alive_scheduled() const {
    for (std::size_t p = 0; p < procs_.size(); ++p)
        if (procs_[p].known && !procs_[p].dead && scheduled(static_cast<int>(p))) return true;
    return false;
}

ControlResult Controller::run(Strategy& strategy, std::uint64_t deadline_ns, const std::vector<int>* strict, bool record_choices) {
    deadline_ = deadline_ns;
    strategy_ = &strategy;
    ControlResult out;
    discover();
    std::uint64_t idle_at = 0;
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
        if (hooks_.trace_full && hooks_.trace_full()) {
            out.outcome = Outcome::TraceLimit;
            return out;
        }
        rejoin(step);
        std::vector<int> ready = runnable();
        if (ready.empty() && wait_running_free()) {
            --step;
            continue;
        }
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
                if (procs_[p].known && !procs_[p].dead && scheduled(static_cast<int>(p)))
                    all_may_block = all_may_block && procs_[p].root >= 0 && plan_.processes[procs_[p].root].may_end_blocked;
            if (!all_may_block) {
                out.outcome = spinning() ? Outcome::Livelock : Outcome::Deadlock;
                explain_deadlock(out);
                return out;
            }
            end_blocked(out);
            return out;
        }
        int p = strategy.pick(ready, step);
        if (strict && step < strict->size() && (*strict)[step] != p) {
            out.divergence = fmt::format("at step {} the schedule names {}, which cannot take a step now", step,
                                         (*strict)[step] < static_cast<int>(procs_.size()) ? name((*strict)[step]) : "a process not forked yet");
            out.outcome = Outcome::Interrupted;
            return out;
        }
        out.schedule.push_back(p);
        if (record_choices) out.choices.push_back(ready);
        const std::uint32_t ahead = run_ahead(strategy, ready, step, p, strict);
        gate_grant(slot(p), step, ahead);
        ++out.handoffs;
        const Wait w = wait_at_gate(p);
        if (ahead > 0 && (w == Wait::AtGate || w == Wait::Died)) {
            // The steps it took of those granted at once: the strategy picks
            // them now (it would have picked p for each), as if one by one.
            const std::uint64_t last = std::min(slot(p).last_step.load(), step + ahead);
            for (std::uint64_t s = step + 1; s <= last; ++s) {
                strategy.pick(ready, s);
                out.schedule.push_back(p);
                if (record_choices) out.choices.push_back(ready);
            }
            step = std::max(step, last);
        }
        switch (w) {
            case Wait::AtGate: after_step(p, step); break;
            case Wait::Died:  // it ended inside its step (returned from main, SIGPIPE, a crash): what the step sent comes first
                settle_signals();
                on_death(p);
                break;
            case Wait::Stopped: out.outcome = Outcome::Interrupted; return out;
            case Wait::Timeout: out.outcome = Outcome::Timeout; return out;
            case Wait::RunningFree: run_free(p, step); break;
        }
        // Children appear only by a program's fork step.
        discover(program(p) && static_cast<CallId>(slot(p).call.load()) == CallId::Fork);
        if (step - idle_at >= 256) hooks_.idle(), idle_at = step;
    }
}

// How many steps after `step` process p may take without handing its gate
// back: as many as the strategy would give it in a row while nothing the
// picks depend on changes. So only when every live scheduled process can
// step (none is parked waiting for a change, which p's next step would
// make), p is a script (a program steps call by call) with no `after`
// fault, no fault is due at those steps, and a strict replay names p for
// each. The agent hands the gate back early at a step that blocks or that
// the controller must see (Agent::keeps_batch); the picks it did not take
// are not made. At most kMaxRun, so that deadlines, stop requests and the
// trace limit are looked at often.
std::uint32_t Controller::run_ahead(const Strategy& strategy, const std::vector<int>& ready, std::uint64_t step, int p,
                                    const std::vector<int>* strict) const {
    constexpr std::uint64_t kMaxRun = 1024;
    if (program(p) || faults_.has_after_op(p)) return 0;
    std::size_t eligible = 0;
    for (std::size_t q = 0; q < procs_.size(); ++q) {
        const Proc& pr = procs_[q];
        if (pr.known && !pr.dead && !pr.exiting && !pr.free_running && scheduled(static_cast<int>(q))) ++eligible;
    }
    if (eligible != ready.size()) return 0;
    const std::uint64_t limit = std::min(kMaxRun, faults_.next_at_step(step + 1) - step - 1);
    auto ahead = strategy.clone();
    std::uint32_t n = 0;
    while (n < limit && ahead->pick(ready, step + 1 + n) == p && (!strict || step + 1 + n >= strict->size() || (*strict)[step + 1 + n] == p)) ++n;
    return n;
}

// Every process left is blocked and declared may_end_blocked (a server in
// its receive loop): the run is complete; end them, in index order.
void Controller::end_blocked(ControlResult& out) {
    const WaitForGraph g = wait_for_graph();
    for (const WaitFor& w : g.waits) {
        out.diagnosis.push_back(fmt::format("{} ended blocked, as it may: {}", name(w.proc), w.text));
        ::kill(procs_[w.proc].pid, SIGKILL);
        if (wait_death(w.proc, 1000)) on_death(w.proc);
    }
}

// ---- deadlock: the wait-for graph -------------------------------------------

WaitForGraph Controller::wait_for_graph() const {
    auto alive = [&](int q) { return procs_[q].known && !procs_[q].dead; };
    auto stuck = [&](int q) { return scheduled(q); };
    SnapshotProcs procs;
    for (std::size_t q = 0; q < procs_.size(); ++q) {
        procs.slots.push_back(procs_[q].slot);
        procs.names.push_back(declared(static_cast<int>(q)) ? std::string() : procs_[q].name);
        procs.parents.push_back(procs_[q].parent);
    }
    WaitSnapshot snap = take_wait_snapshot(plan_, *rt_.arena, procs, rt_.semids, rt_.psems, alive, stuck, last_taker_);
    snap.program_takers = program_takers_;
    snap.program_releasers = program_releasers_;
    snap.program_senders = program_senders_;
    snap.program_signalers = program_signalers_;
    snap.program_receivers = program_receivers_;
    std::vector<pid_t> pids;
    for (std::size_t q = 0; q < procs_.size(); ++q) pids.push_back(alive(static_cast<int>(q)) ? procs_[q].pid : 0);
    for (std::size_t q = 0; q < snap.procs.size(); ++q) {
        auto& pr = snap.procs[q];
        const auto c = static_cast<CallId>(pr.call);
        if (!pr.waits || pr.sem_id < 0 || !program(static_cast<int>(q))) continue;
        if (c == CallId::Msgsnd || c == CallId::Msgrcv)
            if (msqid_ds ds{}; msgctl(pr.sem_id, IPC_STAT, &ds) == 0) snap.queue_messages[pr.sem_id] = static_cast<long>(ds.msg_qnum);
        if (c == CallId::Read || c == CallId::Write) {
            pr.pipe = fd_target(pids[q], pr.sem_id);
            pr.pipe_ends = ends_held(pids, pr.pipe, c == CallId::Read);
        }
    }
    return build_wait_for(plan_, snap);
}

// Is a live scheduled process parked in a busy-wait loop (a while with an
// empty body whose condition held, or a while whose last iteration changed
// nothing)? Then nobody's step can end its spin.
bool Controller::spinning() const {
    for (std::size_t p = 0; p < plan_.processes.size() && p < procs_.size(); ++p) {
        const Proc& pr = procs_[p];
        if (!pr.known || pr.dead || plan_.processes[p].is_exec() || !parking_.parked(static_cast<int>(p))) continue;
        const Op& op = plan_.ops[slot(static_cast<int>(p)).op.load()];
        if (op.kind == OpKind::Test && (op.flags & (kOpSpin | kOpWhile))) return true;
    }
    return false;
}

void Controller::explain_deadlock(ControlResult& out) const {
    out.diagnosis.push_back(spinning() ? "the spinning processes read what no step of anyone can change (a livelock):"
                                       : "no process can take a step, and not all of them may end blocked:");
    const WaitForGraph g = wait_for_graph();
    for (auto& line : wait_for_lines(plan_, g, true)) out.diagnosis.push_back(std::move(line));
    out.wait_for_dot = wait_for_dot(g, "deadlock in " + plan_.name);
}

}  // namespace simrun

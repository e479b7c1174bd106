#include "agent/agent_impl.hpp"

// The step loop: gates, ops to completion, children, the end of the script.

namespace simrun::detail {

void Agent::run() {
    const PlanProcess& me = plan_.processes[proc_];
    install_dispositions(rt_, proc_);
    end_step(StepOutcome::Started);
    for (int child : me.children) {
        if (std::find(me.forked_by_op.begin(), me.forked_by_op.end(), child) != me.forked_by_op.end()) continue;
        begin_step();
        spawn_process(rt_, child, ring_, run_script);
        end_step(StepOutcome::Internal);
    }
    close_unused_pipe_ends(rt_, proc_, false, me.forked_by_op.data(), me.forked_by_op.size());
    const Op* ops = plan_.ops.data() + me.first_op;
    for (std::int64_t iter = 0; iter < me.repeat; ++iter) {
        iter_ = static_cast<std::uint32_t>(iter);
        for (std::uint32_t pc = 0; pc < me.op_count;) {
            // Straight-line ops run here; tests, jumps and values go through step_at.
            if (ops[pc].kind >= OpKind::Test) {
                pc = step_at(ops, pc);
                continue;
            }
            op_index_ = me.first_op + pc;
            run_op(ops[pc++]);
        }
    }
    finish();
}

// ---- steps -----------------------------------------------------------
// Controlled mode: every step waits at the gate for the supervisor's
// grant and reports its outcome. Free mode: both are no-ops.
void Agent::begin_step() {
    if (!controlled_) return;
    if (batch_left_ > 0) {  // granted already, with the step before it
        --batch_left_;
        slot_.last_step.store(++step_, std::memory_order_relaxed);
        return;
    }
    step_ = gate_await_grant(slot_);
    batch_left_ = slot_.batch.load(std::memory_order_relaxed);
    slot_.last_step.store(step_, std::memory_order_relaxed);
}

void Agent::end_step(StepOutcome outcome) {
    if (!controlled_) return;
    // In a run of granted steps the gate goes back only where the controller
    // must look: a step that blocked, ended the process, or did what it
    // accounts for itself (signals, forks, sleeps, a semaphore taken).
    if (batch_left_ > 0 && keeps_batch_ && (outcome == StepOutcome::Done || outcome == StepOutcome::Partial)) return;
    batch_left_ = 0;
    gate_hand_back(slot_, outcome);
}

// Steps of these ops change nothing the controller keeps between steps
// beyond what the trace records: a run of granted steps goes on through them.
bool Agent::keeps_batch(const Op& op) const {
    switch (op.kind) {
        case OpKind::ShmLoad:
        case OpKind::ShmStore:
        case OpKind::ShmAdd:
        case OpKind::Test:
        case OpKind::Print:
        case OpKind::PipeWrite:
        case OpKind::PipeRead:
        case OpKind::MsgSend:
        case OpKind::MsgRecv:
        case OpKind::PsemWait:
        case OpKind::PsemPost: return true;
        case OpKind::Semop:  // a V or a wait for zero: the controller keeps who last took each semaphore
            for (std::uint32_t i = 0; i < op.count; ++i)
                if (plan_.sem_terms[op.first + i].delta < 0) return false;
            return true;
        default: return false;
    }
}

// Runs one op to completion: in controlled mode a blocking op is retried
// each time the supervisor grants a step, until it can proceed.
void Agent::run_op(const Op& op) {
    bool parked = false;
    keeps_batch_ = controlled_ && keeps_batch(op);
    for (;;) {
        begin_step();
        // Published inside the step: between steps the supervisor reads
        // them as the op just done (or the op it is parked in).
        slot_.op.store(op_index_, std::memory_order_relaxed);
        slot_.iter.store(iter_, std::memory_order_relaxed);
        bool changed_before = announced_;
        // Before the change, so that whoever reads what it changed sees the epoch moved.
        if (epoch_ && !parked && may_change_shared(op)) epoch_->fetch_add(1, std::memory_order_seq_cst);
        if (attempt(op, parked) == Attempt::Done) break;
        if (!parked) {
            begin(EventKind::Block);
            commit();
            parked = true;
        }
        end_step(announced_ != changed_before ? StepOutcome::BlockedChanged : StepOutcome::Blocked);
    }
    end_step(StepOutcome::Done);
    keeps_batch_ = false;
    if (self_faults_) rt_.faults.after_op(proc_, op_index_, [this](const PlanFault& f) { self_fault(f); });
}

// Called inside a granted step (the exit op, or the reap that found no
// child left): that step is the process's last.
void Agent::exit_now(int code) {
    end_step(StepOutcome::Exiting);
    _exit(code);
}

Record& Agent::begin(EventKind kind, std::uint8_t flags, std::uint64_t stamp) {
    Record& r = ring_.begin(kind, proc_, flags, stamp);
    r.e.op = op_index_;
    r.e.iter = iter_;
    r.e.step = step_;
    current_ = &r;
    return r;
}

void Agent::commit_watched() {
    const Record& r = *current_;
    const Op& op = plan_.ops[op_index_];
    // A nowait op that did what it asked changed what others read.
    if ((op.flags & kOpNoWait) && r.kind == EventKind::Op && r.e.err == 0) epoch_->fetch_add(1, std::memory_order_seq_cst);
    if (quiet_) {
        // Quiet: this iteration repeats the last one, unless the epoch
        // moved (read after the op, which read after any change it saw)
        // or the loop ends.
        const bool loop_ends = op.kind == OpKind::Test && (op.flags & kOpWhile) && r.e.result == 0;
        if (!loop_ends && epoch_->load(std::memory_order_acquire) == jump_epoch_) return;
        leave_quiet();
    }
    ring_.commit();
}

Attempt Agent::attempt(const Op& op, bool parked) {
    switch (op.kind) {
        case OpKind::Semop: return semop_step(op, parked);
        case OpKind::ShmLoad: return shm_load(op);
        case OpKind::ShmStore: return shm_store(op);
        case OpKind::ShmAdd: return (op.flags & kOpAtomic) ? shm_atomic_add(op) : shm_racy_add(op);
        case OpKind::PipeWrite: return pipe_write(op, parked);
        case OpKind::PipeRead: return pipe_read(op, parked);
        case OpKind::PipeClose: return pipe_close(op);
        case OpKind::Sleep: return sleep(op);
        case OpKind::Print:
            begin(EventKind::Op);
            commit();
            record_text(op, text_of(op));
            return Attempt::Done;
        case OpKind::Exit:
            begin(EventKind::Op).e.result = op.value;
            commit();
            exit_now(static_cast<int>(op.value));
        case OpKind::MsgSend: return msg_send(op, parked);
        case OpKind::MsgRecv: return msg_recv(op, parked);
        case OpKind::PsemWait: return psem_wait(op, parked);
        case OpKind::PsemPost: return psem_post(op);
        case OpKind::FifoOpen: return fifo_open(op, parked);
        case OpKind::Kill: return send_signal(op);
        case OpKind::SigMask: return mask_signals(op);
        case OpKind::Pause: return pause_op(parked);
        case OpKind::SigWait: return sigwait_op(op, parked);
        case OpKind::Fork: {
            for (std::uint32_t i = 0; i < op.count; ++i) spawn_process(rt_, op.object + static_cast<int>(i), ring_, run_script);
            forked_ += op.count;
            // Ends kept for these children are no longer the parent's business.
            const auto& later = plan_.processes[proc_].forked_by_op;
            close_unused_pipe_ends(rt_, proc_, false, later.data() + forked_, later.size() - forked_);
            begin(EventKind::Op).e.result = op.count;
            commit();
            return Attempt::Done;
        }
        case OpKind::Wait: return wait_op(op, parked);
        case OpKind::Crash: crash(op);
        case OpKind::IpcGet: return ipc_get(op);
        case OpKind::Semctl: return sem_control(op);
        case OpKind::Shmctl: return shm_control(op);
        case OpKind::Msgctl: return msg_control(op);
        case OpKind::Test: return test(op);
        case OpKind::Jump:
        case OpKind::Loop:
        case OpKind::SetValue: break;  // step_at: not steps
        case OpKind::Choose: return fail_untouched(ENOENT, choice_value_);  // step_at found no variant for the value
    }
    return Attempt::Done;
}

// In controlled mode time is not modelled: a sleep is one step.
Attempt Agent::sleep(const Op& op) {
    if (!controlled_) {
        // A quiet loop that sleeps still spins: its sleep ends with nothing changed.
        if (!quiet_) slot_.state.store(ProcState::Sleeping, std::memory_order_release);
        timespec ts{static_cast<time_t>(op.value / 1'000'000'000), static_cast<long>(op.value % 1'000'000'000)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        slot_.state.store(running_state(), std::memory_order_release);
    }
    begin(EventKind::Op);
    commit();
    return Attempt::Done;
}

// ---- children ------------------------------------------------------
// Free mode: wait for them all. Controlled mode: reap whoever has
// exited, one step at a time, parking while none has.
void Agent::reap_children() {
    slot_.state.store(ProcState::WaitingChildren, std::memory_order_release);
    int status = 0;
    for (;;) {
        begin_step();
        struct rusage usage = {};
        pid_t pid = ::wait4(-1, &status, controlled_ ? WNOHANG : 0, &usage);
        if (pid > 0) {
            record_exit(rt_, ring_, pid, status, usage);
            end_step(StepOutcome::Internal);
            continue;
        }
        if (pid < 0 && errno == EINTR) {
            end_step(StepOutcome::Blocked);
            continue;
        }
        if (pid == 0) {  // controlled: children alive, none exited yet
            end_step(StepOutcome::Blocked);
            continue;
        }
        break;  // ECHILD: none left; this step goes on to the exit
    }
}

// ---- faults (free mode; the controlled scheduler sends its own) ----
// The agent's own copy of the injector (made before fork) counts its ops.
void Agent::self_fault(const PlanFault& f) {
    Record& r = begin(EventKind::Fault);
    r.e.arg = f.signal;
    commit();
    ::kill(::getpid(), f.signal);
}

}  // namespace simrun::detail

namespace simrun {

int run_script(Runtime& rt, int proc) {
    rt.arena->slot(proc).state.store(ProcState::Running);
    detail::Agent(rt, proc).run();
}

}  // namespace simrun

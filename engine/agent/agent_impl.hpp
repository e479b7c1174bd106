// Internal to agent/: the Agent, the body of a scripted process, split over
// agent.cpp (the step loop, children, exit), agent_sync.cpp (semaphores,
// shared memory, System V control), agent_io.cpp (pipes, FIFOs, message
// queues) and agent_proc.cpp (signals, wait, crash). Each op is one step:
// record, do the real system call, record the result; a blocking op first
// tries without blocking. No allocation after fork: only the Plan.
#pragma once

#include "agent/agent.hpp"
#include "agent/signals.hpp"
#include "spawn/spawner.hpp"
#include "util/futex.hpp"
#include <mqueue.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <signal.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>

namespace simrun::detail {

constexpr std::uint32_t kMaxSemTerms = 32;

// IPC_SET: the fields the op names replace what IPC_STAT read (ipc_perm).
inline void apply_ipc_set(const Op& op, ipc_perm& perm) {
    if (op.value >= 0) perm.mode = static_cast<unsigned short>((perm.mode & ~0777u) | static_cast<unsigned>(op.value));
    if (op.slot != kUnchanged) perm.uid = op.slot;
    if (op.first != kUnchanged) perm.gid = op.first;
}

// One attempt at an op or at a step of it.
enum class Attempt { Done, WouldBlock };

class Agent {
public:
    Agent(Runtime& rt, int proc)
        : rt_(rt),
          plan_(*rt.plan),
          proc_(static_cast<std::uint16_t>(proc)),
          slot_(rt.arena->slot(proc)),
          ring_(rt.arena->writer(proc, rt.wake_fd)),
          controlled_(plan_.mode == SchedMode::Controlled),
          // Controlled mode: the controller fires every fault.
          self_faults_(!controlled_ && rt.faults.has_after_op(proc)),
          epoch_(plan_.watch_loops ? &rt.arena->shared_epoch() : nullptr) {}

    [[noreturn]] void run();

private:
    // ---- steps -----------------------------------------------------------
    // Controlled mode: every step waits at the gate for the supervisor's
    // grant and reports its outcome. Free mode: both are no-ops.
    void begin_step();

    void end_step(StepOutcome outcome);
    bool keeps_batch(const Op& op) const;

    // Runs one op to completion: in controlled mode a blocking op is retried
    // each time the supervisor grants a step, until it can proceed.
    void run_op(const Op& op);

    // Ends the script: close pipe ends, reap children (as a course program
    // does with wait()), exit 0.
    [[noreturn]] void finish();

    // Called inside a granted step (the exit op, or the reap that found no
    // child left): that step is the process's last.
    [[noreturn]] void exit_now(int code);

    Record& begin(EventKind kind, std::uint8_t flags = 0, std::uint64_t stamp = 0);  // stamp: taken earlier (0: now)
    // Publishes the record begin() gave; a loop gone quiet drops it (see quiet_).
    void commit() {
        if (epoch_) return commit_watched();
        ring_.commit();
    }
    void commit_watched();
    // A payload (Data records) after the record just committed.
    void data(const char* bytes, std::size_t n) {
        if (!quiet_) ring_.data(bytes, n, proc_);
    }

    // Ops that may wake another process (writes, sends, closes, semctl) take
    // effect inside their call; their record is dated when the call began,
    // so a process they woke is never shown waking before them.
    void stamp_call() { call_ts_ = ring_.stamp(); }

    Attempt attempt(const Op& op, bool parked);

    // ---- values and control flow (agent_control.cpp) -------------------
    // The script's op at pc, run; returns the next pc. Jump, Loop and
    // SetValue are not steps; a Test is one (it reads shared state).
    std::uint32_t step_at(const Op* ops, std::uint32_t pc);

    // A condition or a {value}: Plan::code from op.code, op.code_len.
    std::int64_t evaluate(const Op& op) const { return evaluate(op.code, op.code_len); }
    std::int64_t evaluate(std::uint32_t code, std::uint16_t len) const;

    // The value an op gives, kept when it was written `as NAME`.
    void bind(const Op& op, std::int64_t v) {
        if (op.bind) set_value(op.bind - 1u, v);
    }
    void set_value(std::uint32_t slot, std::int64_t v) {
        locals_changed_ |= values_[slot] != v;
        values_[slot] = v;
    }

    // ---- loops that change nothing (Plan::watch_loops) ------------------
    // Might the op change what another process (or this one) reads? Then
    // the run's shared epoch moves before it runs (a nowait op that failed
    // changed nothing; one that succeeded moves it as it is recorded).
    static bool may_change_shared(const Op& op);
    // A jump back to the loop's head at pc `to`: was the iteration that ends
    // here idle (the epoch unmoved and the script's values unchanged since
    // the last jump back to the same place)? Free mode goes quiet after
    // kQuietAfter idle iterations in a row: the loop's records are dropped
    // and its slot says Spinning, until the epoch moves.
    void jump_back(std::uint32_t to);
    void leave_quiet();
    ProcState running_state() const { return quiet_ ? ProcState::Spinning : ProcState::Running; }
    static constexpr std::uint32_t kQuietAfter = 1000;

    // The number an op uses: computed when it has a {value}, else its own.
    std::int64_t value_of(const Op& op) const { return op.code_len ? evaluate(op) : op.value; }

    Attempt test(const Op& op);

    // ---- semaphores ----------------------------------------------------
    // Values are not read back here (a semctl per op would double the cost
    // of a P or V); the supervisor replays them from the ordered stream.
    Attempt semop_step(const Op& op, bool parked);

    // ---- shared memory -------------------------------------------------
    // The op's cell: fixed, or picked by its computed index (nullptr when
    // that is out of the array's range; cell_index_ keeps the index).
    std::int64_t* cell(const Op& op) {
        if (!op.index_len) return rt_.shm[op.object] + op.slot;
        cell_index_ = evaluate(op.index_code, op.index_len);
        if (cell_index_ < 0 || cell_index_ >= static_cast<std::int64_t>(op.count)) return nullptr;
        return rt_.shm[op.object] + op.slot + cell_index_;
    }
    // The op fails, touching nothing: a computed index out of its array's
    // range (ERANGE), a computed name no declared object has (ENOENT).
    Attempt fail_untouched(int err, std::int64_t value);
    Attempt bad_index() { return fail_untouched(ERANGE, cell_index_); }
    // The op's text: as written, or its template with the values written in (text_buf_).
    std::string_view text_of(const Op& op);
    // A template's text goes into the trace after the op's record, as its payload.
    void record_text(const Op& op, std::string_view text) {
        if (op.flags & kOpTemplate) data(text.data(), text.size());
    }

    void record_value(std::int64_t v, std::uint8_t flags = 0);

    Attempt shm_load(const Op& op);

    Attempt shm_store(const Op& op);

    // Two steps, as the compiled code of `x += n` is: another process may
    // store between our load and our store, and its update is lost.
    Attempt shm_racy_add(const Op& op);

    Attempt shm_atomic_add(const Op& op);

    // ---- pipes ---------------------------------------------------------
    // Free mode waits for the fd (recording the block first); controlled
    // mode reports that it would block and lets the scheduler retry.
    bool ready(int fd, short events, bool& parked);

    void finish(std::int64_t result, int err, bool parked, std::int64_t arg = 0);  // arg: a send's type

    Attempt pipe_write(const Op& op, bool parked);

    Attempt pipe_read(const Op& op, bool parked);

    // Closes this process's end (read 0, write 1) of pipe or FIFO p.
    int close_end(std::size_t p, int end);

    Attempt pipe_close(const Op& op);

    // open(2) on a FIFO with its blocking semantics: a write-open waits for
    // a reader (O_NONBLOCK says ENXIO while there is none); a read-open
    // waits for a writer. Free mode blocks for real; controlled mode parks
    // the process, using the run's writer counters to decide a read-open.
    Attempt fifo_open(const Op& op, bool parked);

    // In controlled mode time is not modelled: a sleep is one step.
    Attempt sleep(const Op& op);

    // ---- message queues ------------------------------------------------
    // Try without blocking (IPC_NOWAIT, or the O_NONBLOCK descriptor); if it
    // would block: controlled mode parks, free mode records the block and
    // makes the blocking call.
    template <typename Try, typename Wait>
    Attempt queue_step(const Op& op, bool& parked, Try try_once, Wait wait, std::int64_t& rc, int& err);

    Attempt msg_send(const Op& op, bool parked);

    Attempt msg_recv(const Op& op, bool parked);

    // ---- POSIX semaphores ----------------------------------------------
    // sem_getvalue reads the semaphore's memory: the value after each op is
    // exact and costs no system call.
    void psem_record(const Op& op, std::int64_t rc, int err, bool parked);

    Attempt psem_wait(const Op& op, bool parked);

    Attempt psem_post(const Op& op);

    // ---- signals -------------------------------------------------------
    void publish_mask();

    static void to_set(std::uint64_t bits, sigset_t& set);

    Attempt send_signal(const Op& op);

    Attempt mask_signals(const Op& op);

    void publish_mask_after_unblock(const sigset_t& set);

    Attempt pause_op(bool parked);

    Attempt sigwait_op(const Op& op, bool parked);

    [[noreturn]] void crash(const Op& op);

    Attempt wait_op(const Op& op, bool parked);

    // ---- System V keys and control -------------------------------------
    Attempt ipc_get(const Op& op);

    Attempt sem_control(const Op& op);

    Attempt shm_control(const Op& op);

    Attempt msg_control(const Op& op);

    // ---- children ------------------------------------------------------
    // Free mode: wait for them all. Controlled mode: reap whoever has
    // exited, one step at a time, parking while none has.
    void reap_children();

    // ---- faults (free mode; the controlled scheduler sends its own) ----

    void self_fault(const PlanFault& f);

    struct MsgBuf {
        long mtype;
        char text[8192];
    };
    Runtime& rt_;
    const Plan& plan_;
    std::uint16_t proc_;
    ProcSlot& slot_;
    RingWriter ring_;
    bool controlled_;
    std::uint32_t op_index_ = 0, iter_ = 0;
    std::uint64_t step_ = kNoStep;
    std::uint32_t batch_left_ = 0;  // controlled: steps granted beyond the one it is in
    bool keeps_batch_ = false;      // the op in progress may go on through a run of granted steps
    std::uint64_t call_ts_ = 0;  // stamp_call(): when a call that may wake others began
    bool waiting_open_ = false;  // controlled: counted among a FIFO's waiting writers
    bool announced_ = false;     // flips when a parked attempt changed shared state
    std::uint32_t pause_from_ = 0;  // handler runs counted when a pause began
    std::size_t forked_ = 0;        // children forked by fork ops so far
    bool self_faults_;  // free mode, and an `after` fault names this process
    std::int64_t values_[kMaxValues] = {};  // `as NAME` values and repeat counters
    bool taken_ = false;                    // the last Test's outcome
    std::int64_t cell_index_ = 0;           // the computed index of the last op on buf.items[{k}]
    std::int64_t choice_value_ = 0;         // the value of the last Choose (P forks.f{k})
    char text_buf_[kMaxTemplateText];       // the last text_of a template
    mutable bool bad_index_ = false;        // a condition read an array out of its range
    std::atomic<std::uint64_t>* epoch_;     // the run's shared epoch, when Plan::watch_loops
    Record* current_ = nullptr;             // the record begin() gave last
    std::uint64_t jump_epoch_ = 0;          // the epoch at the last jump back
    std::uint32_t jump_to_ = 0xffffffffu;   // where (pc) the last jump back went
    std::uint32_t idle_in_row_ = 0;         // idle iterations in a row, ended by jumps back to jump_to_
    bool locals_changed_ = false;           // a value of the script's own changed since the last jump back
    bool idle_ = false;                     // the iteration that just ended changed nothing (until the next op)
    bool quiet_ = false;                    // free mode: records dropped (see jump_back)
};

}  // namespace simrun::detail

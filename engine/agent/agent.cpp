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

namespace simrun {
namespace {

constexpr std::uint32_t kMaxSemTerms = 32;

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
          controlled_(plan_.mode == SchedMode::Controlled) {
        for (const auto& f : plan_.faults)
            if (f.proc == proc && f.trigger == FaultTrigger::AfterOp && !controlled_) fault_ = &f;
    }

    [[noreturn]] void run() {
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
            for (std::uint32_t i = 0; i < me.op_count; ++i) {
                op_index_ = me.first_op + i;
                run_op(ops[i]);
            }
        }
        finish();
    }

private:
    // ---- steps -----------------------------------------------------------
    // Controlled mode: every step waits at the gate for the supervisor's
    // grant and reports its outcome. Free mode: both are no-ops.
    void begin_step() {
        if (!controlled_) return;
        std::uint32_t g;
        while ((g = slot_.gate.load(std::memory_order_acquire)) != kGranted) futex_wait(&slot_.gate, g);
        slot_.gate.store(kRunning, std::memory_order_relaxed);
        step_ = slot_.step.load(std::memory_order_relaxed);
    }

    void end_step(StepOutcome outcome) {
        if (!controlled_) return;
        slot_.outcome.store(outcome, std::memory_order_relaxed);
        slot_.gate.store(kAtGate, std::memory_order_release);
        futex_wake(&slot_.gate);
    }

    // Runs one op to completion: in controlled mode a blocking op is retried
    // each time the supervisor grants a step, until it can proceed.
    void run_op(const Op& op) {
        bool parked = false;
        for (;;) {
            begin_step();
            // Published inside the step: between steps the supervisor reads
            // them as the op just done (or the op it is parked in).
            slot_.op.store(op_index_, std::memory_order_relaxed);
            slot_.iter.store(iter_, std::memory_order_relaxed);
            bool changed_before = announced_;
            if (attempt(op, parked) == Attempt::Done) break;
            if (!parked) {
                begin(EventKind::Block);
                ring_.commit();
                parked = true;
            }
            end_step(announced_ != changed_before ? StepOutcome::BlockedChanged : StepOutcome::Blocked);
        }
        end_step(StepOutcome::Done);
        if (fault_ && is_fault_op(op_index_) && ++fault_matches_ == fault_->count) self_fault();
    }

    // Ends the script: close pipe ends, reap children (as a course program
    // does with wait()), exit 0.
    [[noreturn]] void finish() {
        bool open = false;
        for (auto& fds : rt_.pipe_fds) open = open || fds[0] >= 0 || fds[1] >= 0;
        if (open) {
            begin_step();
            for (std::size_t p = 0; p < rt_.pipe_fds.size(); ++p)
                for (int end = 0; end < 2; ++end) close_end(p, end);
            end_step(StepOutcome::Internal);
        }
        reap_children();
        exit_now(0);
    }

    // Called inside a granted step (the exit op, or the reap that found no
    // child left): that step is the process's last.
    [[noreturn]] void exit_now(int code) {
        end_step(StepOutcome::Exiting);
        _exit(code);
    }

    Record& begin(EventKind kind, std::uint8_t flags = 0) {
        Record& r = ring_.begin(kind, proc_, flags);
        r.e.op = op_index_;
        r.e.iter = iter_;
        r.e.step = step_;
        return r;
    }

    Attempt attempt(const Op& op, bool parked) {
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
                ring_.commit();
                return Attempt::Done;
            case OpKind::Exit:
                begin(EventKind::Op).e.result = op.value;
                ring_.commit();
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
                ring_.commit();
                return Attempt::Done;
            }
            case OpKind::Wait: return wait_op(op, parked);
            case OpKind::Crash: crash(op);
            case OpKind::IpcGet: return ipc_get(op);
            case OpKind::Semctl: return sem_control(op);
        }
        return Attempt::Done;
    }

    // ---- semaphores ----------------------------------------------------
    // Values are not read back here (a semctl per op would double the cost
    // of a P or V); the supervisor replays them from the ordered stream.
    Attempt semop_step(const Op& op, bool parked) {
        sembuf ops[kMaxSemTerms];
        bool releases_only = true;
        for (std::uint32_t i = 0; i < op.count; ++i) {
            const SemTerm& t = plan_.sem_terms[op.first + i];
            ops[i].sem_num = t.member;
            ops[i].sem_op = t.delta;
            ops[i].sem_flg = static_cast<short>(((op.flags & kOpUndo) ? SEM_UNDO : 0) | IPC_NOWAIT);
            releases_only = releases_only && t.delta > 0;
        }
        const int id = rt_.semids[op.object];
        // Stamp a V before its call and a P after it returns: each takes
        // effect inside that window, so the merged trace never shows a P
        // before the V that let it through, and replayed values never dip
        // below the kernel's.
        Record* early = releases_only ? &begin(EventKind::Op) : nullptr;
        int rc = ::semop(id, ops, op.count);
        int err = rc < 0 ? errno : 0;
        bool would_block = rc < 0 && err == EAGAIN && !(op.flags & kOpNoWait);
        if (would_block && controlled_) return Attempt::WouldBlock;  // the scheduler decides when to retry
        // Parked, the process stands for one blocked in semop: if the set was
        // removed meanwhile, the kernel would have woken it with EIDRM.
        if (controlled_ && parked && rc < 0 && err == EINVAL) err = EIDRM;
        if (would_block) {
            begin(EventKind::Block);
            ring_.commit();
            slot_.state.store(ProcState::BlockedSem, std::memory_order_release);
            for (std::uint32_t i = 0; i < op.count; ++i) ops[i].sem_flg &= ~IPC_NOWAIT;
            do rc = ::semop(id, ops, op.count);
            while (rc < 0 && errno == EINTR);
            err = rc < 0 ? errno : 0;
            slot_.state.store(ProcState::Running, std::memory_order_release);
            parked = true;
        }
        slot_.result.store(rc, std::memory_order_relaxed);
        Record& r = early ? *early : begin(EventKind::Op);
        r.flags = parked ? kRecBlocked : 0;
        r.e.result = rc;
        r.e.err = err;
        ring_.commit();
        return Attempt::Done;
    }

    // ---- shared memory -------------------------------------------------
    std::int64_t* cell(const Op& op) const { return rt_.shm[op.object] + op.slot; }

    void record_value(std::int64_t v, std::uint8_t flags = 0) {
        Record& r = begin(EventKind::Op, static_cast<std::uint8_t>(kRecValue | flags));
        r.e.value = v;
        ring_.commit();
    }

    Attempt shm_load(const Op& op) {
        record_value(__atomic_load_n(cell(op), __ATOMIC_RELAXED));
        return Attempt::Done;
    }

    Attempt shm_store(const Op& op) {
        __atomic_store_n(cell(op), op.value, __ATOMIC_RELAXED);
        record_value(op.value);
        return Attempt::Done;
    }

    // Two steps, as the compiled code of `x += n` is: another process may
    // store between our load and our store, and its update is lost.
    Attempt shm_racy_add(const Op& op) {
        std::int64_t v = __atomic_load_n(cell(op), __ATOMIC_RELAXED);
        record_value(v, kRecLoadStep);
        end_step(StepOutcome::Partial);
        begin_step();
        __atomic_store_n(cell(op), v + op.value, __ATOMIC_RELAXED);
        record_value(v + op.value, kRecStoreStep);
        return Attempt::Done;
    }

    Attempt shm_atomic_add(const Op& op) {
        record_value(__atomic_add_fetch(cell(op), op.value, __ATOMIC_SEQ_CST));
        return Attempt::Done;
    }

    // ---- pipes ---------------------------------------------------------
    // Free mode waits for the fd (recording the block first); controlled
    // mode reports that it would block and lets the scheduler retry.
    bool ready(int fd, short events, bool& parked) {
        pollfd p{fd, events, 0};
        if (::poll(&p, 1, 0) > 0) return true;
        if (controlled_) return false;
        begin(EventKind::Block);
        ring_.commit();
        slot_.state.store(ProcState::BlockedPipe, std::memory_order_release);
        while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        slot_.state.store(ProcState::Running, std::memory_order_release);
        parked = true;
        return true;
    }

    void finish(std::int64_t result, int err, bool parked) {
        Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0);
        r.e.result = result;
        r.e.err = err;
        ring_.commit();
    }

    Attempt pipe_write(const Op& op, bool parked) {
        int fd = rt_.pipe_fds[op.object][1];
        const std::string& text = plan_.texts[op.first];
        if (fd >= 0 && !ready(fd, POLLOUT, parked)) return Attempt::WouldBlock;
        ssize_t n = fd < 0 ? (errno = EBADF, -1) : ::write(fd, text.data(), text.size());
        finish(n, n < 0 ? errno : 0, parked);
        return Attempt::Done;
    }

    Attempt pipe_read(const Op& op, bool parked) {
        int fd = rt_.pipe_fds[op.object][0];
        char buf[65536];
        std::size_t want = static_cast<std::size_t>(op.value);
        for (;;) {
            if (fd >= 0 && !ready(fd, POLLIN, parked)) return Attempt::WouldBlock;
            ssize_t n = fd < 0 ? (errno = EBADF, -1) : ::read(fd, buf, want);
            finish(n, n < 0 ? errno : 0, parked);
            if (n > 0) ring_.data(buf, static_cast<std::size_t>(n), proc_);
            if (!(op.flags & kOpReadAll) || n <= 0) return Attempt::Done;
            // `read all`: each further read is a step of its own.
            end_step(StepOutcome::Partial);
            begin_step();
            parked = false;
        }
    }

    // Closes this process's end (read 0, write 1) of pipe or FIFO p.
    int close_end(std::size_t p, int end) {
        int& fd = rt_.pipe_fds[p][end];
        if (fd < 0) return 0;
        int rc = ::close(fd);
        fd = -1;
        if (end == 1 && rt_.fifo_counters && !rt_.fifo_paths[p].empty()) rt_.fifo_counters[p].writers_open.fetch_sub(1);
        return rc;
    }

    Attempt pipe_close(const Op& op) {
        int rc = 0, err = 0;
        for (int end = 0; end < 2; ++end)
            if (close_end(op.object, end) != 0) rc = -1, err = errno;
        finish(rc, err, false);
        return Attempt::Done;
    }

    // open(2) on a FIFO with its blocking semantics: a write-open waits for
    // a reader (O_NONBLOCK says ENXIO while there is none); a read-open
    // waits for a writer. Free mode blocks for real; controlled mode parks
    // the process, using the run's writer counters to decide a read-open.
    Attempt fifo_open(const Op& op, bool parked) {
        const char* path = rt_.fifo_paths[op.object].c_str();
        FifoCounters& count = rt_.fifo_counters[op.object];
        const bool write = op.value == 1, nowait = (op.flags & kOpNoWait) != 0;
        int fd = -1, err = 0;
        if (write) {
            fd = ::open(path, O_WRONLY | O_NONBLOCK);
            err = fd < 0 ? errno : 0;
            if (fd < 0 && err == ENXIO && !nowait) {
                if (controlled_) {
                    if (!waiting_open_) count.writers_waiting.fetch_add(1), waiting_open_ = true, announced_ = !announced_;
                    return Attempt::WouldBlock;
                }
                begin(EventKind::Block);
                ring_.commit();
                slot_.state.store(ProcState::BlockedPipe, std::memory_order_release);
                count.writers_waiting.fetch_add(1);
                do fd = ::open(path, O_WRONLY);
                while (fd < 0 && errno == EINTR);
                err = fd < 0 ? errno : 0;
                count.writers_waiting.fetch_sub(1);
                slot_.state.store(ProcState::Running, std::memory_order_release);
                parked = true;
            }
            if (waiting_open_) count.writers_waiting.fetch_sub(1), waiting_open_ = false;
            if (fd >= 0) count.writers_open.fetch_add(1);
        } else if (nowait || controlled_) {
            if (controlled_ && !nowait && count.writers_open.load() + count.writers_waiting.load() == 0) return Attempt::WouldBlock;
            fd = ::open(path, O_RDONLY | O_NONBLOCK);
            err = fd < 0 ? errno : 0;
        } else {
            // A read-open cannot ask whether it would block: if it did, its
            // block is recorded afterwards, stamped when it began.
            std::uint64_t began = monotonic_ns();
            slot_.state.store(ProcState::BlockedPipe, std::memory_order_release);
            do fd = ::open(path, O_RDONLY);
            while (fd < 0 && errno == EINTR);
            err = fd < 0 ? errno : 0;
            slot_.state.store(ProcState::Running, std::memory_order_release);
            if (monotonic_ns() - began > 1'000'000) {
                begin(EventKind::Block).ts = began;
                ring_.commit();
                parked = true;
            }
        }
        if (fd >= 0 && (write || !nowait)) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        if (fd >= 0) {
            int& slot_fd = rt_.pipe_fds[op.object][write ? 1 : 0];
            if (slot_fd >= 0) close_end(op.object, write ? 1 : 0);
            slot_fd = fd;
        }
        finish(fd, err, parked);
        return Attempt::Done;
    }

    // In controlled mode time is not modelled: a sleep is one step.
    Attempt sleep(const Op& op) {
        if (!controlled_) {
            slot_.state.store(ProcState::Sleeping, std::memory_order_release);
            timespec ts{static_cast<time_t>(op.value / 1'000'000'000), static_cast<long>(op.value % 1'000'000'000)};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            }
            slot_.state.store(ProcState::Running, std::memory_order_release);
        }
        begin(EventKind::Op);
        ring_.commit();
        return Attempt::Done;
    }

    // ---- message queues ------------------------------------------------
    // Try without blocking (IPC_NOWAIT, or the O_NONBLOCK descriptor); if it
    // would block: controlled mode parks, free mode records the block and
    // makes the blocking call.
    template <typename Try, typename Wait>
    Attempt queue_step(const Op& op, bool& parked, Try try_once, Wait wait, std::int64_t& rc, int& err) {
        rc = try_once();
        err = rc < 0 ? errno : 0;
        bool would_block = rc < 0 && (err == EAGAIN || err == ENOMSG) && !(op.flags & kOpNoWait);
        // As for semop: a parked process stands for one blocked in the call, which a removal wakes with EIDRM.
        if (controlled_ && parked && rc < 0 && err == EINVAL) err = EIDRM;
        if (!would_block) return Attempt::Done;
        if (controlled_) return Attempt::WouldBlock;
        begin(EventKind::Block);
        ring_.commit();
        slot_.state.store(ProcState::BlockedQueue, std::memory_order_release);
        do rc = wait();
        while (rc < 0 && errno == EINTR);
        err = rc < 0 ? errno : 0;
        slot_.state.store(ProcState::Running, std::memory_order_release);
        parked = true;
        return Attempt::Done;
    }

    struct MsgBuf {
        long mtype;
        char text[8192];
    };

    Attempt msg_send(const Op& op, bool parked) {
        const std::string& text = plan_.texts[op.first];
        const QueueHandle& h = rt_.queues[op.object];
        std::int64_t rc;
        int err;
        Attempt a;
        if (plan_.queues[op.object].kind == QueueKind::SysV) {
            MsgBuf buf;
            buf.mtype = op.value;
            std::size_t n = text.size() < sizeof buf.text ? text.size() : sizeof buf.text;
            __builtin_memcpy(buf.text, text.data(), n);
            a = queue_step(op, parked, [&] { return static_cast<std::int64_t>(msgsnd(h.msqid, &buf, n, IPC_NOWAIT)); },
                           [&] { return static_cast<std::int64_t>(msgsnd(h.msqid, &buf, n, 0)); }, rc, err);
        } else {
            auto prio = static_cast<unsigned>(op.value);
            a = queue_step(op, parked, [&] { return static_cast<std::int64_t>(mq_send(h.nonblocking, text.data(), text.size(), prio)); },
                           [&] { return static_cast<std::int64_t>(mq_send(h.blocking, text.data(), text.size(), prio)); }, rc, err);
        }
        if (a == Attempt::WouldBlock) return a;
        finish(rc, err, parked);
        return Attempt::Done;
    }

    Attempt msg_recv(const Op& op, bool parked) {
        const PlanQueue& q = plan_.queues[op.object];
        const QueueHandle& h = rt_.queues[op.object];
        MsgBuf buf;
        std::int64_t rc;
        int err;
        Attempt a;
        std::int64_t got = 0;  // the message's type or priority
        if (q.kind == QueueKind::SysV) {
            a = queue_step(op, parked, [&] { return static_cast<std::int64_t>(msgrcv(h.msqid, &buf, sizeof buf.text, op.value, IPC_NOWAIT)); },
                           [&] { return static_cast<std::int64_t>(msgrcv(h.msqid, &buf, sizeof buf.text, op.value, 0)); }, rc, err);
            got = buf.mtype;
        } else {
            unsigned prio = 0;
            a = queue_step(op, parked, [&] { return static_cast<std::int64_t>(mq_receive(h.nonblocking, buf.text, sizeof buf.text, &prio)); },
                           [&] { return static_cast<std::int64_t>(mq_receive(h.blocking, buf.text, sizeof buf.text, &prio)); }, rc, err);
            got = prio;
        }
        if (a == Attempt::WouldBlock) return a;
        Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0);
        r.e.result = rc;
        r.e.err = err;
        r.e.arg = rc >= 0 ? got : 0;
        ring_.commit();
        if (rc > 0) ring_.data(buf.text, static_cast<std::size_t>(rc), proc_);
        return Attempt::Done;
    }

    // ---- POSIX semaphores ----------------------------------------------
    // sem_getvalue reads the semaphore's memory: the value after each op is
    // exact and costs no system call.
    void psem_record(const Op& op, std::int64_t rc, int err, bool parked) {
        Record& r = begin(EventKind::Op, static_cast<std::uint8_t>(kRecValue | (parked ? kRecBlocked : 0)));
        r.e.result = rc;
        r.e.err = err;
        int v = 0;
        sem_getvalue(rt_.psems[op.object], &v);
        r.e.value = v;
        ring_.commit();
    }

    Attempt psem_wait(const Op& op, bool parked) {
        sem_t* sem = rt_.psems[op.object];
        int rc = sem_trywait(sem);
        int err = rc < 0 ? errno : 0;
        if (rc < 0 && err == EAGAIN && !(op.flags & kOpNoWait) && controlled_) {
            // Time is not modelled: a timed wait parks like any other, until
            // the scheduler, with nobody else able to move, lets it time out.
            if (op.value > 0 && slot_.timed_out.exchange(0) != 0) err = ETIMEDOUT;
            else return Attempt::WouldBlock;
        } else if (rc < 0 && err == EAGAIN && !(op.flags & kOpNoWait)) {
            begin(EventKind::Block);
            ring_.commit();
            slot_.state.store(ProcState::BlockedPsem, std::memory_order_release);
            timespec deadline;
            if (op.value > 0) {
                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_sec += static_cast<time_t>((deadline.tv_nsec + op.value) / 1'000'000'000);
                deadline.tv_nsec = static_cast<long>((deadline.tv_nsec + op.value) % 1'000'000'000);
            }
            do rc = op.value > 0 ? sem_timedwait(sem, &deadline) : sem_wait(sem);
            while (rc < 0 && errno == EINTR);
            err = rc < 0 ? errno : 0;
            slot_.state.store(ProcState::Running, std::memory_order_release);
            parked = true;
        }
        psem_record(op, rc, err, parked);
        return Attempt::Done;
    }

    Attempt psem_post(const Op& op) {
        // Stamped before the call, as a V of System V: it may wake a waiter at once.
        int rc = sem_post(rt_.psems[op.object]);
        psem_record(op, rc, rc < 0 ? errno : 0, false);
        return Attempt::Done;
    }

    // ---- signals -------------------------------------------------------
    void publish_mask() {
        sigset_t cur;
        sigprocmask(SIG_SETMASK, nullptr, &cur);
        std::uint64_t bits = 0;
        for (int sig = 1; sig < 65 && sig < NSIG; ++sig)
            if (sigismember(&cur, sig) == 1) bits |= 1ull << (sig - 1);
        slot_.blocked.store(bits);
    }

    static void to_set(std::uint64_t bits, sigset_t& set) {
        sigemptyset(&set);
        for (int sig = 1; sig < 65 && sig < NSIG; ++sig)
            if (bits & (1ull << (sig - 1))) sigaddset(&set, sig);
    }

    Attempt send_signal(const Op& op) {
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
            if (controlled_) announce_signal(rt_, target, sig);
            if (op.flags & kOpSigqueue) {
                sigval v;
                v.sival_int = static_cast<int>(op.value);
                rc = ::sigqueue(pid, sig, v);
            } else {
                rc = op.object == kSelf ? ::raise(sig) : ::kill(pid, sig);
            }
        }
        r.e.result = rc;
        r.e.err = rc < 0 ? errno : 0;
        ring_.commit();
        return Attempt::Done;
    }

    Attempt mask_signals(const Op& op) {
        sigset_t set;
        to_set(static_cast<std::uint64_t>(op.value), set);
        Record& r = begin(EventKind::Op);  // before: an unblock delivers what was pending during the call
        if (op.slot) {
            sigset_t pending;
            sigpending(&pending);
            std::uint64_t bits = 0;
            for (int sig = 1; sig < 65 && sig < NSIG; ++sig)
                if (sigismember(&pending, sig) == 1 && (op.value & (1ll << (sig - 1)))) bits |= 1ull << (sig - 1);
            r.e.value = static_cast<std::int64_t>(bits);
            r.flags = kRecValue;
        }
        ring_.commit();
        if (!op.slot) sigprocmask(SIG_BLOCK, &set, nullptr), publish_mask();
        else publish_mask_after_unblock(set);
        return Attempt::Done;
    }

    void publish_mask_after_unblock(const sigset_t& set) {
        // Published first: a handler that runs during the unblock is not one a sender announced.
        std::uint64_t bits = slot_.blocked.load();
        for (int sig = 1; sig < 65 && sig < NSIG; ++sig)
            if (sigismember(&set, sig) == 1) bits &= ~(1ull << (sig - 1));
        slot_.blocked.store(bits);
        sigprocmask(SIG_UNBLOCK, &set, nullptr);
    }

    Attempt pause_op(bool parked) {
        if (!parked) pause_from_ = slot_.sig_handled.load();
        if (controlled_) {
            if (slot_.sig_handled.load() == pause_from_) return Attempt::WouldBlock;  // no handler has run yet
        } else {
            begin(EventKind::Block);
            ring_.commit();
            slot_.state.store(ProcState::BlockedSignal, std::memory_order_release);
            ::pause();
            slot_.state.store(ProcState::Running, std::memory_order_release);
            parked = true;
        }
        Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0);
        r.e.result = -1;
        r.e.err = EINTR;
        ring_.commit();
        return Attempt::Done;
    }

    Attempt sigwait_op(const Op& op, bool parked) {
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
            ring_.commit();
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
        ring_.commit();
        return Attempt::Done;
    }

    [[noreturn]] void crash(const Op& op) {
        begin(EventKind::Op).e.value = op.value;
        ring_.commit();
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

    Attempt wait_op(const Op& op, bool parked) {
        pid_t want = op.object == kSelf ? -1 : rt_.arena->slot(op.object).pid.load();
        if (want == 0) want = -1;  // not forked yet: wait reports ECHILD if it has no child at all
        int status = 0;
        pid_t rc = ::waitpid(want, &status, WNOHANG);
        if (rc == 0) {
            if (controlled_) return Attempt::WouldBlock;
            begin(EventKind::Block);
            ring_.commit();
            slot_.state.store(ProcState::WaitingChildren, std::memory_order_release);
            do rc = ::waitpid(want, &status, 0);
            while (rc < 0 && errno == EINTR);
            slot_.state.store(ProcState::Running, std::memory_order_release);
            parked = true;
        }
        int err = rc < 0 ? errno : 0;
        if (rc > 0) record_exit(rt_, ring_, rc, status);
        Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0);
        r.e.result = rc;
        r.e.err = err;
        r.e.arg = status;
        ring_.commit();
        return Attempt::Done;
    }

    // ---- System V keys and control -------------------------------------
    Attempt ipc_get(const Op& op) {
        const int flags = static_cast<int>(op.slot);
        int rc;
        switch (op.count) {
            case kSemget: rc = ::semget(rt_.sem_keys[op.object], static_cast<int>(op.value), flags); break;
            case kShmget: rc = ::shmget(rt_.shm_keys[op.object], static_cast<std::size_t>(op.value), flags); break;
            default: rc = ::msgget(rt_.msg_keys[op.object], flags); break;
        }
        finish(rc, rc < 0 ? errno : 0, false);
        return Attempt::Done;
    }

    Attempt sem_control(const Op& op) {
        const int id = rt_.semids[op.object];
        const int member = static_cast<int>(op.slot);
        int rc;
        switch (op.count) {
            case kSetval: {
                union {
                    int val;
                    void* ptr;
                } arg;
                arg.val = static_cast<int>(op.value);
                rc = ::semctl(id, member, SETVAL, arg);
                break;
            }
            case kGetval: rc = ::semctl(id, member, GETVAL); break;
            case kGetncnt: rc = ::semctl(id, member, GETNCNT); break;
            case kGetzcnt: rc = ::semctl(id, member, GETZCNT); break;
            default: rc = ::semctl(id, 0, IPC_RMID); break;
        }
        finish(rc, rc < 0 ? errno : 0, false);
        return Attempt::Done;
    }

    // ---- children ------------------------------------------------------
    // Free mode: wait for them all. Controlled mode: reap whoever has
    // exited, one step at a time, parking while none has.
    void reap_children() {
        slot_.state.store(ProcState::WaitingChildren, std::memory_order_release);
        int status = 0;
        for (;;) {
            begin_step();
            pid_t pid = ::waitpid(-1, &status, controlled_ ? WNOHANG : 0);
            if (pid > 0) {
                record_exit(rt_, ring_, pid, status);
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
    bool is_fault_op(std::uint32_t op_index) const {
        for (std::uint32_t i : fault_->ops)
            if (i == op_index) return true;
        return false;
    }

    void self_fault() {
        Record& r = begin(EventKind::Fault);
        r.e.arg = fault_->signal;
        ring_.commit();
        ::kill(::getpid(), fault_->signal);
    }

    Runtime& rt_;
    const Plan& plan_;
    std::uint16_t proc_;
    ProcSlot& slot_;
    RingWriter ring_;
    bool controlled_;
    std::uint32_t op_index_ = 0, iter_ = 0;
    std::uint64_t step_ = kNoStep;
    bool waiting_open_ = false;  // controlled: counted among a FIFO's waiting writers
    bool announced_ = false;     // flips when a parked attempt changed shared state
    std::uint32_t pause_from_ = 0;  // handler runs counted when a pause began
    std::size_t forked_ = 0;        // children forked by fork ops so far
    const PlanFault* fault_ = nullptr;
    std::int64_t fault_matches_ = 0;
};

}  // namespace

int run_script(Runtime& rt, int proc) {
    rt.arena->slot(proc).state.store(ProcState::Running);
    Agent(rt, proc).run();
}

}  // namespace simrun

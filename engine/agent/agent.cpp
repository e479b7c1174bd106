#include "agent/agent.hpp"

#include "spawn/spawner.hpp"

#include <poll.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace simrun {
namespace {

constexpr std::uint32_t kMaxSemTerms = 32;

class Agent {
public:
    Agent(Runtime& rt, int proc)
        : rt_(rt),
          plan_(*rt.plan),
          proc_(static_cast<std::uint16_t>(proc)),
          slot_(rt.arena->slot(proc)),
          ring_(rt.arena->writer(proc, rt.wake_fd)) {}

    int run() {
        const PlanProcess& me = plan_.processes[proc_];
        for (int child : me.children) spawn_process(rt_, child, ring_, run_script);
        close_unused_pipe_ends(rt_, proc_, false);
        const Op* ops = plan_.ops.data() + me.first_op;
        for (std::int64_t iter = 0; iter < me.repeat; ++iter) {
            iter_ = static_cast<std::uint32_t>(iter);
            slot_.iter.store(iter_, std::memory_order_relaxed);
            for (std::uint32_t i = 0; i < me.op_count; ++i) {
                op_index_ = me.first_op + i;
                slot_.op.store(op_index_, std::memory_order_relaxed);
                step(ops[i]);
            }
        }
        // Like a course program that closes its fds and wait()s for its children.
        for (auto& fds : rt_.pipe_fds)
            for (int& fd : fds)
                if (fd >= 0) ::close(fd), fd = -1;
        reap_children();
        return 0;
    }

private:
    Record& begin(EventKind kind, std::uint8_t flags = 0) {
        Record& r = ring_.begin(kind, proc_, flags);
        r.e.op = op_index_;
        r.e.iter = iter_;
        return r;
    }

    void step(const Op& op) {
        switch (op.kind) {
            case OpKind::Semop: return semop_step(op);
            case OpKind::ShmLoad: return shm_load(op);
            case OpKind::ShmStore: return shm_store(op);
            case OpKind::ShmAdd: return (op.flags & kOpAtomic) ? shm_atomic_add(op) : shm_racy_add(op);
            case OpKind::PipeWrite: return pipe_write(op);
            case OpKind::PipeRead: return pipe_read(op);
            case OpKind::PipeClose: return pipe_close(op);
            case OpKind::Sleep: return sleep(op);
            case OpKind::Print: begin(EventKind::Op), ring_.commit(); return;
            case OpKind::Exit:
                begin(EventKind::Op).e.result = op.value;
                ring_.commit();
                _exit(static_cast<int>(op.value));
        }
    }

    // ---- semaphores ----------------------------------------------------
    // Values are not read back here (a semctl per op would double the cost
    // of a P or V); the supervisor replays them from the ordered stream.
    void semop_step(const Op& op) {
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
        std::uint8_t flags = 0;
        if (rc < 0 && err == EAGAIN && !(op.flags & kOpNoWait)) {
            begin(EventKind::Block);
            ring_.commit();
            slot_.state.store(ProcState::BlockedSem, std::memory_order_release);
            for (std::uint32_t i = 0; i < op.count; ++i) ops[i].sem_flg &= ~IPC_NOWAIT;
            do rc = ::semop(id, ops, op.count);
            while (rc < 0 && errno == EINTR);
            err = rc < 0 ? errno : 0;
            slot_.state.store(ProcState::Running, std::memory_order_release);
            flags = kRecBlocked;
        }
        Record& r = early ? *early : begin(EventKind::Op);
        r.flags = flags;
        r.e.result = rc;
        r.e.err = err;
        ring_.commit();
    }

    // ---- shared memory -------------------------------------------------
    std::int64_t* cell(const Op& op) const { return rt_.shm[op.object] + op.slot; }

    void record_value(std::int64_t v, std::uint8_t flags = 0) {
        Record& r = begin(EventKind::Op, static_cast<std::uint8_t>(kRecValue | flags));
        r.e.value = v;
        ring_.commit();
    }

    void shm_load(const Op& op) { record_value(__atomic_load_n(cell(op), __ATOMIC_RELAXED)); }

    void shm_store(const Op& op) {
        __atomic_store_n(cell(op), op.value, __ATOMIC_RELAXED);
        record_value(op.value);
    }

    // Two steps, as the compiled code of `x += n` is: another process may
    // store between our load and our store, and its update is lost.
    void shm_racy_add(const Op& op) {
        std::int64_t v = __atomic_load_n(cell(op), __ATOMIC_RELAXED);
        record_value(v, kRecLoadStep);
        __atomic_store_n(cell(op), v + op.value, __ATOMIC_RELAXED);
        record_value(v + op.value, kRecStoreStep);
    }

    void shm_atomic_add(const Op& op) { record_value(__atomic_add_fetch(cell(op), op.value, __ATOMIC_SEQ_CST)); }

    // ---- pipes ---------------------------------------------------------
    // Polls without waiting; if the fd is not ready, records the block first.
    void wait_ready(int fd, short events) {
        pollfd p{fd, events, 0};
        if (::poll(&p, 1, 0) > 0) return;
        begin(EventKind::Block);
        ring_.commit();
        slot_.state.store(ProcState::BlockedPipe, std::memory_order_release);
        while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        slot_.state.store(ProcState::Running, std::memory_order_release);
        blocked_ = true;
    }

    void finish(std::int64_t result, int err) {
        Record& r = begin(EventKind::Op, blocked_ ? kRecBlocked : 0);
        r.e.result = result;
        r.e.err = err;
        ring_.commit();
        blocked_ = false;
    }

    void pipe_write(const Op& op) {
        int fd = rt_.pipe_fds[op.object][1];
        const std::string& text = plan_.texts[op.first];
        if (fd >= 0) wait_ready(fd, POLLOUT);
        ssize_t n = fd < 0 ? (errno = EBADF, -1) : ::write(fd, text.data(), text.size());
        finish(n, n < 0 ? errno : 0);
    }

    void pipe_read(const Op& op) {
        int fd = rt_.pipe_fds[op.object][0];
        char buf[65536];
        std::size_t want = static_cast<std::size_t>(op.value);
        for (;;) {
            if (fd >= 0) wait_ready(fd, POLLIN);
            ssize_t n = fd < 0 ? (errno = EBADF, -1) : ::read(fd, buf, want);
            finish(n, n < 0 ? errno : 0);
            if (n > 0) ring_.data(buf, static_cast<std::size_t>(n), proc_);
            if (!(op.flags & kOpReadAll) || n <= 0) return;
        }
    }

    void pipe_close(const Op& op) {
        int rc = 0, err = 0;
        for (int& fd : rt_.pipe_fds[op.object]) {
            if (fd < 0) continue;
            if (::close(fd) != 0) rc = -1, err = errno;
            fd = -1;
        }
        finish(rc, err);
    }

    void sleep(const Op& op) {
        slot_.state.store(ProcState::Sleeping, std::memory_order_release);
        timespec ts{static_cast<time_t>(op.value / 1'000'000'000), static_cast<long>(op.value % 1'000'000'000)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        slot_.state.store(ProcState::Running, std::memory_order_release);
        begin(EventKind::Op);
        ring_.commit();
    }

    // ---- children ------------------------------------------------------
    void reap_children() {
        slot_.state.store(ProcState::WaitingChildren, std::memory_order_release);
        int status = 0;
        for (;;) {
            pid_t pid = ::waitpid(-1, &status, 0);
            if (pid > 0) record_exit(rt_, ring_, pid, status);
            else if (errno != EINTR) break;  // ECHILD: none left
        }
    }

    Runtime& rt_;
    const Plan& plan_;
    std::uint16_t proc_;
    ProcSlot& slot_;
    RingWriter ring_;
    std::uint32_t op_index_ = 0, iter_ = 0;
    bool blocked_ = false;
};

}  // namespace

int run_script(Runtime& rt, int proc) {
    rt.arena->slot(proc).state.store(ProcState::Running);
    return Agent(rt, proc).run();
}

}  // namespace simrun

#include "agent/agent_impl.hpp"

// Pipes, FIFOs and message queues.

namespace simrun::detail {

// Ends the script: close pipe ends, reap children (as a course program
// does with wait()), exit 0.
void Agent::finish() {
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

// ---- pipes ---------------------------------------------------------
// Free mode waits for the fd (recording the block first); controlled
// mode reports that it would block and lets the scheduler retry.
bool Agent::ready(int fd, short events, bool& parked) {
    pollfd p{fd, events, 0};
    if (::poll(&p, 1, 0) > 0) return true;
    if (controlled_) return false;
    begin(EventKind::Block);
    commit();
    slot_.state.store(ProcState::BlockedPipe, std::memory_order_release);
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    slot_.state.store(ProcState::Running, std::memory_order_release);
    parked = true;
    return true;
}

void Agent::finish(std::int64_t result, int err, bool parked, std::int64_t arg) {
    // Dated when the call began, unless it blocked (a Block record came in between).
    Record& r = begin(EventKind::Op, parked ? kRecBlocked : 0, parked ? 0 : call_ts_);
    call_ts_ = 0;
    r.e.result = result;
    r.e.err = err;
    r.e.arg = arg;
    commit();
}

Attempt Agent::pipe_write(const Op& op, bool parked) {
    int fd = rt_.pipe_fds[op.object][1];
    if (fd >= 0 && !ready(fd, POLLOUT, parked)) return Attempt::WouldBlock;
    const std::string_view text = text_of(op);
    stamp_call();
    ssize_t n = fd < 0 ? (errno = EBADF, -1) : ::write(fd, text.data(), text.size());
    finish(n, n < 0 ? errno : 0, parked);
    record_text(op, text);
    return Attempt::Done;
}

Attempt Agent::pipe_read(const Op& op, bool parked) {
    int fd = rt_.pipe_fds[op.object][0];
    char buf[65536];
    std::size_t want = static_cast<std::size_t>(op.value);
    std::int64_t got = 0;
    for (;;) {
        if (fd >= 0 && !ready(fd, POLLIN, parked)) return Attempt::WouldBlock;
        ssize_t n = fd < 0 ? (errno = EBADF, -1) : ::read(fd, buf, want);
        finish(n, n < 0 ? errno : 0, parked);
        if (n > 0) data(buf, static_cast<std::size_t>(n));
        got += n > 0 ? n : 0;
        bind(op, n < 0 ? -1 : got);  // read ... as len: the bytes read (0 at EOF)
        if (!(op.flags & kOpReadAll) || n <= 0) return Attempt::Done;
        // `read all`: each further read is a step of its own.
        end_step(StepOutcome::Partial);
        begin_step();
        parked = false;
    }
}

// Closes this process's end (read 0, write 1) of pipe or FIFO p.
int Agent::close_end(std::size_t p, int end) {
    int& fd = rt_.pipe_fds[p][end];
    if (fd < 0) return 0;
    int rc = ::close(fd);
    fd = -1;
    if (end == 1 && rt_.fifo_counters && !rt_.fifo_paths[p].empty()) rt_.fifo_counters[p].writers_open.fetch_sub(1);
    return rc;
}

Attempt Agent::pipe_close(const Op& op) {
    int rc = 0, err = 0;
    stamp_call();  // a reader may see EOF at once
    for (int end = 0; end < 2; ++end)
        if (close_end(op.object, end) != 0) rc = -1, err = errno;
    finish(rc, err, false);
    return Attempt::Done;
}

// open(2) on a FIFO with its blocking semantics: a write-open waits for
// a reader (O_NONBLOCK says ENXIO while there is none); a read-open
// waits for a writer. Free mode blocks for real; controlled mode parks
// the process, using the run's writer counters to decide a read-open.
Attempt Agent::fifo_open(const Op& op, bool parked) {
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
            commit();
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
        const std::uint64_t began = monotonic_ns(), began_stamp = ring_.stamp();
        slot_.state.store(ProcState::BlockedPipe, std::memory_order_release);
        do fd = ::open(path, O_RDONLY);
        while (fd < 0 && errno == EINTR);
        err = fd < 0 ? errno : 0;
        slot_.state.store(ProcState::Running, std::memory_order_release);
        if (monotonic_ns() - began > 1'000'000) {
            begin(EventKind::Block, 0, began_stamp);
            commit();
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

// ---- message queues ------------------------------------------------
// Try without blocking (IPC_NOWAIT, or the O_NONBLOCK descriptor); if it
// would block: controlled mode parks, free mode records the block and
// makes the blocking call.
template <typename Try, typename Wait>
Attempt Agent::queue_step(const Op& op, bool& parked, Try try_once, Wait wait, std::int64_t& rc, int& err) {
    rc = try_once();
    err = rc < 0 ? errno : 0;
    bool would_block = rc < 0 && (err == EAGAIN || err == ENOMSG) && !(op.flags & kOpNoWait);
    // As for semop: a parked process stands for one blocked in the call, which a removal wakes with EIDRM.
    if (controlled_ && parked && rc < 0 && err == EINVAL) err = EIDRM;
    if (!would_block) return Attempt::Done;
    if (controlled_) return Attempt::WouldBlock;
    begin(EventKind::Block);
    commit();
    slot_.state.store(ProcState::BlockedQueue, std::memory_order_release);
    do rc = wait();
    while (rc < 0 && errno == EINTR);
    err = rc < 0 ? errno : 0;
    slot_.state.store(ProcState::Running, std::memory_order_release);
    parked = true;
    return Attempt::Done;
}

Attempt Agent::msg_send(const Op& op, bool parked) {
    const std::string_view text = text_of(op);
    const std::int64_t type = value_of(op);  // mtype or priority
    const QueueHandle& h = rt_.queues[op.object];
    std::int64_t rc;
    int err;
    Attempt a;
    stamp_call();
    if (plan_.queues[op.object].kind == QueueKind::SysV) {
        MsgBuf buf;
        buf.mtype = type;
        std::size_t n = text.size() < sizeof buf.text ? text.size() : sizeof buf.text;
        __builtin_memcpy(buf.text, text.data(), n);
        a = queue_step(op, parked, [&] { return static_cast<std::int64_t>(msgsnd(h.msqid, &buf, n, IPC_NOWAIT)); },
                       [&] { return static_cast<std::int64_t>(msgsnd(h.msqid, &buf, n, 0)); }, rc, err);
    } else {
        auto prio = static_cast<unsigned>(type);
        a = queue_step(op, parked, [&] { return static_cast<std::int64_t>(mq_send(h.nonblocking, text.data(), text.size(), prio)); },
                       [&] { return static_cast<std::int64_t>(mq_send(h.blocking, text.data(), text.size(), prio)); }, rc, err);
    }
    if (a == Attempt::WouldBlock) return a;
    finish(rc, err, parked, type);
    record_text(op, text);
    return Attempt::Done;
}

Attempt Agent::msg_recv(const Op& op, bool parked) {
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
    commit();
    if (rc > 0) data(buf.text, static_cast<std::size_t>(rc));
    bind(op, rc >= 0 ? got : -1);  // recv ... as req: req (req.type) is the message's type or priority
    return Attempt::Done;
}

// IPC_STAT: messages queued and the queue's byte limit; IPC_RMID removes
// the queue at once: a process blocked in it fails with EIDRM.
Attempt Agent::msg_control(const Op& op) {
    const int id = rt_.queues[op.object].msqid;
    msqid_ds ds = {};
    stamp_call();
    int rc = ::msgctl(id, op.count == kIpcRmid ? IPC_RMID : IPC_STAT, op.count == kIpcRmid ? nullptr : &ds);
    if (rc == 0 && op.count == kIpcSet) {
        apply_ipc_set(op, ds.msg_perm);
        rc = ::msgctl(id, IPC_SET, &ds);
    }
    int err = rc < 0 ? errno : 0;
    Record& r = begin(EventKind::Op, 0, call_ts_);
    call_ts_ = 0;
    r.e.result = rc;
    r.e.err = err;
    if (rc == 0 && op.count == kIpcStat) {
        r.e.value = static_cast<std::int64_t>(ds.msg_qnum);
        r.e.arg = static_cast<std::int64_t>(ds.msg_qbytes);
    }
    commit();
    return Attempt::Done;
}

}  // namespace simrun::detail

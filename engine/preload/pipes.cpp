// The pipe and FIFO wrappers: pipe, pipe2, mkfifo; read and write on pipe
// and FIFO descriptors (others are not IPC and go straight through); close,
// close_range, closefrom, dup2 and dup3 over the tracer's own descriptors.
#include "preload/tracer.hpp"

#include <limits.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>

namespace simrun::preload {
namespace {

// Pipes and FIFOs among the descriptors (reads and writes elsewhere are not
// IPC): 0 unknown, 1 pipe or FIFO, 2 something else.
constexpr int kFdCache = 1024;
constinit std::atomic<unsigned char> fd_kind[kFdCache];
bool is_pipe(int fd) {
    if (fd < 0 || fd >= kFdCache) return false;
    unsigned char k = fd_kind[fd].load(std::memory_order_relaxed);
    if (k == 0) {
        struct stat st;
        k = ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) ? 1 : 2;
        fd_kind[fd].store(k, std::memory_order_relaxed);
    }
    return k == 1;
}

}  // namespace

void forget_fd(int fd) {
    if (fd >= 0 && fd < kFdCache) fd_kind[fd].store(0, std::memory_order_relaxed);
}

// pipe and pipe2: one step; the kind of the two new descriptors is looked up afresh.
template <typename F>
int traced_pipe(int fds[2], int flags, F call) {
    return one_step(CallId::Pipe, [&] {
        enter_call(CallId::Pipe);
        int r = call();
        leave_call();
        int err = errno;
        if (r == 0) forget_fd(fds[0]), forget_fd(fds[1]);
        emit(CallId::Pipe, {r == 0 ? fds[0] : -1, r == 0 ? fds[1] : -1, flags}, r, r < 0 ? err : 0);
        errno = err;
        return r;
    });
}

}  // namespace simrun::preload

using namespace simrun;
using namespace simrun::preload;

extern "C" [[noreturn]] void __chk_fail();  // glibc's: "buffer overflow detected", then abort

#pragma GCC visibility push(default)
extern "C" {

int pipe(int fds[2]) { return traced_pipe(fds, 0, [&] { return real.pipe(fds); }); }
int pipe2(int fds[2], int flags) { return traced_pipe(fds, flags, [&] { return real.pipe2(fds, flags); }); }
int mkfifo(const char* path, mode_t mode) {
    return traced<int>(CallId::Mkfifo, {0, mode}, false, [&] { return real.mkfifo(path, mode); }, path, name_len(path));
}
int mkfifoat(int dir, const char* path, mode_t mode) {
    return traced<int>(CallId::Mkfifo, {0, mode}, false, [&] { return real.mkfifoat(dir, path, mode); }, path, name_len(path));
}
// mknod makes a FIFO as mkfifo does (older course code does it this way);
// other nodes are not recorded.
int mknod(const char* path, mode_t mode, dev_t dev) {
    if (!S_ISFIFO(mode)) return real.mknod(path, mode, dev);
    return traced<int>(CallId::Mkfifo, {0, mode}, false, [&] { return real.mknod(path, mode, dev); }, path, name_len(path));
}
int mknodat(int dir, const char* path, mode_t mode, dev_t dev) {
    if (!S_ISFIFO(mode)) return real.mknodat(dir, path, mode, dev);
    return traced<int>(CallId::Mkfifo, {0, mode}, false, [&] { return real.mknodat(dir, path, mode, dev); }, path, name_len(path));
}
// Controlled mode: would this read or write on a blocking pipe wait?
static bool would_block(int fd, short events) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) == 0;
}

// Free mode: would this read or write have waited? Tried with RWF_NOWAIT
// (a pipe takes it since Linux 5.9): one system call when it need not
// wait. EAGAIN on a descriptor the program opened O_NONBLOCK is its answer.
static bool nonblocking(int fd) {
    const int fl = ::fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

ssize_t read(int fd, void* buf, size_t n) {
    if (!on || in_hook || !is_pipe(fd)) return real.read(fd, buf, n);
    ssize_t r = -1;
    int err = 0;
    auto record = [&] {
        emit(CallId::Read, {fd, static_cast<std::int64_t>(n)}, r, r < 0 ? err : 0, 0, r > 0 ? buf : nullptr,
             r > 0 ? (r < 64 ? static_cast<size_t>(r) : 64) : 0);
        return true;
    };
    auto once = [&] {
        enter_call(CallId::Read);
        r = real.read(fd, buf, n);
        leave_call();
        err = errno;
        return record();
    };
    if (stepping()) {
        step_until_done(CallId::Read, {fd, static_cast<std::int64_t>(n)}, [&] {
            slot->sem_id.store(fd);  // for the wait-for graph
            return would_block(fd, POLLIN) ? false : once();
        });
    } else {
        iovec v{buf, n};
        enter_call(CallId::Read);
        r = ::preadv2(fd, &v, 1, -1, RWF_NOWAIT);
        err = errno;
        leave_call();
        if (r >= 0 || (err != EAGAIN && err != EOPNOTSUPP && err != EINVAL) || (err == EAGAIN && nonblocking(fd))) {
            record();
        } else {
            if (err == EAGAIN) record_wait_start(CallId::Read, {fd, static_cast<std::int64_t>(n)});
            once();
        }
    }
    errno = err;
    return r;
}
ssize_t write(int fd, const void* buf, size_t n) {
    if (!on || in_hook || !is_pipe(fd)) return real.write(fd, buf, n);
    const Args a{fd, static_cast<std::int64_t>(n)};
    if (!stepping()) {
        // Up to PIPE_BUF bytes a write is all or nothing, so RWF_NOWAIT tells
        // whether it would wait; a longer one may be cut short by it instead.
        if (n > PIPE_BUF) return traced<ssize_t>(CallId::Write, a, true, [&] { return real.write(fd, buf, n); }, buf, n < 64 ? n : 64);
        const std::uint64_t ts = now();
        return may_wait<ssize_t>(
            CallId::Write, a,
            [&](ssize_t& got) {
                iovec v{const_cast<void*>(buf), n};
                got = ::pwritev2(fd, &v, 1, -1, RWF_NOWAIT);
                if (got < 0 && (errno == EOPNOTSUPP || errno == EINVAL)) got = real.write(fd, buf, n);
                return !(got < 0 && errno == EAGAIN && !nonblocking(fd));
            },
            [&] { return real.write(fd, buf, n); },
            [&](ssize_t got) { emit(CallId::Write, a, got, got < 0 ? errno : 0, waited_call ? 0 : ts, buf, n < 64 ? n : 64); });
    }
    ssize_t r = -1;
    int err = 0;
    step_until_done(CallId::Write, a, [&] {
        slot->sem_id.store(fd);  // for the wait-for graph
        if (would_block(fd, POLLOUT)) return false;
        std::uint64_t ts = now();
        enter_call(CallId::Write);
        r = real.write(fd, buf, n);
        leave_call();
        err = errno;
        emit(CallId::Write, a, r, r < 0 ? err : 0, ts, buf, n < 64 ? n : 64);
        return true;
    });
    errno = err;
    return r;
}
// _FORTIFY_SOURCE's read, where the buffer's size is known.
ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
    if (n > buflen) __chk_fail();
    return read(fd, buf, n);
}
// The program reuses one of our numbers: let go of it (its exec will not
// be traced; a full ring then waits for the supervisor's periodic drain).
static void lose_fd(int fd) {
    if (vfork_child) return;  // its own descriptor table, its parent's memory
    forget_fd(fd);
    if (fd < 0) return;
    if (fd == keep_fd) keep_fd = -1;
    if (fd == wake) {
        wake = -1;
        main_ring.set_wake_fd(-1), signal_ring.set_wake_fd(-1);
    }
}
int close(int fd) {
    lose_fd(fd);
    return real.close(fd);
}
// Many at once (a daemon's or a shell's closefrom(3)): the tracer's own
// two and what it knew of the numbers in the range.
static void lose_range(unsigned first, unsigned last) {
    for (unsigned fd = first; fd <= last && fd < static_cast<unsigned>(kFdCache); ++fd) forget_fd(static_cast<int>(fd));
    for (int mine : {keep_fd, wake})
        if (mine >= 0 && static_cast<unsigned>(mine) >= first && static_cast<unsigned>(mine) <= last) lose_fd(mine);
}
int close_range(unsigned first, unsigned last, int flags) {
    if (!(flags & CLOSE_RANGE_CLOEXEC)) lose_range(first, last);  // with it, they only close at exec
    return real.close_range(first, last, flags);
}
void closefrom(int low) noexcept {
    if (low >= 0) lose_range(static_cast<unsigned>(low), ~0u);
    real.closefrom(low);
}
int dup2(int from, int to) {
    if (from != to) lose_fd(to);
    return real.dup2(from, to);
}
int dup3(int from, int to, int flags) {
    lose_fd(to);
    return real.dup3(from, to, flags);
}

}  // extern "C"
#pragma GCC visibility pop

// The System V wrappers: semaphores (semget, semop, semtimedop, semctl),
// shared memory and message queues.
#include "preload/tracer.hpp"

#include <sys/syscall.h>

#include <cstdarg>

using namespace simrun;
using namespace simrun::preload;

#pragma GCC visibility push(default)
extern "C" {

int semget(key_t key, int nsems, int flg) {
    return traced<int>(CallId::Semget, {key, nsems, flg}, false, [&] { return real.semget(key, nsems, flg); });
}

// A V (every sem_op > 0) is stamped before its call, anything that may wait
// after it returns: the order the trace shows is then causal.
static bool only_posts(const sembuf* sops, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (sops[i].sem_op <= 0) return false;
    return n > 0;
}

// One sembuf (the usual P or V) travels inside the record; more as Data.
// semtimedop's timeout: in ms + 1 in the fourth field (0: none).
static Args semop_args(int id, const sembuf* sops, size_t n, const timespec* t = nullptr) {
    Args a{id, static_cast<std::int64_t>(n), 0};
    if (n == 1 && sops) a.step = static_cast<std::int64_t>(pack_sembuf(sops[0].sem_num, sops[0].sem_op, sops[0].sem_flg));
    if (t) {
        const long long ms = static_cast<long long>(t->tv_sec) * 1000 + t->tv_nsec / 1'000'000;
        a.iter = static_cast<std::uint32_t>(ms < 0 ? 1 : ms >= 0xFFFFFFFELL ? 0xFFFFFFFFu : ms + 1);
    }
    return a;
}

// Would any operation wait? (Not if the caller asked for IPC_NOWAIT.)
static bool may_block(const sembuf* sops, size_t n) {
    bool waits = false;
    for (size_t i = 0; i < n; ++i) {
        if (sops[i].sem_flg & IPC_NOWAIT) return false;
        waits = waits || sops[i].sem_op <= 0;
    }
    return waits;
}

// Controlled mode: the operations with IPC_NOWAIT added; EAGAIN then means
// "would block" unless the program asked for IPC_NOWAIT itself.
static int semop_stepped(int id, sembuf* sops, size_t n, const timespec* t) {
    const bool timed = t != nullptr;
    sembuf copy[32];
    bool caller_nowait = true;
    for (size_t i = 0; i < n; ++i) {
        copy[i] = sops[i];
        caller_nowait = caller_nowait && (sops[i].sem_flg & IPC_NOWAIT);
        copy[i].sem_flg = static_cast<short>(copy[i].sem_flg | IPC_NOWAIT);
    }
    int r = -1, err = 0;
    size_t shown = 0;  // the operation the wait-for graph names
    while (shown + 1 < n && sops[shown].sem_op > 0) ++shown;
    auto attempt = [&] {
        // Inside the step (after the grant): the controller reads them for the step it just saw end.
        slot->sem_id.store(id), slot->sem_num.store(n ? sops[shown].sem_num : 0), slot->sem_op.store(n ? sops[shown].sem_op : 0);
        std::uint64_t ts = only_posts(sops, n) ? now() : 0;
        enter_call(CallId::Semop);
        r = real.semop(id, copy, n);
        leave_call();
        err = errno;
        if (r < 0 && err == EAGAIN && !caller_nowait) return false;
        emit(CallId::Semop, semop_args(id, sops, n, t), r, r < 0 ? err : 0, ts, n > 1 ? sops : nullptr, n > 1 ? n * sizeof(sembuf) : 0);
        return true;
    };
    auto expire = [&] {
        r = -1, err = EAGAIN;  // what semtimedop says when its time is up
        emit(CallId::Semop, semop_args(id, sops, n, t), r, err, 0, n > 1 ? sops : nullptr, n > 1 ? n * sizeof(sembuf) : 0);
    };
    step_until_done(CallId::Semop, semop_args(id, sops, n, t), attempt, timed, expire);
    errno = err;
    return r;
}

// libc's semop(id, sops, n): semtimedop with no timeout, one system call
// and nothing else (glibc), made here in line on x86-64: the return out of
// libc after a system call is what costs (the CPU's return predictions are
// stale after the kernel ran), not libc's few instructions. The figures:
// docs/scenario-format.md, "Tracing real programs" (the cost).
[[gnu::always_inline]] inline int semop_syscall(int id, sembuf* sops, size_t n) {
#if defined(__x86_64__)
    long r;
    register long no_timeout asm("r10") = 0;
    asm volatile("syscall"
                 : "=a"(r)
                 : "0"(static_cast<long>(SYS_semtimedop)), "D"(static_cast<long>(id)), "S"(sops), "d"(n), "r"(no_timeout)
                 : "rcx", "r11", "memory");
    if (static_cast<unsigned long>(r) > -4096ul) {
        errno = static_cast<int>(-r);
        return -1;
    }
    return static_cast<int>(r);
#else
    return real.semop(id, sops, n);
#endif
}

// One P or V of a single-threaded program in free mode: the call every
// classic IPC program makes most, on the short path without the general
// cases of semop_args and only_posts (tools/bench/preload.sh measures it).
// A P that would wait: its start recorded, then the wait (not the short path).
[[gnu::noinline]] static int semop_waits(int id, sembuf* sops, Args a) {
    record_wait_start(CallId::Semop, a);
    enter_call(CallId::Semop);
    const int r = semop_syscall(id, sops, 1);
    const int err = errno;
    leave_call();
    emit(CallId::Semop, a, r, r < 0 ? err : 0);
    errno = err;
    return r;
}

[[gnu::noinline]] static int semop_one(int id, sembuf* sops) {
    const sembuf op = *sops;
    const Args a{id, 1, static_cast<std::int64_t>(pack_sembuf(op.sem_num, op.sem_op, op.sem_flg))};
    if (op.sem_op > 0 || (op.sem_flg & IPC_NOWAIT))
        return traced_lone<int>(CallId::Semop, a, op.sem_op > 0, [&] { return semop_syscall(id, sops, 1); });
    // A P: tried without waiting first, one system call when it need not wait.
    sembuf now = op;
    now.sem_flg = static_cast<short>(now.sem_flg | IPC_NOWAIT);
    bool would_wait = false;
    const int r = traced_lone<int>(CallId::Semop, a, false, [&] {
        const int got = semop_syscall(id, &now, 1);
        would_wait = got < 0 && errno == EAGAIN;
        return got;
    }, nullptr, 0, &would_wait);
    return would_wait ? semop_waits(id, sops, a) : r;
}

// Free mode, not the short path: a call that may wait is tried without waiting first.
static int semop_free(int id, sembuf* sops, size_t n, const timespec* t, bool timed) {
    const Args a = semop_args(id, sops, n, t);
    const void* data = n > 1 ? sops : nullptr;
    const size_t bytes = n > 1 ? n * sizeof(sembuf) : 0;
    auto call = [&] { return timed ? real.semtimedop(id, sops, n, t) : real.semop(id, sops, n); };
    if (!may_block(sops, n) || n > 32) return traced<int>(CallId::Semop, a, only_posts(sops, n), call, data, bytes);
    sembuf copy[32];
    for (size_t i = 0; i < n; ++i) copy[i] = sops[i], copy[i].sem_flg = static_cast<short>(copy[i].sem_flg | IPC_NOWAIT);
    return may_wait<int>(
        CallId::Semop, a,
        [&](int& r) {
            r = real.semop(id, copy, n);
            return !(r < 0 && errno == EAGAIN);
        },
        call, [&](int r) { emit(CallId::Semop, a, r, r < 0 ? errno : 0, 0, data, bytes); });
}

[[gnu::noinline]] static int semop_any(int id, sembuf* sops, size_t n) {
    if (stepping() && n <= 32) return semop_stepped(id, sops, n, nullptr);
    return semop_free(id, sops, n, nullptr, false);
}

// Two tail calls, so the common case pays for no register saves of the general one.
int semop(int id, sembuf* sops, size_t n) {
    if (n == 1 && lone()) return semop_one(id, sops);
    return semop_any(id, sops, n);
}

int semtimedop(int id, sembuf* sops, size_t n, const timespec* t) {
    if (stepping() && n <= 32) return semop_stepped(id, sops, n, t);  // controlled: no time passes but by steps
    return semop_free(id, sops, n, t, true);
}

int semctl(int id, int num, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);  // union semun travels as one pointer-sized word
    va_end(ap);
    // What the replay of the set's values needs: SETVAL's value, SETALL's
    // values and GETALL's (nsems shorts, asked with IPC_STAT first).
    Args a{id, num, cmd};
    const void* values = nullptr;
    std::size_t bytes = 0;
    if (cmd == SETVAL) a.iter = static_cast<std::uint32_t>(static_cast<int>(reinterpret_cast<std::intptr_t>(arg)));
    if ((cmd == SETALL || cmd == GETALL) && arg) {
        semid_ds ds{};
        if (real.semctl(id, 0, IPC_STAT, &ds) == 0) values = arg, bytes = ds.sem_nsems * sizeof(unsigned short);
    }
    return traced<int>(CallId::Semctl, a, cmd == SETVAL || cmd == SETALL || cmd == IPC_RMID,
                       [&] { return real.semctl(id, num, cmd, arg); }, values, bytes);
}

int shmget(key_t key, size_t size, int flg) {
    return traced<int>(CallId::Shmget, {key, static_cast<std::int64_t>(size), flg}, false, [&] { return real.shmget(key, size, flg); });
}
void* shmat(int id, const void* addr, int flg) {
    return traced<void*>(CallId::Shmat, {id, 0, flg}, false, [&] { return real.shmat(id, addr, flg); });
}
int shmdt(const void* addr) {
    return traced<int>(CallId::Shmdt, {reinterpret_cast<std::int64_t>(addr)}, false, [&] { return real.shmdt(addr); });
}
int shmctl(int id, int cmd, shmid_ds* buf) {
    return traced<int>(CallId::Shmctl, {id, cmd}, false, [&] { return real.shmctl(id, cmd, buf); });
}

int msgget(key_t key, int flg) { return traced<int>(CallId::Msgget, {key, 0, flg}, false, [&] { return real.msgget(key, flg); }); }

int msgsnd(int id, const void* msgp, size_t sz, int flg) {
    long type = msgp ? *static_cast<const long*>(msgp) : 0;
    const char* text = msgp ? static_cast<const char*>(msgp) + sizeof(long) : nullptr;
    const Args a{id, type, flg};
    const size_t shown = sz < 256 ? sz : 256;
    if (flg & IPC_NOWAIT)
        return traced<int>(CallId::Msgsnd, a, true, [&] { return real.msgsnd(id, msgp, sz, flg); }, text, shown);
    int r = -1, err = 0;
    if (stepping()) {
        step_until_done(CallId::Msgsnd, a, [&] {
            slot->sem_id.store(id), slot->sem_num.store(0), slot->sem_op.store(static_cast<std::int32_t>(type));  // for the wait-for graph
            std::uint64_t ts = now();
            enter_call(CallId::Msgsnd);
            r = real.msgsnd(id, msgp, sz, flg | IPC_NOWAIT);
            leave_call();
            err = errno;
            if (r < 0 && err == EAGAIN) return false;
            emit(CallId::Msgsnd, a, r, r < 0 ? err : 0, ts, text, shown);
            return true;
        });
        errno = err;
        return r;
    }
    const std::uint64_t ts = now();  // a send may wake a receiver: stamped before
    return may_wait<int>(
        CallId::Msgsnd, a,
        [&](int& got) {
            got = real.msgsnd(id, msgp, sz, flg | IPC_NOWAIT);
            return !(got < 0 && errno == EAGAIN);
        },
        [&] { return real.msgsnd(id, msgp, sz, flg); },
        [&](int got) { emit(CallId::Msgsnd, a, got, got < 0 ? errno : 0, waited_call ? 0 : ts, text, shown); });
}

ssize_t msgrcv(int id, void* msgp, size_t sz, long type, int flg) {
    ssize_t r = -1;
    int err = 0;
    auto record = [&](ssize_t got, int e) {
        long got_type = got >= 0 && msgp ? *static_cast<long*>(msgp) : 0;
        emit(CallId::Msgrcv, {id, type, got_type}, got, got < 0 ? e : 0, 0, got > 0 ? static_cast<char*>(msgp) + sizeof(long) : nullptr,
             got > 0 ? (got < 256 ? static_cast<size_t>(got) : 256) : 0);
    };
    auto once = [&](int flags) {
        enter_call(CallId::Msgrcv);
        r = real.msgrcv(id, msgp, sz, type, flags);
        leave_call();
        err = errno;
        if (r < 0 && err == ENOMSG && flags != flg) return false;  // it would have waited
        record(r, err);
        return true;
    };
    if (flg & IPC_NOWAIT) {
        if (stepping()) one_step(CallId::Msgrcv, [&] { return once(flg), 0; });
        else once(flg);
    } else if (stepping()) {
        step_until_done(CallId::Msgrcv, {id, type, 0}, [&] {
            slot->sem_id.store(id), slot->sem_num.store(0), slot->sem_op.store(static_cast<std::int32_t>(type));  // for the wait-for graph
            return once(flg | IPC_NOWAIT);
        });
    } else if (!once(flg | IPC_NOWAIT)) {
        record_wait_start(CallId::Msgrcv, {id, type, 0});
        once(flg);
    }
    errno = err;
    return r;
}

int msgctl(int id, int cmd, msqid_ds* buf) {
    return traced<int>(CallId::Msgctl, {id, cmd}, cmd == IPC_RMID, [&] { return real.msgctl(id, cmd, buf); });
}

}  // extern "C"
#pragma GCC visibility pop

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
static Args semop_args(int id, const sembuf* sops, size_t n) {
    Args a{id, static_cast<std::int64_t>(n), 0};
    if (n == 1 && sops) a.step = static_cast<std::int64_t>(pack_sembuf(sops[0].sem_num, sops[0].sem_op, sops[0].sem_flg));
    return a;
}

// Controlled mode: the operations with IPC_NOWAIT added; EAGAIN then means
// "would block" unless the program asked for IPC_NOWAIT itself.
static int semop_stepped(int id, sembuf* sops, size_t n, bool timed) {
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
        emit(CallId::Semop, semop_args(id, sops, n), r, r < 0 ? err : 0, ts, n > 1 ? sops : nullptr, n > 1 ? n * sizeof(sembuf) : 0);
        return true;
    };
    auto expire = [&] {
        r = -1, err = EAGAIN;  // what semtimedop says when its time is up
        emit(CallId::Semop, semop_args(id, sops, n), r, err, 0, n > 1 ? sops : nullptr, n > 1 ? n * sizeof(sembuf) : 0);
    };
    step_until_done(CallId::Semop, attempt, timed, expire);
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
[[gnu::noinline]] static int semop_one(int id, sembuf* sops) {
    const sembuf op = *sops;
    const Args a{id, 1, static_cast<std::int64_t>(pack_sembuf(op.sem_num, op.sem_op, op.sem_flg))};
    return traced_lone<int>(CallId::Semop, a, op.sem_op > 0, [&] { return semop_syscall(id, sops, 1); });
}

[[gnu::noinline]] static int semop_any(int id, sembuf* sops, size_t n) {
    if (stepping() && n <= 32) return semop_stepped(id, sops, n, false);
    return traced<int>(CallId::Semop, semop_args(id, sops, n), only_posts(sops, n), [&] { return real.semop(id, sops, n); },
                       n > 1 ? sops : nullptr, n > 1 ? n * sizeof(sembuf) : 0);
}

// Two tail calls, so the common case pays for no register saves of the general one.
int semop(int id, sembuf* sops, size_t n) {
    if (n == 1 && lone()) return semop_one(id, sops);
    return semop_any(id, sops, n);
}

int semtimedop(int id, sembuf* sops, size_t n, const timespec* t) {
    if (stepping() && n <= 32) return semop_stepped(id, sops, n, t != nullptr);  // controlled: no time passes but by steps
    return traced<int>(CallId::Semop, semop_args(id, sops, n), only_posts(sops, n), [&] { return real.semtimedop(id, sops, n, t); },
                       n > 1 ? sops : nullptr, n > 1 ? n * sizeof(sembuf) : 0);
}

int semctl(int id, int num, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);  // union semun travels as one pointer-sized word
    va_end(ap);
    return traced<int>(CallId::Semctl, {id, num, cmd}, cmd == SETVAL || cmd == SETALL || cmd == IPC_RMID,
                       [&] { return real.semctl(id, num, cmd, arg); });
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
    if (stepping() && !(flg & IPC_NOWAIT)) {
        int r = -1, err = 0;
        step_until_done(CallId::Msgsnd, [&] {
            slot->sem_id.store(id), slot->sem_num.store(0), slot->sem_op.store(static_cast<std::int32_t>(type));  // for the wait-for graph
            std::uint64_t ts = now();
            enter_call(CallId::Msgsnd);
            r = real.msgsnd(id, msgp, sz, flg | IPC_NOWAIT);
            leave_call();
            err = errno;
            if (r < 0 && err == EAGAIN) return false;
            emit(CallId::Msgsnd, {id, type, flg}, r, r < 0 ? err : 0, ts, text, sz < 256 ? sz : 256);
            return true;
        });
        errno = err;
        return r;
    }
    return traced<int>(CallId::Msgsnd, {id, type, flg}, true, [&] { return real.msgsnd(id, msgp, sz, flg); }, text, sz < 256 ? sz : 256);
}

ssize_t msgrcv(int id, void* msgp, size_t sz, long type, int flg) {
    ssize_t r = -1;
    int err = 0;
    auto once = [&](int flags) {
        enter_call(CallId::Msgrcv);
        r = real.msgrcv(id, msgp, sz, type, flags);
        leave_call();
        err = errno;
        if (r < 0 && err == ENOMSG && flags != flg) return false;  // controlled: it would have waited
        long got = r >= 0 && msgp ? *static_cast<long*>(msgp) : 0;
        emit(CallId::Msgrcv, {id, type, got}, r, r < 0 ? err : 0, 0, r > 0 ? static_cast<char*>(msgp) + sizeof(long) : nullptr,
             r > 0 ? (r < 256 ? static_cast<size_t>(r) : 256) : 0);
        return true;
    };
    if (stepping() && !(flg & IPC_NOWAIT))
        step_until_done(CallId::Msgrcv, [&] {
            slot->sem_id.store(id), slot->sem_num.store(0), slot->sem_op.store(static_cast<std::int32_t>(type));  // for the wait-for graph
            return once(flg | IPC_NOWAIT);
        });
    else once(flg);
    errno = err;
    return r;
}

int msgctl(int id, int cmd, msqid_ds* buf) {
    return traced<int>(CallId::Msgctl, {id, cmd}, cmd == IPC_RMID, [&] { return real.msgctl(id, cmd, buf); });
}

}  // extern "C"
#pragma GCC visibility pop

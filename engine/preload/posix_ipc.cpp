// The POSIX IPC wrappers: message queues, named and unnamed semaphores,
// shared memory objects and their shared mappings.
#include "preload/tracer.hpp"

#include <fcntl.h>

#include <cstdarg>

using namespace simrun;
using namespace simrun::preload;

extern "C" [[noreturn]] void __chk_fail();

#pragma GCC visibility push(default)
extern "C" {

mqd_t mq_open(const char* name, int oflag, ...) {
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (oflag & O_CREAT) ? va_arg(ap, mode_t) : 0;
    mq_attr* attr = (oflag & O_CREAT) ? va_arg(ap, mq_attr*) : nullptr;
    va_end(ap);
    return traced<mqd_t>(CallId::MqOpen, {0, oflag}, false, [&] { return real.mq_open(name, oflag, mode, attr); }, name, name_len(name));
}
// Controlled mode tries with a deadline already past: ETIMEDOUT is "would
// block" (EAGAIN stays the answer of a queue opened O_NONBLOCK).
static const timespec kPast = {0, 0};

static ssize_t receive(mqd_t q, char* msg, size_t len, unsigned* prio, const timespec* t, bool timed) {
    unsigned got = 0;
    ssize_t r = -1;
    int err = 0;
    auto once = [&](bool probe) {
        enter_call(CallId::MqReceive);
        r = probe ? real.mq_timedreceive(q, msg, len, &got, &kPast) : timed ? real.mq_timedreceive(q, msg, len, &got, t)
                                                                          : real.mq_receive(q, msg, len, &got);
        leave_call();
        err = errno;
        if (probe && r < 0 && err == ETIMEDOUT) return false;
        emit(CallId::MqReceive, {q, got, timed}, r, r < 0 ? err : 0, 0, r > 0 ? msg : nullptr, r > 0 ? (r < 256 ? static_cast<size_t>(r) : 256) : 0);
        return true;
    };
    if (stepping()) {
        step_until_done(CallId::MqReceive, {q, 0, timed}, [&] { return once(true); }, timed, [&] {
            r = -1, err = ETIMEDOUT;
            emit(CallId::MqReceive, {q, 0, timed}, r, err);
        });
    } else if (!once(true)) {  // tried with a deadline already past first: only a wait is recorded as one
        record_wait_start(CallId::MqReceive, {q, 0, timed});
        once(false);
    }
    if (prio) *prio = got;
    errno = err;
    return r;
}

static int mq_send_traced(mqd_t q, const char* msg, size_t len, unsigned prio, const timespec* t, bool timed) {
    if (!stepping()) {
        const std::uint64_t ts = now();
        return may_wait<int>(
            CallId::MqSend, {q, prio, timed},
            [&](int& got) {
                got = real.mq_timedsend(q, msg, len, prio, &kPast);
                return !(got < 0 && errno == ETIMEDOUT);
            },
            [&] { return timed ? real.mq_timedsend(q, msg, len, prio, t) : real.mq_send(q, msg, len, prio); },
            [&](int got) { emit(CallId::MqSend, {q, prio, timed}, got, got < 0 ? errno : 0, waited_call ? 0 : ts, msg, len < 256 ? len : 256); });
    }
    int r = -1, err = 0;
    auto attempt = [&] {
        std::uint64_t ts = now();
        enter_call(CallId::MqSend);
        r = real.mq_timedsend(q, msg, len, prio, &kPast);
        leave_call();
        err = errno;
        if (r < 0 && err == ETIMEDOUT) return false;
        emit(CallId::MqSend, {q, prio, timed}, r, r < 0 ? err : 0, ts, msg, len < 256 ? len : 256);
        return true;
    };
    step_until_done(CallId::MqSend, {q, prio, timed}, attempt, timed, [&] {
        r = -1, err = ETIMEDOUT;
        emit(CallId::MqSend, {q, prio, timed}, r, err, 0, msg, len < 256 ? len : 256);
    });
    errno = err;
    return r;
}
int mq_send(mqd_t q, const char* msg, size_t len, unsigned prio) { return mq_send_traced(q, msg, len, prio, nullptr, false); }
int mq_timedsend(mqd_t q, const char* msg, size_t len, unsigned prio, const timespec* t) { return mq_send_traced(q, msg, len, prio, t, true); }
ssize_t mq_receive(mqd_t q, char* msg, size_t len, unsigned* prio) { return receive(q, msg, len, prio, nullptr, false); }
ssize_t mq_timedreceive(mqd_t q, char* msg, size_t len, unsigned* prio, const timespec* t) { return receive(q, msg, len, prio, t, true); }
int mq_unlink(const char* name) {
    return traced<int>(CallId::MqUnlink, {}, false, [&] { return real.mq_unlink(name); }, name, name_len(name));
}

// _FORTIFY_SOURCE's mq_open with two arguments (O_CREAT would need four).
mqd_t __mq_open_2(const char* name, int oflag) {
    if (oflag & O_CREAT) __chk_fail();
    return mq_open(name, oflag);
}

sem_t* sem_open(const char* name, int oflag, ...) {
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (oflag & O_CREAT) ? va_arg(ap, mode_t) : 0;
    unsigned value = (oflag & O_CREAT) ? va_arg(ap, unsigned) : 0;
    va_end(ap);
    sem_t* s = SEM_FAILED;
    one_step(CallId::SemOpen, [&] {
        enter_call(CallId::SemOpen);
        s = real.sem_open(name, oflag, mode, value);
        leave_call();
        int err = errno;
        emit(CallId::SemOpen, {reinterpret_cast<std::int64_t>(s), value, oflag}, s == SEM_FAILED ? -1 : 0, s == SEM_FAILED ? err : 0, 0,
             name, name_len(name));
        errno = err;
        return 0;
    });
    return s;
}
static int psem(CallId c, sem_t* s, int r, int err, std::uint64_t ts) {
    int v = -1;
    if (s) ::sem_getvalue(s, &v);
    emit(c, {reinterpret_cast<std::int64_t>(s), v}, r, r < 0 ? err : 0, ts);
    errno = err;
    return r;
}
// sem_wait and sem_timedwait: in controlled mode a sem_trywait each step
// until it succeeds; no time passes but by steps, so a timed wait ends with
// ETIMEDOUT only when no process can step (the supervisor decides).
static int psem_wait(CallId c, sem_t* s, const timespec* t, clockid_t clock = -1) {
    int r = -1, err = 0;
    const Args start{reinterpret_cast<std::int64_t>(s), -1};
    if (!stepping()) {
        return may_wait<int>(
            c, start,
            [&](int& got) {
                got = real.sem_trywait(s);
                return !(got < 0 && errno == EAGAIN);
            },
            [&] { return clock >= 0 ? real.sem_clockwait(s, clock, t) : c == CallId::SemTimedwait ? real.sem_timedwait(s, t) : real.sem_wait(s); },
            [&](int got) { psem(c, s, got, errno, 0); });
    }
    auto attempt = [&] {
        enter_call(c);
        r = real.sem_trywait(s);
        leave_call();
        err = errno;
        if (r < 0 && err == EAGAIN) return false;
        psem(c, s, r, err, 0);
        return true;
    };
    step_until_done(c, start, attempt, c == CallId::SemTimedwait, [&] {
        r = -1, err = ETIMEDOUT;
        psem(c, s, r, err, 0);
    });
    errno = err;
    return r;
}
int sem_wait(sem_t* s) { return psem_wait(CallId::SemWait, s, nullptr); }
int sem_timedwait(sem_t* s, const timespec* t) { return psem_wait(CallId::SemTimedwait, s, t); }
// sem_timedwait on a clock of the caller's choice: recorded as sem_timedwait.
int sem_clockwait(sem_t* s, clockid_t clock, const timespec* t) { return psem_wait(CallId::SemTimedwait, s, t, clock); }

int sem_trywait(sem_t* s) {
    return one_step(CallId::SemTrywait, [&] {
        enter_call(CallId::SemTrywait);
        int r = real.sem_trywait(s);
        leave_call();
        return psem(CallId::SemTrywait, s, r, errno, 0);
    });
}
int sem_post(sem_t* s) {
    return one_step(CallId::SemPost, [&] {
        std::uint64_t ts = now();
        enter_call(CallId::SemPost);
        int r = real.sem_post(s);
        leave_call();
        return psem(CallId::SemPost, s, r, errno, ts);
    });
}
int sem_unlink(const char* name) {
    return traced<int>(CallId::SemUnlink, {}, false, [&] { return real.sem_unlink(name); }, name, name_len(name));
}
int sem_init(sem_t* s, int pshared, unsigned value) {
    return traced<int>(CallId::SemInit, {reinterpret_cast<std::int64_t>(s), value, pshared}, false, [&] { return real.sem_init(s, pshared, value); });
}
int shm_open(const char* name, int oflag, mode_t mode) {
    return traced<int>(CallId::ShmOpen, {0, oflag}, false, [&] { return real.shm_open(name, oflag, mode); }, name, name_len(name));
}
int shm_unlink(const char* name) {
    return traced<int>(CallId::ShmUnlink, {}, false, [&] { return real.shm_unlink(name); }, name, name_len(name));
}
void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
    // Shared mappings: of a file or shm_open object, or anonymous (what a fork shares).
    if (!(flags & MAP_SHARED) || in_hook || !on) return real.mmap(addr, len, prot, flags, fd, off);
    return traced<void*>(CallId::Mmap, {fd, static_cast<std::int64_t>(len), flags}, false, [&] { return real.mmap(addr, len, prot, flags, fd, off); });
}

}  // extern "C"
#pragma GCC visibility pop

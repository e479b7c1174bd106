// libsimrun_preload.so: injected (LD_PRELOAD) into the programs a scenario
// execs, it records their IPC, signal and process calls into the process's
// trace ring, as the agent does for scripted processes. This header holds
// the tracer's state and the way every wrapper records a call; the wrappers
// live by subsystem (sysv.cpp, posix_ipc.cpp, pipes.cpp, signals.cpp,
// processes.cpp), attaching to the arena in attach.cpp.
//
// Rules, because this runs inside someone else's program: no allocation
// after the constructor, nothing but async-signal-safe calls on the
// recording path, a re-entrancy guard per thread, one writer at a time per
// ring (a lock; a signal handler that interrupts its own thread's record
// writes to the process's signal ring instead).
//
// The library is built with hidden visibility: only the wrapped functions
// (inside `#pragma GCC visibility push(default)`) are exported; the ring
// and clock code compiled in stays internal too. Globals are
// constant-initialized (constinit), so no constructor order between the
// files matters; per-thread state is `__thread` (initial-exec: a plain TLS
// access, no __tls_get_addr call and no C++ TLS wrapper per use; the library
// is loaded at start-up, so the static TLS block has room).
#pragma once

#include "trace/arena.hpp"
#include "trace/call_record.hpp"
#include "trace/record.hpp"
#include "trace/ring.hpp"

#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <type_traits>

#define SIMRUN_TLS __thread __attribute__((tls_model("initial-exec")))

// Hidden on the declarations too (-fvisibility only marks definitions), so
// the other files reach the state directly, not through the GOT.
#pragma GCC visibility push(hidden)
namespace simrun::preload {

// libc's functions behind ours (dlsym RTLD_NEXT, in the constructor).
struct Real {
#define REAL(name) decltype(&::name) name = nullptr;
    REAL(semget) REAL(semop) REAL(semtimedop) REAL(shmget) REAL(shmat) REAL(shmdt) REAL(shmctl)
    REAL(msgget) REAL(msgsnd) REAL(msgrcv) REAL(msgctl) REAL(mq_send) REAL(mq_timedsend) REAL(mq_receive)
    REAL(mq_timedreceive) REAL(mq_unlink) REAL(sem_wait) REAL(sem_trywait) REAL(sem_timedwait) REAL(sem_post) REAL(sem_unlink)
    REAL(sem_init) REAL(shm_open) REAL(shm_unlink) REAL(mmap) REAL(pipe) REAL(pipe2) REAL(mkfifo) REAL(read) REAL(write)
    REAL(close) REAL(dup2) REAL(dup3) REAL(kill) REAL(sigqueue) REAL(raise) REAL(sigaction) REAL(signal) REAL(sigprocmask)
    REAL(fork) REAL(posix_spawn) REAL(posix_spawnp) REAL(system) REAL(execve) REAL(execv) REAL(execvp) REAL(execvpe) REAL(wait4)
    REAL(exit) REAL(_exit) REAL(_Exit) REAL(pthread_sigmask) REAL(pause) REAL(sigsuspend) REAL(sleep) REAL(usleep) REAL(nanosleep)
    REAL(clock_nanosleep) REAL(sigwait) REAL(sigwaitinfo) REAL(sigtimedwait) REAL(alarm) REAL(pthread_create)
    REAL(siglongjmp) REAL(longjmp) REAL(_longjmp) REAL(close_range) REAL(closefrom) REAL(_Fork) REAL(mkfifoat) REAL(mknod)
    REAL(mknodat) REAL(sem_clockwait) REAL(popen) REAL(pclose)
#undef REAL
    void (*longjmp_chk)(__jmp_buf_tag*, int) = nullptr;  // __longjmp_chk: _FORTIFY_SOURCE's longjmp
    int (*semctl)(int, int, int, ...) = nullptr;
    mqd_t (*mq_open)(const char*, int, ...) = nullptr;
    sem_t* (*sem_open)(const char*, int, ...) = nullptr;
};

extern Real real;
extern bool on;                                    // attached to a ring
extern void* arena;
extern RingWriter main_ring, signal_ring;
extern std::atomic<std::uint64_t>* newest_stamp;  // in the arena's header (trace_clock.hpp)
extern ProcSlot* slot;
extern std::uint16_t proc;
extern std::atomic<int> owner;  // the thread writing to main_ring
extern int keep_fd;             // the memfd, CLOEXEC, for the program's own exec
extern int wake;                // the supervisor's eventfd: a full ring wakes it
extern std::int32_t my_pid;     // getpid() is a system call: asked once (and again after fork)
extern SIMRUN_TLS int in_hook;
extern SIMRUN_TLS std::uint16_t hook_call;  // the CallId of the call in_hook last marked
extern SIMRUN_TLS int my_tid;
// Until the program starts a second thread, a plain flag is the lock: set,
// it can only mean a signal handler interrupted our own record.
extern std::atomic<bool> threaded;
extern volatile sig_atomic_t writing;
extern bool controlled;  // each traced call is a scheduling step (see "controlled mode" below)
// Attached, in free mode, one thread: what most calls of most programs
// meet. traced() then takes a short path. update_plain() keeps it in step
// wherever on, controlled or threaded change.
extern bool plain;
inline void update_plain() { plain = on && !controlled && !threaded.load(std::memory_order_relaxed); }
// Set in a vfork child (on its parent's thread, whose memory it borrows)
// until it execs or exits; cleared by the parent when it resumes.
extern SIMRUN_TLS int vfork_child;

int tid();

// Around libc's function inside a wrapper: in_hook keeps that function's
// inner calls out of the trace; hook_call names the call, for a siglongjmp
// that leaves it from a signal handler (jumps.cpp records what it abandoned).
[[gnu::always_inline]] inline void enter_call(CallId c) {
    hook_call = static_cast<std::uint16_t>(c);
    ++in_hook;
}
[[gnu::always_inline]] inline void leave_call() { --in_hook; }

// The ring this thread may write to now, or nullptr. Nested (a signal
// handler interrupting this thread's own record): the signal ring.
class Writer {
public:
    Writer() {
        if (!on || in_hook || vfork_child) return;
        if (!threaded.load(std::memory_order_relaxed)) {
            if (writing) {
                w_ = &signal_ring;
            } else {
                writing = 1;
                w_ = &main_ring, single_ = true;
            }
            return;
        }
        int me = tid(), expected = 0;
        if (owner.compare_exchange_strong(expected, me, std::memory_order_acquire)) {
            w_ = &main_ring, locked_ = true;
        } else if (expected == me) {
            w_ = &signal_ring;
        } else {
            while (!owner.compare_exchange_weak(expected = 0, me, std::memory_order_acquire)) {
            }
            w_ = &main_ring, locked_ = true;
        }
    }
    ~Writer() {
        if (single_) writing = 0;
        if (locked_) owner.store(0, std::memory_order_release);
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    RingWriter* get() const { return w_; }

private:
    RingWriter* w_ = nullptr;
    bool locked_ = false, single_ = false;
};

using Args = CallArgs;

// One Call record (and Data for `data`) into r, stamped `ts` (0: now).
[[gnu::always_inline]] inline void write_call(RingWriter& r, CallId c, Args a, std::int64_t result, int err, std::uint64_t ts,
                                              const void* data, std::size_t n) {
    write_call_record(r, proc, my_pid, c, a, result, err, ts, data, n);
}

// The same into the ring this thread may write to now, if any.
void emit(CallId c, Args a, std::int64_t result, int err, std::uint64_t ts = 0, const void* data = nullptr, std::size_t n = 0);

// A stamp taken before a call that may wake another process. The ring's
// own (lazy) stamp where this thread is its only writer; with threads, a
// fresh one, as the ring's lock is not held here.
std::uint64_t now();

// ---- controlled mode ---------------------------------------------------------
// Each traced call is a scheduling step, as an op is for a scripted process:
// wait at the gate for the supervisor's grant, make the call, record it,
// hand the gate back at the program's next call (the code in between is
// part of the step). A call that would block is tried without blocking;
// then the step ends "blocked" at once and the call is tried again at the
// next grant (the supervisor grants it once something has changed). Plain
// memory accesses are not scheduled against other processes'. A child the
// program forks is scheduled the same way (processes.cpp).
extern bool attach_pending;  // controlled: the attach record waits for the first step (arrival order is not scheduled)
extern Args pending_attach;  // its arguments (a forked child's: its parent and pid)

// Set on this thread from the grant to the end of its step: a signal
// handler that runs inside the step (during the call) has its calls
// recorded as part of that step, not made steps of their own, which would
// wait for a grant the supervisor gives only once this step ends.
extern SIMRUN_TLS int in_step;
extern SIMRUN_TLS bool awaiting;  // controlled: this thread holds no step; what it does next is wait for a grant
// Between the steps of a call that would block (it waits at the gate for
// a grant to try again): that call's CallId + 1, else 0.
extern SIMRUN_TLS std::uint16_t retrying;

// ---- the call a process waits in ---------------------------------------------
// A call that has to wait is recorded when it starts to (a Call record
// flagged kRecCallStart, with its arguments as known then), so the trace
// shows what a blocked process waits in even if the call never returns;
// its completion, when it returns, is flagged kRecBlocked (emit() does it).
// Free mode finds out by trying the call without waiting first (IPC_NOWAIT,
// WNOHANG, sem_trywait, a deadline already past, RWF_NOWAIT): a call that
// does not wait costs what it did. Controlled mode, at its first blocked step.
extern SIMRUN_TLS std::uint16_t waited_call;  // CallId + 1 of the call whose start was recorded, until it completes
void record_wait_start(CallId c, Args a);

// Free mode: a call that may wait. `try_now(r)` makes it without waiting
// and returns false if it would have; then its start is recorded and
// `wait()` makes it for real. `record(r)` records the completion.
template <typename R, typename T, typename W, typename Rec>
R may_wait(CallId c, Args start, T try_now, W wait, Rec record) {
    R r{};
    enter_call(c);
    const bool done = try_now(r);
    int err = errno;
    leave_call();
    if (!done) {
        record_wait_start(c, start);
        enter_call(c);
        r = wait();
        err = errno;
        leave_call();
    }
    errno = err;
    record(r);
    errno = err;
    return r;
}

void begin_step(CallId c);
// Ends the step's call; the gate goes back at the next call (see tracer.cpp).
void end_step(StepOutcome o);
inline bool stepping() { return controlled && !in_hook && !in_step && !vfork_child; }

// A blocking call in controlled mode: `attempt` makes the non-blocking try
// and returns true unless it would block (then nothing was recorded).
// A call with a timeout (semtimedop, sem_timedwait, mq_timed*) says so with
// `expire`: time passes only by steps, so when no process can step the
// supervisor ends the wait, and `expire` records the call failing as its
// timeout would.
struct NoTimeout {
    void operator()() const {}
};
template <typename F, typename E = NoTimeout>
void step_until_done(CallId c, Args start, F attempt, bool timed = false, E expire = {}) {
    if (timed) slot->timed_out.store(0), slot->timed.store(1);
    for (;;) {
        begin_step(c);
        if (timed && slot->timed_out.exchange(0)) {
            expire();
            break;
        }
        if (attempt()) break;
        // its first blocked step (pause and sigsuspend have recorded theirs as they began)
        if (!retrying && waited_call != static_cast<unsigned>(c) + 1) record_wait_start(c, start);
        retrying = static_cast<std::uint16_t>(static_cast<unsigned>(c) + 1);  // before the supervisor may signal it
        end_step(StepOutcome::Blocked);
    }
    retrying = 0;
    if (timed) slot->timed.store(0);
    end_step(StepOutcome::Done);
}

// A call that cannot block: one step in controlled mode.
template <typename F>
int one_step(CallId c, F f) {
    const bool step = stepping();
    if (step) begin_step(c);
    int r = f();
    int err = errno;
    if (step) end_step(StepOutcome::Done);
    errno = err;
    return r;
}

// A call's result as a record holds it.
template <typename R>
std::int64_t result_of(R r) {
    if constexpr (std::is_pointer_v<R>) return reinterpret_cast<std::int64_t>(r);
    else return static_cast<std::int64_t>(r);
}

// This thread may take the short path: attached, free mode, one thread,
// not inside one of our calls or records, not a vfork child.
inline bool lone() { return plain && !in_hook && !vfork_child && !writing; }

// Calls `f`, then records it; for a thread where lone() holds: no step, no
// lock, the main ring is ours (what Writer and now() would find, without
// asking them again). Recording leaves errno alone (the ring's slow paths
// restore it). `unrecorded`, if set once f returns: nothing is recorded
// (a call tried without waiting that would have waited: the caller goes on).
template <typename R, typename F>
[[gnu::always_inline]] inline R traced_lone(CallId c, Args a, bool stamp_before, F f, const void* data = nullptr, std::size_t n = 0,
                                            const bool* unrecorded = nullptr) {
    const std::uint64_t ts = stamp_before ? main_ring.stamp() : 0;
    enter_call(c);
    R r = f();
    leave_call();
    if (unrecorded && *unrecorded) return r;
    const std::int64_t as_int = result_of(r);
    writing = 1;
    write_call(main_ring, c, a, as_int, as_int == -1 ? errno : 0, ts, data, n);
    writing = 0;
    return r;
}

// Calls `f`, then records it: as a controlled step when stepping(). Only a
// step, whose gate may sleep on a futex, saves and restores errno.
template <typename R, typename F>
R traced(CallId c, Args a, bool stamp_before, F f, const void* data = nullptr, std::size_t n = 0) {
    if (lone()) return traced_lone<R>(c, a, stamp_before, f, data, n);
    const bool step = stepping();
    if (step) begin_step(c);
    std::uint64_t ts = stamp_before ? now() : 0;
    enter_call(c);
    R r = f();
    leave_call();
    const std::int64_t as_int = result_of(r);
    emit(c, a, as_int, as_int == -1 ? errno : 0, ts, data, n);
    if (step) {
        const int err = errno;
        end_step(StepOutcome::Done);
        errno = err;
    }
    return r;
}

inline std::size_t name_len(const char* s) { return s ? ::strnlen(s, 255) : 0; }

// ---- signal handlers left by a jump (jumps.cpp) -------------------------------
// The trampoline notes what the code its handler interrupted held (its own
// frame's stack pointer, in_hook as it found it) before it runs the
// handler, and forgets it after; a siglongjmp (or longjmp) out of the
// handler gives back what the code at its target holds, records what it
// abandoned, and ends a controlled step the target is not in (left open,
// none of the program's later calls would be a step).
void enter_handler(std::uintptr_t sp, int hooked);
void leave_handler();
// The innermost handler running interrupted a thread that held no step (tracer.cpp's `awaiting`).
bool in_waiter_handler();
// A jump recorded outside any step in controlled mode waits for the
// process's next step, as its attach record does.
void emit_pending_jump();

// ---- shared between the wrappers' files --------------------------------------
// attach.cpp: the arena's slots.
ProcSlot& slot_of(unsigned long p);
void use_process(std::uint32_t p);
long claim_spare();
void release_spare(long spare);
long reserve_spawn_slot();
bool spawn_slot_taken(long spare, pid_t child, bool ran_free);
void set_proc_digits(long p);
void detach();
unsigned long declared_processes();
// signals.cpp: what a signal does to this process, for senders to announce.
void trampoline(int sig, siginfo_t* info, void* ctx);
void publish_signals();
void publish_blocked(std::uint64_t bits);
// pipes.cpp
void forget_fd(int fd);

}  // namespace simrun::preload
#pragma GCC visibility pop

// libsimrun_preload.so: injected (LD_PRELOAD) into the programs a scenario
// execs, it records their IPC, signal and process calls into the process's
// trace ring, as the agent does for scripted processes. simrun passes the
// trace arena and its wake-up eventfd as inherited descriptors at the top of
// the open-files limit, and the arena's layout in SIMRUN_TRACE; the
// constructor maps it and marks both CLOEXEC (cleared again just before the
// program's own exec, so the new image is traced too).
//
// Rules, because this runs inside someone else's program: no allocation
// after the constructor, nothing but async-signal-safe calls on the
// recording path, a re-entrancy guard per thread, one writer at a time per
// ring (a lock; a signal handler that interrupts its own thread's record
// writes to the process's signal ring instead). A forked child claims a
// spare slot of the arena and writes there (what it execs too: its process
// number in SIMRUN_TRACE is rewritten in place); with no spare left it
// disables the tracer and renames SIMRUN_TRACE, so nothing it execs writes
// into its parent's ring. A vfork child shares its parent's memory until it
// execs: it records nothing and changes none of the tracer's state (a
// per-thread flag the vfork wrapper sets). An image whose slot belongs to
// another process (it was started by vfork, posix_spawn or system, not by
// our fork) claims a spare slot for itself when it attaches.
#include "trace/arena.hpp"
#include "trace/record.hpp"
#include "trace/ring.hpp"
#include "trace/slot_signals.hpp"
#include "util/futex.hpp"

#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <spawn.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <type_traits>
#include <cstdarg>
#include <cstdlib>
#include <cstring>

using namespace simrun;

extern char** environ;

namespace {

struct Real {
#define REAL(name) decltype(&::name) name = nullptr;
    REAL(semget) REAL(semop) REAL(semtimedop) REAL(shmget) REAL(shmat) REAL(shmdt) REAL(shmctl)
    REAL(msgget) REAL(msgsnd) REAL(msgrcv) REAL(msgctl) REAL(mq_send) REAL(mq_timedsend) REAL(mq_receive)
    REAL(mq_timedreceive) REAL(mq_unlink) REAL(sem_wait) REAL(sem_trywait) REAL(sem_timedwait) REAL(sem_post) REAL(sem_unlink)
    REAL(sem_init) REAL(shm_open) REAL(shm_unlink) REAL(mmap) REAL(pipe) REAL(pipe2) REAL(mkfifo) REAL(read) REAL(write)
    REAL(close) REAL(dup2) REAL(dup3) REAL(kill) REAL(sigqueue) REAL(raise) REAL(sigaction) REAL(signal) REAL(sigprocmask)
    REAL(fork) REAL(posix_spawn) REAL(posix_spawnp) REAL(system) REAL(execve) REAL(execv) REAL(execvp) REAL(execvpe)  REAL(wait4) REAL(exit) REAL(_exit)
    REAL(_Exit) REAL(pthread_sigmask) REAL(pause) REAL(sigsuspend) REAL(sleep) REAL(usleep) REAL(nanosleep) REAL(clock_nanosleep)
    REAL(sigwait) REAL(sigwaitinfo) REAL(sigtimedwait) REAL(alarm)
#undef REAL
    int (*semctl)(int, int, int, ...) = nullptr;
    mqd_t (*mq_open)(const char*, int, ...) = nullptr;
    sem_t* (*sem_open)(const char*, int, ...) = nullptr;
};

Real real;
bool on = false;                 // attached to a ring
void* arena = nullptr;
RingWriter main_ring, signal_ring;
std::atomic<std::uint64_t>* newest_stamp = nullptr;  // in the arena's header (trace_clock.hpp)
ProcSlot* slot = nullptr;
std::uint16_t proc = 0;
std::atomic<int> owner{0};       // the thread writing to main_ring
int keep_fd = -1;                // the memfd, CLOEXEC, for the program's own exec
int wake = -1;                   // the supervisor's eventfd: a full ring wakes it
std::int32_t my_pid = 0;         // getpid() is a system call: asked once (and again after fork)
// initial-exec: a plain TLS access, not a __tls_get_addr call per use (the
// library is loaded at start-up, so the static TLS block has room).
__attribute__((tls_model("initial-exec"))) thread_local int in_hook = 0;
__attribute__((tls_model("initial-exec"))) thread_local int my_tid = 0;
// Until the program starts a second thread, a plain flag is the lock: set,
// it can only mean a signal handler interrupted our own record.
std::atomic<bool> threaded{false};
volatile sig_atomic_t writing = 0;
bool controlled = false;  // each traced call is a scheduling step (see "controlled mode" below)
// Attached, in free mode, one thread: what most calls of most programs
// meet. traced() then takes a short path. update_plain() keeps it in step
// wherever on, controlled or threaded change.
bool plain = false;
void update_plain() { plain = on && !controlled && !threaded.load(std::memory_order_relaxed); }
// Set in a vfork child (on its parent's thread, whose memory it borrows)
// until it execs or exits; cleared by the parent when it resumes.
__attribute__((tls_model("initial-exec"))) thread_local int vfork_child = 0;
__attribute__((tls_model("initial-exec"))) thread_local std::uint64_t vfork_ts = 0;  // when the parent called vfork
__attribute__((tls_model("initial-exec"))) thread_local bool vfork_step = false;     // it was a controlled step

// Pipes and FIFOs among the descriptors (reads and writes elsewhere are not
// IPC): 0 unknown, 1 pipe or FIFO, 2 something else.
constexpr int kFdCache = 1024;
std::atomic<unsigned char> fd_kind[kFdCache];

// The user's handlers, behind our trampoline.
struct UserHandler {
    std::atomic<void*> fn{nullptr};
    std::atomic<int> siginfo{0};
    std::atomic<int> once{0};  // SA_RESETHAND: back to the default as it is delivered
};
UserHandler handlers[65];

template <typename F>
void resolve(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

int tid() {
    if (!my_tid) my_tid = static_cast<int>(::syscall(SYS_gettid));
    return my_tid;
}

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
    RingWriter* get() const { return w_; }

private:
    RingWriter* w_ = nullptr;
    bool locked_ = false, single_ = false;
};

struct Args {
    std::int64_t arg = 0, value = 0, step = 0;
};

// One Call record (and Data for `data`) into r, stamped `ts` (0: now).
[[gnu::always_inline]] inline void write_call(RingWriter& r, CallId c, Args a, std::int64_t result, int err, std::uint64_t ts,
                                              const void* data, std::size_t n) {
    Record& rec = r.begin_bare(EventKind::Call, proc, 0, ts);
    rec.e.op = static_cast<std::uint32_t>(c);
    rec.e.iter = 0;
    rec.e.pid = my_pid;
    rec.e.arg = a.arg, rec.e.value = a.value, rec.e.step = static_cast<std::uint64_t>(a.step);
    rec.e.result = result, rec.e.err = err;
    r.commit();
    if (data && n) r.data(static_cast<const char*>(data), n, proc);
}

// The same into the ring this thread may write to now, if any.
void emit(CallId c, Args a, std::int64_t result, int err, std::uint64_t ts = 0, const void* data = nullptr, std::size_t n = 0) {
    Writer w;
    if (RingWriter* r = w.get()) write_call(*r, c, a, result, err, ts, data, n);
}

// A stamp taken before a call that may wake another process. The ring's
// own (lazy) stamp where this thread is its only writer; with threads, a
// fresh one, as the ring's lock is not held here.
std::uint64_t now() {
    if (!on) return 0;
    if (threaded.load(std::memory_order_relaxed)) return fresh_stamp(newest_stamp);
    return (writing ? signal_ring : main_ring).stamp();
}

// ---- controlled mode ---------------------------------------------------------
// Each traced call is a scheduling step, as an op is for a scripted process:
// wait at the gate for the supervisor's grant, make the call, record it,
// hand the gate back. A call that would block is tried without blocking;
// then the step ends "blocked" and the call is tried again at the next
// grant (the supervisor grants it once something has changed). Between its
// calls the program runs free: plain memory accesses are not scheduled.
bool attach_pending = false;  // controlled: the attach record waits for the first step (arrival order is not scheduled)

void begin_step(CallId c) {
    std::uint32_t g;
    while ((g = slot->gate.load(std::memory_order_acquire)) != kGranted) futex_wait(&slot->gate, g);
    slot->gate.store(kRunning, std::memory_order_relaxed);
    if (attach_pending) {
        attach_pending = false;
        emit(CallId::Attach, {}, 0, 0);
    }
    slot->op.store(static_cast<std::uint32_t>(c), std::memory_order_relaxed);  // what it is in, for a deadlock report
}

void end_step(StepOutcome o) {
    slot->outcome.store(o, std::memory_order_relaxed);
    slot->gate.store(kAtGate, std::memory_order_release);
    futex_wake(&slot->gate);
}

bool stepping() { return controlled && !in_hook && !vfork_child; }

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
void step_until_done(CallId c, F attempt, bool timed = false, E expire = {}) {
    if (timed) slot->timed_out.store(0), slot->timed.store(1);
    for (;;) {
        begin_step(c);
        if (timed && slot->timed_out.exchange(0)) {
            expire();
            break;
        }
        if (attempt()) break;
        end_step(StepOutcome::Blocked);
    }
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
bool lone() { return plain && !in_hook && !vfork_child && !writing; }

// Calls `f`, then records it; for a thread where lone() holds: no step, no
// lock, the main ring is ours (what Writer and now() would find, without
// asking them again). Recording leaves errno alone (the ring's slow paths
// restore it).
template <typename R, typename F>
[[gnu::always_inline]] inline R traced_lone(CallId c, Args a, bool stamp_before, F f, const void* data = nullptr, std::size_t n = 0) {
    const std::uint64_t ts = stamp_before ? main_ring.stamp() : 0;
    ++in_hook;
    R r = f();
    --in_hook;
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
    ++in_hook;
    R r = f();
    --in_hook;
    const std::int64_t as_int = result_of(r);
    emit(c, a, as_int, as_int == -1 ? errno : 0, ts, data, n);
    if (step) {
        const int err = errno;
        end_step(StepOutcome::Done);
        errno = err;
    }
    return r;
}

std::size_t name_len(const char* s) { return s ? ::strnlen(s, 255) : 0; }

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
void forget_fd(int fd) {
    if (fd >= 0 && fd < kFdCache) fd_kind[fd].store(0, std::memory_order_relaxed);
}

// SIMRUN_TRACE=fd,size,slots,slot_size,rings,ring_bytes,capacity,P,S,wake_fd,PROC
// (the arena's layout, see trace/arena.hpp; PROC is five digits). Both
// descriptors sit at the top of the open-files limit; they stay (CLOEXEC,
// opened up again just before the program's own exec).
struct Layout {
    unsigned long size, slots, slot_size, rings, ring_bytes, capacity, processes, spares;
};
Layout layout;
char* proc_digits = nullptr;  // the PROC field inside environ's SIMRUN_TRACE
long started_by = -1;         // an image that claimed a spare slot at attach: its parent's process number

// Points the writers at process p's slot and rings (a declared process, or
// a spare: P + s).
void use_process(std::uint32_t p) {
    auto* bytes = static_cast<std::byte*>(arena);
    const Layout& l = layout;
    slot = reinterpret_cast<ProcSlot*>(bytes + l.slots + l.slot_size * p);
    auto own = p < l.processes ? p : 2 * l.processes + 1 + (p - l.processes);
    auto sig = p < l.processes ? l.processes + 1 + p : 2 * l.processes + 1 + l.spares + (p - l.processes);
    auto ring_at = [&](unsigned long index) {
        auto* h = reinterpret_cast<RingHeader*>(bytes + l.rings + l.ring_bytes * index);
        return RingWriter(h, reinterpret_cast<Record*>(h + 1), static_cast<std::uint32_t>(l.capacity), wake, newest_stamp);
    };
    main_ring = ring_at(own);
    signal_ring = ring_at(sig);
    proc = static_cast<std::uint16_t>(p);
}

ProcSlot& slot_of(unsigned long p) {
    return *reinterpret_cast<ProcSlot*>(static_cast<std::byte*>(arena) + layout.slots + layout.slot_size * p);
}

// What a signal does to this process, in its slot (trace/slot_signals.hpp),
// for senders to announce in controlled mode. Published as the process
// starts (an exec keeps ignored signals, a fork the handlers too) and
// changed by the wrappers of sigaction and sigprocmask. Not from a vfork
// child: the slot is its parent's.
void publish_blocked(std::uint64_t bits) {
    if (slot && !vfork_child) slot->blocked.store(bits);
}
void trampoline(int sig, siginfo_t* info, void* ctx);
void publish_signals() {
    std::uint64_t handlers_mask = 0, ignored = 0;
    for (int sig = 1; sig < 65; ++sig) {
        struct sigaction cur;
        if (real.sigaction(sig, nullptr, &cur) != 0) continue;
        if (cur.sa_flags & SA_SIGINFO) {
            if (cur.sa_sigaction == trampoline) handlers_mask |= sig_bit(sig);
        } else if (cur.sa_handler == SIG_IGN) {
            ignored |= sig_bit(sig);
        }
    }
    sigset_t blocked;
    if (real.sigprocmask(SIG_BLOCK, nullptr, &blocked) == 0) publish_blocked(signal_bits(&blocked));
    publish_dispositions(*slot, handlers_mask, ignored, 0);
}

// Controlled mode, before kill(pid, sig): announce the deliveries it causes
// among the declared processes (the ones the supervisor schedules).
void announce_kill(pid_t pid, int sig) {
    if (!controlled || sig <= 0 || sig >= 65) return;
    const pid_t group = pid == 0 ? ::getpgrp() : pid < -1 ? -pid : 0;
    for (unsigned long p = 0; p < layout.processes; ++p) {
        ProcSlot& s = slot_of(p);
        const pid_t q = s.pid.load();
        if (q <= 0) continue;
        const bool hit = pid > 0 ? q == pid : pid == -1 ? q != my_pid : ::getpgid(q) == group;
        if (hit) announce_signal(s, sig);
    }
}

// A spare slot for a child, or -1 when every one is held. A slot never
// handed out first; then one whose holder has been reaped (kill(pid, 0)
// says ESRCH: a zombie still holds its slot, and a pid already taken by
// another process makes the slot look held, never free). A claimed slot's
// pid reads -1 until its holder writes its own (the claimer's fork writes
// it too), so no second claimer takes it meanwhile.
constexpr std::int32_t kReleased = -2;  // a spare slot's pid: claimed, then given back unused
long claim_spare() {
    auto* header = static_cast<ArenaHeader*>(arena);
    const int saved_errno = errno;
    long got = -1;
    std::uint32_t s = header->next_spare.load();
    while (got < 0 && s < layout.spares)
        if (header->next_spare.compare_exchange_weak(s, s + 1)) got = static_cast<long>(layout.processes + s);
    for (unsigned long i = 0; got < 0 && i < layout.spares; ++i) {
        std::atomic<std::int32_t>& holder = slot_of(layout.processes + i).pid;
        std::int32_t pid = holder.load();
        const bool free = pid == kReleased || (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH);
        if (free && holder.compare_exchange_strong(pid, -1))
            got = static_cast<long>(layout.processes + i);
    }
    if (got >= 0) slot_of(static_cast<unsigned long>(got)).pid.store(-1);
    else header->spares_missed.fetch_add(1);
    errno = saved_errno;
    return got;
}

// A claimed slot the fork did not use, for the next claimer.
void release_spare(long spare) {
    if (spare >= 0) slot_of(static_cast<unsigned long>(spare)).pid.store(kReleased);
}

// Five digits in place: what this process execs traces into slot p.
void set_proc_digits(long p) {
    if (proc_digits)
        for (int i = 4; i >= 0; --i, p /= 10) proc_digits[i] = static_cast<char>('0' + p % 10);
}

// Untraced from here on, and so is what this process execs.
void detach() {
    on = false;
    update_plain();
    for (char** e = environ; e && *e; ++e)
        if (std::strncmp(*e, "SIMRUN_TRACE=", 13) == 0) (*e)[0] = 'X';
    if (keep_fd >= 0) real.close(keep_fd), keep_fd = -1;
    if (wake >= 0) real.close(wake), wake = -1;
}

bool attach() {
    char* spec = std::getenv("SIMRUN_TRACE");
    if (!spec) return false;
    unsigned long v[11];
    char* p = spec;
    for (int i = 0; i < 11; ++i) {
        char* end;
        v[i] = std::strtoul(p, &end, 10);
        if (end == p || (i < 10 && *end != ',')) return false;
        if (i == 10) proc_digits = p;
        p = end + 1;
    }
    int fd = static_cast<int>(v[0]);
    void* base = ::mmap(nullptr, v[1], PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return false;
    keep_fd = fd;
    wake = static_cast<int>(v[9]);
    ::fcntl(keep_fd, F_SETFD, FD_CLOEXEC);
    if (::fcntl(wake, F_SETFD, FD_CLOEXEC) != 0) wake = -1;
    arena = base;
    g_trace_tsc = static_cast<ArenaHeader*>(arena)->tsc_clock.load() != 0;
    newest_stamp = &static_cast<ArenaHeader*>(arena)->newest_stamp;
    layout = {v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
    use_process(static_cast<std::uint32_t>(v[10]));
    // The slot belongs to another process: this image's process was started
    // by v[10]'s process without our fork (vfork, posix_spawn, system).
    if (slot->pid.load() != static_cast<std::int32_t>(::getpid())) {
        long spare = claim_spare();
        if (spare < 0) {
            detach();
            return false;
        }
        started_by = static_cast<long>(v[10]);
        use_process(static_cast<std::uint32_t>(spare));
        slot->pid.store(static_cast<std::int32_t>(::getpid()));
        set_proc_digits(spare);
    }
    // Only the declared process itself is scheduled, not children it forks.
    const char* ctl = std::getenv("SIMRUN_CONTROLLED");
    controlled = ctl && *ctl == '1' && proc < layout.processes;
    return true;
}

__attribute__((constructor)) void init() {
    Real r;
#define RESOLVE(name) resolve(r.name, #name);
    RESOLVE(semget) RESOLVE(semop) RESOLVE(semtimedop) RESOLVE(semctl) RESOLVE(shmget) RESOLVE(shmat) RESOLVE(shmdt)
    RESOLVE(shmctl) RESOLVE(msgget) RESOLVE(msgsnd) RESOLVE(msgrcv) RESOLVE(msgctl) RESOLVE(mq_open) RESOLVE(mq_send)
    RESOLVE(mq_timedsend) RESOLVE(mq_receive) RESOLVE(mq_timedreceive) RESOLVE(mq_unlink) RESOLVE(sem_open) RESOLVE(sem_wait)
    RESOLVE(sem_trywait) RESOLVE(sem_timedwait) RESOLVE(sem_post) RESOLVE(sem_unlink) RESOLVE(sem_init) RESOLVE(shm_open)
    RESOLVE(shm_unlink) RESOLVE(mmap) RESOLVE(pipe) RESOLVE(pipe2) RESOLVE(mkfifo) RESOLVE(read) RESOLVE(write) RESOLVE(close)
    RESOLVE(dup2) RESOLVE(dup3) RESOLVE(kill) RESOLVE(sigqueue) RESOLVE(raise) RESOLVE(sigaction) RESOLVE(signal)
    RESOLVE(sigprocmask) RESOLVE(fork) RESOLVE(posix_spawn) RESOLVE(posix_spawnp) RESOLVE(system) RESOLVE(execve) RESOLVE(execv) RESOLVE(execvp) RESOLVE(execvpe) 
    RESOLVE(wait4) RESOLVE(exit) RESOLVE(_exit) RESOLVE(_Exit) RESOLVE(pthread_sigmask) RESOLVE(pause) RESOLVE(sigsuspend)
    RESOLVE(sleep) RESOLVE(usleep) RESOLVE(nanosleep) RESOLVE(clock_nanosleep) RESOLVE(sigwait) RESOLVE(sigwaitinfo) RESOLVE(sigtimedwait)
    RESOLVE(alarm)
#undef RESOLVE
    real = r;
    if (!attach()) return;
    my_pid = static_cast<std::int32_t>(::getpid());
    on = true;
    update_plain();
    slot->traced.store(1);
    publish_signals();
    // The first image arrives at its first gate; one it execs later finds
    // the gate handed back already. Its attach record goes with its first step.
    if (controlled) {
        attach_pending = true;
        if (slot->gate.load() == kRunning) end_step(StepOutcome::Started);
    } else if (started_by >= 0) {
        // As a forked child's would be: attach naming the parent, then the
        // exec that brought this image (recorded nowhere before).
        emit(CallId::Attach, {started_by, my_pid, 1}, 0, 0);  // step 1: it claimed its slot itself
        char path[256];
        ssize_t n = ::readlink("/proc/self/exe", path, sizeof path);
        emit(CallId::Exec, {}, 0, 0, 0, path, n > 0 ? static_cast<std::size_t>(n) : 0);
    } else {
        emit(CallId::Attach, {}, 0, 0);
    }
}

// The tracer's descriptors: kept across an exec (the new image is traced
// too, at the numbers SIMRUN_TRACE names) or closed by it.
void tracer_fds_inherited(bool inherited) {
    if (keep_fd >= 0) ::fcntl(keep_fd, F_SETFD, inherited ? 0 : FD_CLOEXEC);
    if (wake >= 0) ::fcntl(wake, F_SETFD, inherited ? 0 : FD_CLOEXEC);
}

void before_exec(const char* path) {
    one_step(CallId::Exec, [&] {
        emit(CallId::Exec, {}, 0, 0, 0, path, name_len(path));
        return 0;
    });
    tracer_fds_inherited(true);
}
void after_failed_exec() {
    int err = errno;
    tracer_fds_inherited(false);
    one_step(CallId::Exec, [&] {
        emit(CallId::Exec, {}, -1, err);
        return 0;
    });
    errno = err;
}

void trampoline(int sig, siginfo_t* info, void* ctx) {
    int saved = errno;
    // Stamped before the run is counted: once it is, the supervisor may let
    // the next step go, and that step's records must come after this one.
    std::uint64_t ts = now();
    if (on && slot && !vfork_child && sig > 0 && sig < 65) {
        if (handlers[sig].once.load()) publish_disposition(*slot, sig, false, false);
        count_handler_run(*slot, info);
    }
    // Delivered inside a call we wrap (raise, a semop that EINTRs): record
    // it all the same; the lock decides the ring.
    int hooked = in_hook;
    in_hook = 0;
    if (sig > 0 && sig < 65) emit(CallId::Handler, {info ? info->si_pid : 0, sig, info ? info->si_code : 0}, 0, 0, ts);
    in_hook = hooked;
    errno = saved;
    void* fn = sig > 0 && sig < 65 ? handlers[sig].fn.load() : nullptr;
    if (!fn) return;
    if (handlers[sig].siginfo.load()) reinterpret_cast<void (*)(int, siginfo_t*, void*)>(fn)(sig, info, ctx);
    else reinterpret_cast<void (*)(int)>(fn)(sig);
}

}  // namespace

// ---- System V ----------------------------------------------------------
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
    auto attempt = [&] {
        std::uint64_t ts = only_posts(sops, n) ? now() : 0;
        ++in_hook;
        r = real.semop(id, copy, n);
        --in_hook;
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

// One P or V of a single-threaded program in free mode: the call every
// classic IPC program makes most, on the short path without the general
// cases of semop_args and only_posts (tools/bench/preload.sh measures it).
[[gnu::noinline]] static int semop_one(int id, sembuf* sops) {
    const sembuf op = *sops;
    const Args a{id, 1, static_cast<std::int64_t>(pack_sembuf(op.sem_num, op.sem_op, op.sem_flg))};
    return traced_lone<int>(CallId::Semop, a, op.sem_op > 0, [&] { return real.semop(id, sops, 1); });
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
            std::uint64_t ts = now();
            ++in_hook;
            r = real.msgsnd(id, msgp, sz, flg | IPC_NOWAIT);
            --in_hook;
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
        ++in_hook;
        r = real.msgrcv(id, msgp, sz, type, flags);
        --in_hook;
        err = errno;
        if (r < 0 && err == ENOMSG && flags != flg) return false;  // controlled: it would have waited
        long got = r >= 0 && msgp ? *static_cast<long*>(msgp) : 0;
        emit(CallId::Msgrcv, {id, type, got}, r, r < 0 ? err : 0, 0, r > 0 ? static_cast<char*>(msgp) + sizeof(long) : nullptr,
             r > 0 ? (r < 256 ? static_cast<size_t>(r) : 256) : 0);
        return true;
    };
    if (stepping() && !(flg & IPC_NOWAIT)) step_until_done(CallId::Msgrcv, [&] { return once(flg | IPC_NOWAIT); });
    else once(flg);
    errno = err;
    return r;
}

int msgctl(int id, int cmd, msqid_ds* buf) {
    return traced<int>(CallId::Msgctl, {id, cmd}, cmd == IPC_RMID, [&] { return real.msgctl(id, cmd, buf); });
}

// ---- POSIX message queues, semaphores, shared memory -----------------------
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
        ++in_hook;
        r = probe ? real.mq_timedreceive(q, msg, len, &got, &kPast) : timed ? real.mq_timedreceive(q, msg, len, &got, t)
                                                                          : real.mq_receive(q, msg, len, &got);
        --in_hook;
        err = errno;
        if (probe && r < 0 && err == ETIMEDOUT) return false;
        emit(CallId::MqReceive, {q, got, timed}, r, r < 0 ? err : 0, 0, r > 0 ? msg : nullptr, r > 0 ? (r < 256 ? static_cast<size_t>(r) : 256) : 0);
        return true;
    };
    if (stepping()) {
        step_until_done(CallId::MqReceive, [&] { return once(true); }, timed, [&] {
            r = -1, err = ETIMEDOUT;
            emit(CallId::MqReceive, {q, 0, timed}, r, err);
        });
    } else {
        once(false);
    }
    if (prio) *prio = got;
    errno = err;
    return r;
}

static int mq_send_traced(mqd_t q, const char* msg, size_t len, unsigned prio, const timespec* t, bool timed) {
    if (!stepping()) {
        return traced<int>(CallId::MqSend, {q, prio, timed}, true,
                           [&] { return timed ? real.mq_timedsend(q, msg, len, prio, t) : real.mq_send(q, msg, len, prio); }, msg,
                           len < 256 ? len : 256);
    }
    int r = -1, err = 0;
    auto attempt = [&] {
        std::uint64_t ts = now();
        ++in_hook;
        r = real.mq_timedsend(q, msg, len, prio, &kPast);
        --in_hook;
        err = errno;
        if (r < 0 && err == ETIMEDOUT) return false;
        emit(CallId::MqSend, {q, prio, timed}, r, r < 0 ? err : 0, ts, msg, len < 256 ? len : 256);
        return true;
    };
    step_until_done(CallId::MqSend, attempt, timed, [&] {
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

sem_t* sem_open(const char* name, int oflag, ...) {
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (oflag & O_CREAT) ? va_arg(ap, mode_t) : 0;
    unsigned value = (oflag & O_CREAT) ? va_arg(ap, unsigned) : 0;
    va_end(ap);
    sem_t* s = SEM_FAILED;
    one_step(CallId::SemOpen, [&] {
        ++in_hook;
        s = real.sem_open(name, oflag, mode, value);
        --in_hook;
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
static int psem_wait(CallId c, sem_t* s, const timespec* t) {
    int r = -1, err = 0;
    if (!stepping()) {
        ++in_hook;
        r = c == CallId::SemTimedwait ? real.sem_timedwait(s, t) : real.sem_wait(s);
        --in_hook;
        return psem(c, s, r, errno, 0);
    }
    auto attempt = [&] {
        ++in_hook;
        r = real.sem_trywait(s);
        --in_hook;
        err = errno;
        if (r < 0 && err == EAGAIN) return false;
        psem(c, s, r, err, 0);
        return true;
    };
    step_until_done(c, attempt, c == CallId::SemTimedwait, [&] {
        r = -1, err = ETIMEDOUT;
        psem(c, s, r, err, 0);
    });
    errno = err;
    return r;
}
int sem_wait(sem_t* s) { return psem_wait(CallId::SemWait, s, nullptr); }
int sem_timedwait(sem_t* s, const timespec* t) { return psem_wait(CallId::SemTimedwait, s, t); }

int sem_trywait(sem_t* s) {
    return one_step(CallId::SemTrywait, [&] {
        ++in_hook;
        int r = real.sem_trywait(s);
        --in_hook;
        return psem(CallId::SemTrywait, s, r, errno, 0);
    });
}
int sem_post(sem_t* s) {
    return one_step(CallId::SemPost, [&] {
        std::uint64_t ts = now();
        ++in_hook;
        int r = real.sem_post(s);
        --in_hook;
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
    if (!(flags & MAP_SHARED) || fd < 0 || in_hook || !on) return real.mmap(addr, len, prot, flags, fd, off);
    return traced<void*>(CallId::Mmap, {fd, static_cast<std::int64_t>(len), flags}, false, [&] { return real.mmap(addr, len, prot, flags, fd, off); });
}

// ---- pipes and FIFOs -------------------------------------------------------
int pipe(int fds[2]) {
    return one_step(CallId::Pipe, [&] {
    ++in_hook;
    int r = real.pipe(fds);
    --in_hook;
    int err = errno;
    if (r == 0) forget_fd(fds[0]), forget_fd(fds[1]);
    emit(CallId::Pipe, {r == 0 ? fds[0] : -1, r == 0 ? fds[1] : -1}, r, r < 0 ? err : 0);
    errno = err;
    return r;
    });
}
int pipe2(int fds[2], int flags) {
    return one_step(CallId::Pipe, [&] {
    ++in_hook;
    int r = real.pipe2(fds, flags);
    --in_hook;
    int err = errno;
    if (r == 0) forget_fd(fds[0]), forget_fd(fds[1]);
    emit(CallId::Pipe, {r == 0 ? fds[0] : -1, r == 0 ? fds[1] : -1, flags}, r, r < 0 ? err : 0);
    errno = err;
    return r;
    });
}
int mkfifo(const char* path, mode_t mode) {
    return traced<int>(CallId::Mkfifo, {0, mode}, false, [&] { return real.mkfifo(path, mode); }, path, name_len(path));
}
// Controlled mode: would this read or write on a blocking pipe wait?
static bool would_block(int fd, short events) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) == 0;
}

ssize_t read(int fd, void* buf, size_t n) {
    if (!on || in_hook || !is_pipe(fd)) return real.read(fd, buf, n);
    ssize_t r = -1;
    int err = 0;
    auto once = [&] {
        ++in_hook;
        r = real.read(fd, buf, n);
        --in_hook;
        err = errno;
        emit(CallId::Read, {fd, static_cast<std::int64_t>(n)}, r, r < 0 ? err : 0, 0, r > 0 ? buf : nullptr,
             r > 0 ? (r < 64 ? static_cast<size_t>(r) : 64) : 0);
        return true;
    };
    if (stepping()) step_until_done(CallId::Read, [&] { return would_block(fd, POLLIN) ? false : once(); });
    else once();
    errno = err;
    return r;
}
ssize_t write(int fd, const void* buf, size_t n) {
    if (!on || in_hook || !is_pipe(fd)) return real.write(fd, buf, n);
    if (!stepping())
        return traced<ssize_t>(CallId::Write, {fd, static_cast<std::int64_t>(n)}, true, [&] { return real.write(fd, buf, n); }, buf, n < 64 ? n : 64);
    ssize_t r = -1;
    int err = 0;
    step_until_done(CallId::Write, [&] {
        if (would_block(fd, POLLOUT)) return false;
        std::uint64_t ts = now();
        ++in_hook;
        r = real.write(fd, buf, n);
        --in_hook;
        err = errno;
        emit(CallId::Write, {fd, static_cast<std::int64_t>(n)}, r, r < 0 ? err : 0, ts, buf, n < 64 ? n : 64);
        return true;
    });
    errno = err;
    return r;
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
int dup2(int from, int to) {
    if (from != to) lose_fd(to);
    return real.dup2(from, to);
}
int dup3(int from, int to, int flags) {
    lose_fd(to);
    return real.dup3(from, to, flags);
}

// ---- signals ---------------------------------------------------------------
int kill(pid_t pid, int sig) {
    return traced<int>(CallId::Kill, {pid, sig}, true, [&] {
        announce_kill(pid, sig);
        return real.kill(pid, sig);
    });
}
int sigqueue(pid_t pid, int sig, const sigval v) {
    return traced<int>(CallId::Sigqueue, {pid, sig, v.sival_int}, true, [&] {
        if (pid > 0) announce_kill(pid, sig);
        return real.sigqueue(pid, sig, v);
    });
}
int raise(int sig) {
    return traced<int>(CallId::Raise, {0, sig}, true, [&] {
        announce_kill(my_pid, sig);
        return real.raise(sig);
    });
}

}  // extern "C"
namespace {
// The program's handler goes behind the trampoline, which records each
// delivery; queries see the program's own handler.
int set_action(int sig, const struct sigaction* act, struct sigaction* old) {
    void* prev_fn = handlers[sig].fn.load();
    int prev_info = handlers[sig].siginfo.load();
    struct sigaction mine;
    const struct sigaction* use = act;
    int kind = 0;
    if (act) {
        bool info = act->sa_flags & SA_SIGINFO;
        void* fn = info ? reinterpret_cast<void*>(act->sa_sigaction) : reinterpret_cast<void*>(act->sa_handler);
        kind = fn == reinterpret_cast<void*>(SIG_DFL) ? 0 : fn == reinterpret_cast<void*>(SIG_IGN) ? 1 : 2;
        if (kind == 2) {
            handlers[sig].fn.store(fn), handlers[sig].siginfo.store(info), handlers[sig].once.store((act->sa_flags & SA_RESETHAND) != 0);
            mine = *act;
            mine.sa_flags |= SA_SIGINFO;
            mine.sa_sigaction = trampoline;
            use = &mine;
        }
    }
    ++in_hook;
    int r = real.sigaction(sig, use, old);
    --in_hook;
    int err = errno;
    if (r == 0 && old && old->sa_sigaction == trampoline) {
        if (prev_info) old->sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(prev_fn);
        else old->sa_handler = reinterpret_cast<void (*)(int)>(prev_fn), old->sa_flags &= ~SA_SIGINFO;
    }
    if (act && r == 0 && slot) publish_disposition(*slot, sig, kind == 2, kind == 1);
    if (act) emit(CallId::Sigaction, {0, sig, kind}, r, r < 0 ? err : 0);
    errno = err;
    return r;
}
}  // namespace
extern "C" {
int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
    if (!on || vfork_child || sig <= 0 || sig >= 65) return real.sigaction(sig, act, old);
    if (!act) return set_action(sig, act, old);
    return one_step(CallId::Sigaction, [&] { return set_action(sig, act, old); });  // a change is a step
}
sighandler_t signal(int sig, sighandler_t h) {
    if (!on || vfork_child) return real.signal(sig, h);
    struct sigaction act = {}, old = {};
    act.sa_handler = h;
    act.sa_flags = SA_RESTART;  // signal()'s BSD semantics, as glibc gives them
    sigemptyset(&act.sa_mask);
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}
}  // extern "C"
namespace {
// sigprocmask and pthread_sigmask: recorded alike, the new mask published.
// (One mask for the process: a program whose threads block different
// signals is announced to by the last call's.)
template <typename F>
int change_mask(int how, const sigset_t* set, sigset_t* old, F call) {
    sigset_t before;
    sigset_t* prev = old ? old : &before;
    const std::uint64_t bits = signal_bits(set);
    return traced<int>(CallId::Sigprocmask, {how, static_cast<std::int64_t>(bits)}, false, [&] {
        int r = call(how, set, prev);
        if (r == 0 && set) {
            const std::uint64_t was = signal_bits(prev);
            publish_blocked(how == SIG_SETMASK ? bits : how == SIG_BLOCK ? was | bits : was & ~bits);
        }
        return r;
    });
}
}  // namespace
extern "C" {
int sigprocmask(int how, const sigset_t* set, sigset_t* old) { return change_mask(how, set, old, real.sigprocmask); }
int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) { return change_mask(how, set, old, real.pthread_sigmask); }

// Waiting for signals, and sleeping. No re-entrancy guard around them: the
// handlers they let run are the program's own code, traced as usual. In
// controlled mode no time passes but by steps: a pause or sigsuspend parks
// until a handler has run (a step of another process sent the signal), a
// sigwait until the signal is pending, and a sleep is one step that
// returns at once.
}  // extern "C"
namespace {
int wait_for_handler(CallId c, const sigset_t* during) {
    const std::uint64_t bits = signal_bits(during);
    if (!stepping()) {
        int r = during ? real.sigsuspend(during) : real.pause();
        int err = errno;
        emit(c, {0, static_cast<std::int64_t>(bits)}, r, err);
        errno = err;
        return r;
    }
    const std::uint32_t from = slot->sig_handled.load();  // the trampoline counts every run
    sigset_t before;
    bool masked = false;
    step_until_done(c, [&] {
        if (during && !masked) {  // in the first step: what is pending and now unblocked runs its handler here
            real.sigprocmask(SIG_SETMASK, during, &before), publish_blocked(bits);
            masked = true;
        }
        if (slot->sig_handled.load() == from) return false;
        if (masked) real.sigprocmask(SIG_SETMASK, &before, nullptr), publish_blocked(signal_bits(&before));
        emit(c, {0, static_cast<std::int64_t>(bits)}, -1, EINTR);
        return true;
    });
    errno = EINTR;
    return -1;
}

// A sleep of `ns` (-1: until an absolute time): `call` sleeps for real in
// free mode; the result in controlled mode is `done`.
template <typename R, typename F>
R sleep_call(std::int64_t ns, R done, F call) {
    if (stepping()) {
        one_step(CallId::Sleep, [&] {
            emit(CallId::Sleep, {ns}, 0, 0);
            return 0;
        });
        return done;
    }
    std::uint64_t ts = now();
    R r = call();
    int err = errno;
    emit(CallId::Sleep, {ns}, static_cast<std::int64_t>(r), r == static_cast<R>(-1) ? err : 0, ts);
    errno = err;
    return r;
}
std::int64_t span_ns(const timespec* t) { return t ? static_cast<std::int64_t>(t->tv_sec) * 1'000'000'000 + t->tv_nsec : 0; }

// sigwait, sigwaitinfo, sigtimedwait: the signal taken (or -1).
int take_signal(const sigset_t* set, siginfo_t* info, const timespec* timeout) {
    const auto bits = static_cast<std::int64_t>(signal_bits(set));
    if (!stepping()) {
        int r = timeout ? real.sigtimedwait(set, info, timeout) : real.sigwaitinfo(set, info);
        int err = errno;
        emit(CallId::Sigwait, {0, bits}, r, r < 0 ? err : 0);
        errno = err;
        return r;
    }
    int got = -1, err = 0;
    step_until_done(CallId::Sigwait, [&] {
        const timespec zero = {0, 0};
        got = real.sigtimedwait(set, info, &zero);
        err = errno;
        if (got < 0 && err == EAGAIN) return false;
        emit(CallId::Sigwait, {0, bits}, got, got < 0 ? err : 0);
        return true;
    }, timeout != nullptr, [&] {
        got = -1, err = EAGAIN;
        emit(CallId::Sigwait, {0, bits}, -1, EAGAIN);
    });
    errno = err;
    return got;
}
}  // namespace
extern "C" {
int pause() { return wait_for_handler(CallId::Pause, nullptr); }
int sigsuspend(const sigset_t* mask) { return wait_for_handler(CallId::Sigsuspend, mask); }
unsigned int sleep(unsigned int seconds) {
    return sleep_call(static_cast<std::int64_t>(seconds) * 1'000'000'000, 0u, [&] { return real.sleep(seconds); });
}
int usleep(useconds_t us) { return sleep_call(static_cast<std::int64_t>(us) * 1000, 0, [&] { return real.usleep(us); }); }
int nanosleep(const timespec* req, timespec* rem) {
    return sleep_call(span_ns(req), 0, [&] { return real.nanosleep(req, rem); });
}
int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
    int err = 0;  // it returns its error instead of setting errno
    sleep_call(flags & TIMER_ABSTIME ? -1 : span_ns(req), 0, [&] {
        err = real.clock_nanosleep(clock, flags, req, rem);
        return err ? (errno = err, -1) : 0;
    });
    return err;
}
int sigwait(const sigset_t* set, int* sig) {
    int r = take_signal(set, nullptr, nullptr);
    if (r < 0) return errno;
    *sig = r;
    return 0;
}
int sigwaitinfo(const sigset_t* set, siginfo_t* info) { return take_signal(set, info, nullptr); }
int sigtimedwait(const sigset_t* set, siginfo_t* info, const timespec* timeout) { return take_signal(set, info, timeout); }
// Controlled mode: no timer runs; the supervisor rings the alarm (sends
// SIGALRM) when no process can step, as time moving on to it would.
unsigned int alarm(unsigned int seconds) {
    if (!stepping()) return traced<unsigned>(CallId::Alarm, {seconds}, false, [&] { return real.alarm(seconds); });
    unsigned prev = 0;
    one_step(CallId::Alarm, [&] {
        prev = slot->alarm_secs.exchange(seconds);
        emit(CallId::Alarm, {seconds}, prev, 0);
        return 0;
    });
    return prev;
}

// ---- processes -------------------------------------------------------------
// The child gets a spare slot of its own, claimed before the fork (the
// parent's record names it); with none left it runs untraced, and neither
// is what it execs.
pid_t fork() {
    if (vfork_child) return real.fork();
    const long spare = on && arena ? claim_spare() : -1;
    const std::uint16_t parent = proc;
    const bool step = stepping();
    if (step) begin_step(CallId::Fork);
    std::uint64_t ts = now();
    ++in_hook;
    pid_t pid = real.fork();
    --in_hook;
    int err = errno;
    if (pid == 0) {
        controlled = false;  // the controller schedules declared processes only
        update_plain();
        owner.store(0);
        writing = 0;
        my_pid = static_cast<std::int32_t>(::syscall(SYS_getpid));
        my_tid = 0;
        if (spare >= 0) {
            use_process(static_cast<std::uint32_t>(spare));
            slot->pid.store(my_pid);
            slot->traced.store(1);
            publish_signals();
            set_proc_digits(spare);
            emit(CallId::Attach, {parent, my_pid}, 0, 0);
            return 0;
        }
        detach();
        return 0;
    }
    if (pid > 0 && spare >= 0) slot_of(static_cast<unsigned long>(spare)).pid.store(pid);  // as the child does
    if (pid < 0) release_spare(spare);
    emit(CallId::Fork, {spare}, pid, pid < 0 ? err : 0, ts);
    if (step) end_step(StepOutcome::Done);
    errno = err;
    return pid;
}

// vfork: the child borrows the parent's memory and stack until it execs or
// exits, so the wrapper cannot return twice through a C frame. The assembly
// below is glibc's own vfork (return address kept in a register across the
// system call) with three hooks: before (a controlled step begins, the time
// is taken), in the child (records off on this thread), and in the parent
// once it resumes (records on, the call recorded). The child's image attaches
// to a spare slot of its own (see attach()).
extern "C" __attribute__((visibility("hidden"), used)) void simrun_vfork_enter() {
    int saved = errno;
    vfork_step = stepping();
    if (vfork_step) begin_step(CallId::Fork);
    vfork_ts = now();
    errno = saved;
}
extern "C" __attribute__((visibility("hidden"), used)) void simrun_vfork_child() { vfork_child = 1; }
extern "C" __attribute__((visibility("hidden"), used)) pid_t simrun_vfork_parent(long r) {
    vfork_child = 0;
    int err = r < 0 ? static_cast<int>(-r) : 0;
    emit(CallId::Fork, {-1, kForkVfork}, r < 0 ? -1 : r, err, vfork_ts);
    if (vfork_step) end_step(StepOutcome::Done);
    if (r < 0) errno = err;
    return r < 0 ? -1 : static_cast<pid_t>(r);
}
#if defined(__x86_64__)
asm(R"(
    .text
    .globl vfork
    .type vfork, @function
vfork:
    subq $8, %rsp
    call simrun_vfork_enter
    addq $8, %rsp
    popq %rdi
    movl $58, %eax
    syscall
    pushq %rdi
    testq %rax, %rax
    jnz 1f
    subq $8, %rsp
    call simrun_vfork_child
    addq $8, %rsp
    xorl %eax, %eax
    ret
1:  movq %rax, %rdi
    jmp simrun_vfork_parent
    .size vfork, .-vfork
)");
#else
pid_t vfork() { return fork(); }  // elsewhere vfork runs as fork
#endif

// posix_spawn and system start their child without our fork: it inherits
// the tracer's descriptors for the call's length, and its image claims a
// spare slot when it attaches (see attach()).
}  // extern "C"
namespace {
template <typename F>
auto with_inherited_fds(F f) {
    const bool share = on && !vfork_child;
    if (share) tracer_fds_inherited(true);
    auto r = f();
    int err = errno;
    if (share) tracer_fds_inherited(false);
    errno = err;
    return r;
}
int spawn(bool search, pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
          char* const argv[], char* const envp[]) {
    pid_t child = -1;
    int r = 0;
    one_step(CallId::Fork, [&] {
        std::uint64_t ts = now();
        ++in_hook;
        r = with_inherited_fds([&] { return (search ? real.posix_spawnp : real.posix_spawn)(&child, path, fa, attr, argv, envp); });
        --in_hook;
        emit(CallId::Fork, {-1, kForkSpawn}, r == 0 ? child : -1, r, ts, path, name_len(path));
        return 0;
    });
    if (r == 0 && pid) *pid = child;
    return r;
}
}  // namespace
extern "C" {
int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
                char* const argv[], char* const envp[]) {
    return spawn(false, pid, path, fa, attr, argv, envp);
}
int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
                 char* const argv[], char* const envp[]) {
    return spawn(true, pid, file, fa, attr, argv, envp);
}
// Not a scheduling step: it waits for a child that runs free.
int system(const char* command) {
    if (!command) return real.system(command);
    std::uint64_t ts = now();
    ++in_hook;
    int r = with_inherited_fds([&] { return real.system(command); });
    --in_hook;
    int err = errno;
    emit(CallId::Fork, {-1, kForkSystem}, r, r < 0 ? err : 0, ts, command, name_len(command));
    errno = err;
    return r;
}

// A second thread: from now on writers take the lock. (A thread started
// while one of our records is half written cannot be: this thread is here.)
int pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
    threaded.store(true);
    update_plain();
    static auto real_create = reinterpret_cast<int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)>(
        dlsym(RTLD_NEXT, "pthread_create"));
    return real_create(t, attr, fn, arg);
}

int execve(const char* path, char* const argv[], char* const envp[]) {
    before_exec(path);
    int r = real.execve(path, argv, envp);
    after_failed_exec();
    return r;
}
int execv(const char* path, char* const argv[]) {
    before_exec(path);
    int r = real.execv(path, argv);
    after_failed_exec();
    return r;
}
int execvp(const char* file, char* const argv[]) {
    before_exec(file);
    int r = real.execvp(file, argv);
    after_failed_exec();
    return r;
}
int execvpe(const char* file, char* const argv[], char* const envp[]) {
    before_exec(file);
    int r = real.execvpe(file, argv, envp);
    after_failed_exec();
    return r;
}
// execl* collect their arguments on the stack and go through the v forms.
#define COLLECT_ARGS(first, extra_envp)                              \
    va_list ap;                                                      \
    va_start(ap, first);                                             \
    int n = 1;                                                       \
    {                                                                \
        va_list count;                                               \
        va_copy(count, ap);                                          \
        while (va_arg(count, char*)) ++n;                            \
        va_end(count);                                               \
    }                                                                \
    char** argv = static_cast<char**>(__builtin_alloca((n + 1) * sizeof(char*))); \
    argv[0] = const_cast<char*>(first);                              \
    for (int i = 1; i <= n; ++i) argv[i] = va_arg(ap, char*);        \
    extra_envp;                                                      \
    va_end(ap);
int execl(const char* path, const char* arg, ...) {
    COLLECT_ARGS(arg, (void)0)
    return execv(path, argv);
}
int execlp(const char* file, const char* arg, ...) {
    COLLECT_ARGS(arg, (void)0)
    return execvp(file, argv);
}
int execle(const char* path, const char* arg, ...) {
    COLLECT_ARGS(arg, char* const* envp = va_arg(ap, char* const*))
    return execve(path, argv, envp);
}

pid_t wait(int* status) { return wait4(-1, status, 0, nullptr); }
// waitpid is wait4 without the usage; both record what they reaped. In
// controlled mode a blocking wait tries WNOHANG each step until a child is
// reaped (or there is none: ECHILD).
pid_t wait4(pid_t pid, int* status, int options, struct rusage* ru) {
    int st = 0, err = 0;
    pid_t r = -1;
    auto once = [&](int opts) {
        ++in_hook;
        r = real.wait4(pid, &st, opts, ru);
        --in_hook;
        err = errno;
        if (r == 0 && opts != options) return false;
        if (r != 0) emit(CallId::Wait, {pid, st, options}, r, r < 0 ? err : 0);
        return true;
    };
    if (stepping() && !(options & WNOHANG)) step_until_done(CallId::Wait, [&] { return once(options | WNOHANG); });
    else once(options);
    if (status && r > 0) *status = st;
    errno = err;
    return r;
}
pid_t waitpid(pid_t pid, int* status, int options) { return wait4(pid, status, options, nullptr); }
pid_t wait3(int* status, int options, struct rusage* ru) { return wait4(-1, status, options, ru); }

void exit(int code) {
    // Its last step, which ends with its death; what atexit handlers call
    // runs inside it, unstepped (the supervisor waits for this one).
    if (stepping()) begin_step(CallId::Exit), controlled = false;
    emit(CallId::Exit, {0, code}, 0, 0);
    real.exit(code);
    __builtin_unreachable();
}
void _exit(int code) {
    // Its last step, which ends with its death; what atexit handlers call
    // runs inside it, unstepped (the supervisor waits for this one).
    if (stepping()) begin_step(CallId::Exit), controlled = false;
    emit(CallId::Exit, {0, code, 1}, 0, 0);
    real._exit(code);
    __builtin_unreachable();
}
void _Exit(int code) {
    // Its last step, which ends with its death; what atexit handlers call
    // runs inside it, unstepped (the supervisor waits for this one).
    if (stepping()) begin_step(CallId::Exit), controlled = false;
    emit(CallId::Exit, {0, code, 1}, 0, 0);
    real._Exit(code);
    __builtin_unreachable();
}

}  // extern "C"

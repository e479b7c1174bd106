// Attaching to the trace arena. simrun passes the arena and its wake-up
// eventfd as inherited descriptors at the top of the open-files limit, and
// the arena's layout in SIMRUN_TRACE; the constructor maps it and marks both
// CLOEXEC (cleared again just before the program's own exec, so the new
// image is traced too). A forked child claims a spare slot of the arena and
// writes there (what it execs too: its process number in SIMRUN_TRACE is
// rewritten in place); with no spare left it disables the tracer and renames
// SIMRUN_TRACE, so nothing it execs writes into its parent's ring. An image
// whose slot belongs to another process (it was started by vfork,
// posix_spawn or system, not by our fork) claims a spare slot for itself
// when it attaches.
#include "preload/tracer.hpp"

#include <sys/stat.h>

#include <dlfcn.h>
#include <fcntl.h>

#include <cstdlib>

extern char** environ;

namespace simrun::preload {
namespace {

// The arena's layout, from SIMRUN_TRACE (trace/protocol.hpp). Both
// descriptors sit at the top of the open-files limit; they stay (CLOEXEC,
// opened up again just before the program's own exec).
constinit ArenaLayout layout{};
constinit char* proc_digits = nullptr;  // the PROC field inside environ's SIMRUN_TRACE
constinit long started_by = -1;         // an image that claimed a spare slot at attach: its parent's process number

}  // namespace

unsigned long declared_processes() { return layout.processes; }

// Points the writers at process p's slot and rings (a declared process, or
// a spare: P + s).
void use_process(std::uint32_t p) {
    auto* bytes = static_cast<std::byte*>(arena);
    slot = &slot_of(p);
    auto ring_at = [&](std::uint32_t index) {
        auto* h = reinterpret_cast<RingHeader*>(bytes + layout.ring_offset(index));
        return RingWriter(h, reinterpret_cast<Record*>(h + 1), layout.capacity, wake, newest_stamp);
    };
    main_ring = ring_at(layout.own_ring(p));
    signal_ring = ring_at(layout.signal_ring(p));
    proc = static_cast<std::uint16_t>(p);
}

ProcSlot& slot_of(unsigned long p) {
    return *reinterpret_cast<ProcSlot*>(static_cast<std::byte*>(arena) + layout.slot_offset(static_cast<std::uint32_t>(p)));
}

// A spare slot for a child, or -1 when every one is held. A slot never
// handed out first; then one whose holder has been reaped (kill(pid, 0)
// says ESRCH: a zombie still holds its slot, and a pid already taken by
// another process makes the slot look held, never free). A claimed slot's
// pid reads -1 until its holder writes its own (the claimer's fork writes
// it too), so no second claimer takes it meanwhile.
constexpr std::int32_t kReleased = -2;  // a spare slot's pid: claimed, then given back unused
constexpr std::int32_t kReservedSpawn = -3;  // reserved for the image a scheduled process starts without our fork
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
        // The system call itself: the program's kill (ours) would record it.
        const bool free = pid == kReleased || (pid > 0 && ::syscall(SYS_kill, pid, 0) != 0 && errno == ESRCH);
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

// Controlled: a spare slot for the image this process is about to start
// without our fork (vfork, posix_spawn, system). The image traces into it
// (the digits of environ's SIMRUN_TRACE, which it inherits, name it until
// spawn_slot_taken) and is scheduled from its first call, as a forked
// child is; its pid reads kReservedSpawn until it attaches. -1 if none is left.
long reserve_spawn_slot() {
    const long spare = claim_spare();
    if (spare < 0) return -1;
    ProcSlot& s = slot_of(static_cast<unsigned long>(spare));
    s.timed.store(0), s.timed_out.store(0), s.alarm_secs.store(0);
    s.parent.store(proc);
    s.scheduled.store(1);
    s.gate.store(kRunning);
    s.traced.store(0);
    s.pid.store(kReservedSpawn);
    set_proc_digits(spare);
    return spare;
}

// The call that started the image has returned (child: its pid, or -1).
// Whether the image attached to the reserved slot; if it did not (the call
// failed, it died first, or it is not traced at all), the slot is its
// pid's, unscheduled, and `ran_free` says whether it lives on untraced.
bool spawn_slot_taken(long spare, pid_t child, bool ran_free) {
    set_proc_digits(proc);
    ProcSlot& s = slot_of(static_cast<unsigned long>(spare));
    std::int32_t reserved = kReservedSpawn;
    if (!s.pid.compare_exchange_strong(reserved, child > 0 ? child : kReleased)) return true;
    s.scheduled.store(0);
    if (child > 0 && ran_free) static_cast<ArenaHeader*>(arena)->unscheduled.fetch_add(1);
    return false;
}

// Five digits in place: what this process execs traces into slot p.
void set_proc_digits(long p) {
    if (proc_digits) set_trace_env_proc(proc_digits, static_cast<std::uint32_t>(p));
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

namespace {

bool attach() {
    char* spec = std::getenv("SIMRUN_TRACE");
    if (!spec) return false;
    TraceEnv env;
    std::size_t proc_at = 0;
    if (!decode_trace_env(spec, env, &proc_at) || env.layout.ring_bytes != sizeof(RingHeader) + sizeof(Record) * env.layout.capacity)
        return false;
    proc_digits = spec + proc_at;
    const int fd = env.arena_fd;
    const std::uint64_t size = env.layout.size;
    // The arena only: the program may have put a file of its own on that
    // number before its exec (records written there would corrupt it).
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != size ||
        (::fcntl(fd, F_GET_SEALS) & kArenaSeals) != kArenaSeals)
        return false;
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return false;
    if (static_cast<ArenaHeader*>(base)->magic.load() != kArenaMagic) {
        ::munmap(base, size);
        return false;
    }
    keep_fd = fd;
    wake = env.wake_fd;
    ::fcntl(keep_fd, F_SETFD, FD_CLOEXEC);
    if (::fcntl(wake, F_SETFD, FD_CLOEXEC) != 0) wake = -1;
    arena = base;
    g_trace_tsc = static_cast<ArenaHeader*>(arena)->tsc_clock.load() != 0;
    newest_stamp = &static_cast<ArenaHeader*>(arena)->newest_stamp;
    layout = env.layout;
    use_process(env.proc);
    std::int32_t holder = slot->pid.load();
    const auto me = static_cast<std::int32_t>(::getpid());
    // Reserved for this image by the scheduled process that started it
    // without our fork (reserve_spawn_slot): scheduled as a forked child is.
    const bool reserved = env.proc >= layout.processes && holder == kReservedSpawn && slot->pid.compare_exchange_strong(holder, me);
    if (reserved) started_by = static_cast<long>(slot->parent.load());
    // The slot belongs to another process: this image's process was started
    // by that process without our fork (vfork, posix_spawn, system).
    else if (holder != me) {
        long spare = claim_spare();
        if (spare < 0) {
            detach();
            return false;
        }
        started_by = static_cast<long>(env.proc);
        use_process(static_cast<std::uint32_t>(spare));
        slot->pid.store(static_cast<std::int32_t>(::getpid()));
        set_proc_digits(spare);
    }
    // A declared program is scheduled, and so is an image a scheduled child
    // of one execs (its slot says so), and one started in a slot reserved
    // for it; not one that had to claim a slot itself.
    const char* ctl = std::getenv("SIMRUN_CONTROLLED");
    controlled = ctl && *ctl == '1' && (proc < layout.processes || ((started_by < 0 || reserved) && slot->scheduled.load()));
    if (ctl && *ctl == '1' && !controlled) static_cast<ArenaHeader*>(arena)->unscheduled.fetch_add(1);
    return true;
}

template <typename F>
void resolve(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

__attribute__((constructor)) void init() {
    const int saved_errno = errno;  // main() finds errno as it would without the tracer
    struct Restore {
        int e;
        ~Restore() { errno = e; }
    } restore{saved_errno};
    Real r;
#define RESOLVE(name) resolve(r.name, #name);
    RESOLVE(semget) RESOLVE(semop) RESOLVE(semtimedop) RESOLVE(semctl) RESOLVE(shmget) RESOLVE(shmat) RESOLVE(shmdt)
    RESOLVE(shmctl) RESOLVE(msgget) RESOLVE(msgsnd) RESOLVE(msgrcv) RESOLVE(msgctl) RESOLVE(mq_open) RESOLVE(mq_send)
    RESOLVE(mq_timedsend) RESOLVE(mq_receive) RESOLVE(mq_timedreceive) RESOLVE(mq_unlink) RESOLVE(sem_open) RESOLVE(sem_wait)
    RESOLVE(sem_trywait) RESOLVE(sem_timedwait) RESOLVE(sem_post) RESOLVE(sem_unlink) RESOLVE(sem_init) RESOLVE(shm_open)
    RESOLVE(shm_unlink) RESOLVE(mmap) RESOLVE(pipe) RESOLVE(pipe2) RESOLVE(mkfifo) RESOLVE(read) RESOLVE(write) RESOLVE(close)
    RESOLVE(dup2) RESOLVE(dup3) RESOLVE(kill) RESOLVE(sigqueue) RESOLVE(raise) RESOLVE(sigaction) RESOLVE(signal)
    RESOLVE(sigprocmask) RESOLVE(fork) RESOLVE(posix_spawn) RESOLVE(posix_spawnp) RESOLVE(system) RESOLVE(execve) RESOLVE(execv)
    RESOLVE(execvp) RESOLVE(execvpe) RESOLVE(wait4) RESOLVE(exit) RESOLVE(_exit) RESOLVE(_Exit) RESOLVE(pthread_sigmask)
    RESOLVE(pause) RESOLVE(sigsuspend) RESOLVE(sleep) RESOLVE(usleep) RESOLVE(nanosleep) RESOLVE(clock_nanosleep)
    RESOLVE(sigwait) RESOLVE(sigwaitinfo) RESOLVE(sigtimedwait) RESOLVE(alarm) RESOLVE(pthread_create)
    RESOLVE(siglongjmp) RESOLVE(longjmp) RESOLVE(_longjmp) RESOLVE(close_range) RESOLVE(closefrom) RESOLVE(_Fork)
    RESOLVE(mkfifoat) RESOLVE(mknod) RESOLVE(mknodat) RESOLVE(sem_clockwait) RESOLVE(popen) RESOLVE(pclose)
#undef RESOLVE
    resolve(r.longjmp_chk, "__longjmp_chk");
    real = r;
    if (!attach()) return;
    my_pid = static_cast<std::int32_t>(::getpid());
    on = true;
    update_plain();
    slot->traced.store(1);
    publish_signals();
    // The first image arrives at its first gate; one it execs later finds
    // the gate handed back already. Its attach record goes with its first step.
    if (started_by >= 0) {
        // As a forked child's would be: attach naming the parent, then the
        // exec that brought this image (recorded nowhere before). Scheduled,
        // it does so inside its parent's step, which waits for it.
        emit(CallId::Attach, {started_by, my_pid, 1}, 0, 0);  // step 1: it was not named by a fork record
        char path[256];
        ssize_t n = ::readlink("/proc/self/exe", path, sizeof path);
        emit(CallId::Exec, {}, 0, 0, 0, path, n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    if (controlled) {
        attach_pending = started_by < 0;
        if (slot->gate.load() == kRunning) end_step(StepOutcome::Started);
    } else if (started_by < 0) {
        emit(CallId::Attach, {}, 0, 0);
    }
}

}  // namespace
}  // namespace simrun::preload

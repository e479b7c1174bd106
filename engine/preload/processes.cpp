// The process wrappers: fork and vfork (the child gets a trace slot of its
// own), posix_spawn and system, pthread_create, the exec family (the new
// image is traced too), the wait family and exit.
#include "preload/tracer.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <cstdarg>

namespace simrun::preload {
namespace {

SIMRUN_TLS std::uint64_t vfork_ts = 0;  // when the parent called vfork
SIMRUN_TLS bool vfork_step = false;     // it was a controlled step
SIMRUN_TLS long vfork_spare = -1;       // the slot reserved for what the child execs

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
    if (on && slot && !vfork_child) slot->traced.store(2);  // until the new image attaches
    if (on && vfork_child && vfork_spare >= 0) slot_of(static_cast<unsigned long>(vfork_spare)).traced.store(2);  // the same, for its reserved slot
}
void after_failed_exec() {
    int err = errno;
    if (on && slot && !vfork_child) slot->traced.store(1);
    if (on && vfork_child && vfork_spare >= 0) slot_of(static_cast<unsigned long>(vfork_spare)).traced.store(0);
    tracer_fds_inherited(false);
    one_step(CallId::Exec, [&] {
        emit(CallId::Exec, {}, -1, err);
        return 0;
    });
    errno = err;
}
// One exec form: recorded (a step) before it; if it returns, it failed.
template <typename F>
int traced_exec(const char* path, F exec) {
    before_exec(path);
    int r = exec();
    after_failed_exec();
    return r;
}

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
// Controlled: the fork step ends once the child waits at its gate, at its
// first call (or has died on the way): the controller finds it right after
// this step. With a limit (an image started without our fork, which may
// never attach: a static binary, an environment without SIMRUN_TRACE),
// false once that much time has passed.
std::uint64_t monotonic_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
}

bool await_child_gate(ProcSlot& child, pid_t pid, std::uint64_t limit_ns = 0) {
    const std::uint64_t start = limit_ns ? monotonic_ns() : 0;
    for (;;) {
        const std::uint32_t g = child.gate.load(std::memory_order_acquire);
        if (g == kAtGate) return true;
        siginfo_t si{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) return true;
        if (limit_ns && monotonic_ns() - start > limit_ns) return false;
        futex_wait(&child.gate, g, 1'000'000);
    }
}

// As long as the controller lets a step run in real time before it lets
// the process run free (run/controller.cpp).
constexpr std::uint64_t kSpawnAttachNs = 400'000'000;

// Controlled: after the call that started an image in the slot reserved
// for it (reserve_spawn_slot), its step waits for the image at its gate,
// as a fork step does; an image that does not come runs free.
// One that never attached ran untraced if an image was exec'd: always
// after a posix_spawn that succeeded (it returns once the exec has), after
// a vfork if its child got as far as an exec (traced 2, before_exec).
void spawn_started(long spare, pid_t child, bool execd) {
    if (spare < 0) return;
    ProcSlot& s = slot_of(static_cast<unsigned long>(spare));
    if (child > 0) (void)await_child_gate(s, child, kSpawnAttachNs);
    (void)spawn_slot_taken(spare, child, execd || s.traced.load() == 2);
}

// The image posix_spawn starts inherits SIMRUN_TRACE (and the slot it names)
// only if envp holds environ's own entry.
bool inherits_trace_env(char* const envp[]) {
    const char* mine = nullptr;
    for (char** e = environ; e && *e; ++e)
        if (std::strncmp(*e, "SIMRUN_TRACE=", 13) == 0) mine = *e;
    for (char* const* e = envp; mine && e && *e; ++e)
        if (*e == mine) return true;
    return false;
}

int spawn(bool search, pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
          char* const argv[], char* const envp[]) {
    pid_t child = -1;
    int r = 0;
    const bool step = stepping();
    one_step(CallId::Fork, [&] {
        std::uint64_t ts = now();
        const long spare = step && inherits_trace_env(envp) ? reserve_spawn_slot() : -1;
        enter_call(CallId::Fork);
        r = with_inherited_fds([&] { return (search ? real.posix_spawnp : real.posix_spawn)(&child, path, fa, attr, argv, envp); });
        leave_call();
        spawn_started(spare, r == 0 ? child : -1, true);
        // An image that does not inherit SIMRUN_TRACE runs untraced and free.
        if (step && spare < 0 && r == 0 && !inherits_trace_env(envp)) static_cast<ArenaHeader*>(arena)->unscheduled.fetch_add(1);
        emit(CallId::Fork, {-1, kForkSpawn}, r == 0 ? child : -1, r, ts, path, name_len(path));
        return 0;
    });
    if (r == 0 && pid) *pid = child;
    return r;
}

// Its last step, which ends with its death; what atexit handlers call runs
// inside it, unstepped (the supervisor waits for this one). `immediate`:
// _exit or _Exit, which skip those handlers.
void record_exit(int code, ExitHow how) {
    if (stepping()) begin_step(CallId::Exit), controlled = false, update_plain();
    emit(CallId::Exit, {0, code, how}, 0, 0);
}

// A return from main is the program's exit (libc calls exit with its
// value, inside itself, where no wrapper sees it): main runs inside a
// frame of ours that records it.
using MainFn = int (*)(int, char**, char**);
MainFn program_main = nullptr;
int traced_main(int argc, char** argv, char** envp) {
    const int code = program_main(argc, argv, envp);
    if (on && !vfork_child) record_exit(code, kExitFromMain);
    return code;
}

// Controlled: glibc's system() made of steps, so that the shell it starts
// is scheduled: SIGINT and SIGQUIT ignored and SIGCHLD blocked in the
// caller while the command runs, the shell started with those signals at
// their defaults and the caller's mask (a step, as a fork is), then waited
// for (a blocking call, retried as a wait is). One record, at the end, as
// in free mode, with the shell's pid as its third field.
int controlled_system(const char* command) {
    struct sigaction ignore{}, old_int{}, old_quit{};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    real.sigaction(SIGINT, &ignore, &old_int);
    real.sigaction(SIGQUIT, &ignore, &old_quit);
    sigset_t chld, old_mask, defaults;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    real.sigprocmask(SIG_BLOCK, &chld, &old_mask);
    sigemptyset(&defaults);
    if (old_int.sa_handler != SIG_IGN) sigaddset(&defaults, SIGINT);
    if (old_quit.sa_handler != SIG_IGN) sigaddset(&defaults, SIGQUIT);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &old_mask);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const char* argv[] = {"sh", "-c", command, nullptr};
    pid_t child = -1;
    int r = 0, status = -1;
    begin_step(CallId::Fork);
    const std::uint64_t ts = now();
    const long spare = reserve_spawn_slot();
    enter_call(CallId::Fork);
    r = with_inherited_fds([&] { return real.posix_spawn(&child, "/bin/sh", nullptr, &attr, const_cast<char* const*>(argv), environ); });
    leave_call();
    posix_spawnattr_destroy(&attr);
    spawn_started(spare, r == 0 ? child : -1, true);
    end_step(StepOutcome::Done);
    if (r == 0) {
        step_until_done(CallId::Fork, {-1, kForkSystem}, [&] {
            pid_t w = real.wait4(child, &status, WNOHANG, nullptr);
            if (w == 0 || (w < 0 && errno == EINTR)) return false;
            if (w < 0) status = -1;
            return true;
        });
    }
    const int err = r != 0 ? r : status < 0 ? errno : 0;
    real.sigaction(SIGINT, &old_int, nullptr);
    real.sigaction(SIGQUIT, &old_quit, nullptr);
    real.sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    // A failed start is the status of a shell that could not run (127), as glibc gives it.
    if (r != 0) status = 127 << 8;
    emit(CallId::Fork, {-1, kForkSystem, r == 0 ? child : 0}, status, status < 0 ? err : 0, ts, command, name_len(command));
    errno = err;
    return status;
}

// The child gets a spare slot of its own, claimed before the fork (the
// parent's record names it); with none left it runs untraced, and neither
// is what it execs.
pid_t fork_through(pid_t (*real_fork)()) {
    if (vfork_child) return real_fork();
    const long spare = on && arena ? claim_spare() : -1;
    const std::uint16_t parent = proc;
    const bool step = stepping();
    if (step) begin_step(CallId::Fork);
    std::uint64_t ts = now();
    enter_call(CallId::Fork);
    pid_t pid = real_fork();
    leave_call();
    int err = errno;
    if (pid == 0) {
        in_step = 0;
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
            // The child of a scheduled program is scheduled too: it waits
            // at its own gate from now on, and its attach record goes with
            // its first step. Its parent's fork step ends once it is there.
            slot->timed.store(0), slot->timed_out.store(0), slot->alarm_secs.store(0);  // alarms do not cross a fork
            slot->parent.store(parent);
            slot->scheduled.store(step ? 1 : 0);
            controlled = step;
            update_plain();
            if (step) {
                pending_attach = {parent, my_pid};
                attach_pending = true;
                slot->gate.store(kRunning);
                end_step(StepOutcome::Started);  // at its gate from its first call on
            } else {
                emit(CallId::Attach, {parent, my_pid}, 0, 0);
            }
            return 0;
        }
        controlled = false;  // no slot left: it runs untraced and free (the report says so)
        update_plain();
        detach();
        return 0;
    }
    if (pid > 0 && spare >= 0) slot_of(static_cast<unsigned long>(spare)).pid.store(pid);  // as the child does
    if (pid < 0) release_spare(spare);
    emit(CallId::Fork, {spare}, pid, pid < 0 ? err : 0, ts);
    if (step && pid > 0 && spare >= 0) await_child_gate(slot_of(static_cast<unsigned long>(spare)), pid);
    if (step) end_step(StepOutcome::Done);
    errno = err;
    return pid;
}

}  // namespace
}  // namespace simrun::preload

using namespace simrun;
using namespace simrun::preload;

#pragma GCC visibility push(default)
extern "C" {
pid_t fork() { return fork_through(real.fork); }
// glibc's fork without the atfork handlers: traced the same way.
pid_t _Fork() { return fork_through(real._Fork); }

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
    vfork_spare = vfork_step ? reserve_spawn_slot() : -1;
    errno = saved;
}
extern "C" __attribute__((visibility("hidden"), used)) void simrun_vfork_child() { vfork_child = 1; }
extern "C" __attribute__((visibility("hidden"), used)) pid_t simrun_vfork_parent(long r) {
    vfork_child = 0;
    int err = r < 0 ? static_cast<int>(-r) : 0;
    spawn_started(vfork_spare, r < 0 ? -1 : static_cast<pid_t>(r), false);
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
int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
                char* const argv[], char* const envp[]) {
    return spawn(false, pid, path, fa, attr, argv, envp);
}
int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
                 char* const argv[], char* const envp[]) {
    return spawn(true, pid, file, fa, attr, argv, envp);
}
// popen: glibc starts the shell with its own posix_spawn, which returns no
// pid to us: the new one among this thread's children (/proc) is it.
// Recorded as a fork (how: popen, the command); pclose as the wait it
// makes. In controlled mode the shell runs free (and the report says the
// run is not reproducible): the program reads and writes the stream through
// stdio, inside libc, where no wrapper can make those calls steps, so a
// scheduled shell would wait at its gate while the program's fgets waits for
// it, until the step's time ran out.
struct PopenChild {
    int fd = -1;
    pid_t pid = 0;
};
static PopenChild popen_children[16];

static int children_now(pid_t* out, int max) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%ld/children", static_cast<long>(::syscall(SYS_gettid)));
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    const ssize_t n = real.read(fd, buf, sizeof buf - 1);
    real.close(fd);
    int count = 0;
    long v = 0;
    bool in = false;
    for (ssize_t i = 0; i < (n > 0 ? n : 0) && count < max; ++i) {
        if (buf[i] >= '0' && buf[i] <= '9') v = v * 10 + (buf[i] - '0'), in = true;
        else if (in) out[count++] = static_cast<pid_t>(v), v = 0, in = false;
    }
    return count;
}

static FILE* traced_popen(const char* command, const char* type) {
    FILE* f = nullptr;
    int err = 0;
    one_step(CallId::Fork, [&] {
        const std::uint64_t ts = now();
        pid_t before[64];
        const int nb = children_now(before, 64);
        enter_call(CallId::Fork);
        f = with_inherited_fds([&] { return real.popen(command, type); });
        leave_call();
        err = errno;
        pid_t child = 0, after[64];
        for (int i = 0, na = f ? children_now(after, 64) : 0; i < na && !child; ++i)
            if (std::find(before, before + nb, after[i]) == before + nb) child = after[i];
        if (f)
            for (auto& pc : popen_children)
                if (pc.fd < 0) {
                    pc = {::fileno(f), child};
                    break;
                }
        emit(CallId::Fork, {-1, kForkPopen, child}, f ? child : -1, f ? 0 : err, ts, command, name_len(command));
        return 0;
    });
    errno = err;
    return f;
}

static int traced_pclose(FILE* f) {
    pid_t pid = 0;
    const int fd = ::fileno(f);
    for (auto& pc : popen_children)
        if (pc.fd == fd && fd >= 0) pid = pc.pid, pc = {};
    int r = -1, err = 0;
    auto close_now = [&] {
        enter_call(CallId::Wait);
        r = real.pclose(f);
        leave_call();
        err = errno;
        emit(CallId::Wait, {pid, r, kWaitPclose}, r >= 0 ? pid : -1, r < 0 ? err : 0);
        return true;
    };
    if (stepping() && pid > 0) {
        // As pclose does: our end closed first (the command may be reading
        // it to its end), then the wait, step by step; the pclose itself
        // once the command has ended.
        std::fflush(f);
        if (const int nul = ::open("/dev/null", O_RDWR | O_CLOEXEC); nul >= 0) real.dup2(nul, fd), real.close(nul);
        step_until_done(CallId::Wait, {pid, 0, kWaitPclose}, [&] {
            siginfo_t si{};
            if (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != pid) return false;
            return close_now();
        });
    } else {
        one_step(CallId::Wait, close_now);
    }
    errno = err;
    return r;
}

// Free mode: not a scheduling step; the shell claims a slot itself.
int system(const char* command) {
    if (!command) return real.system(command);
    if (stepping()) return controlled_system(command);
    std::uint64_t ts = now();
    enter_call(CallId::Fork);
    int r = with_inherited_fds([&] { return real.system(command); });
    leave_call();
    int err = errno;
    emit(CallId::Fork, {-1, kForkSystem}, r, r < 0 ? err : 0, ts, command, name_len(command));
    errno = err;
    return r;
}

FILE* popen(const char* command, const char* type) {
    if (!on || vfork_child || !command || !type) return real.popen(command, type);
    return traced_popen(command, type);
}
int pclose(FILE* f) {
    if (!on || vfork_child || !f) return real.pclose(f);
    return traced_pclose(f);
}

// A second thread: from now on writers take the lock. (A thread started
// while one of our records is half written cannot be: this thread is here.)
int pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
    threaded.store(true);
    update_plain();
    return real.pthread_create(t, attr, fn, arg);
}

int execve(const char* path, char* const argv[], char* const envp[]) {
    return traced_exec(path, [&] { return real.execve(path, argv, envp); });
}
int execv(const char* path, char* const argv[]) {
    return traced_exec(path, [&] { return real.execv(path, argv); });
}
int execvp(const char* file, char* const argv[]) {
    return traced_exec(file, [&] { return real.execvp(file, argv); });
}
int execvpe(const char* file, char* const argv[], char* const envp[]) {
    return traced_exec(file, [&] { return real.execvpe(file, argv, envp); });
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

int __libc_start_main(MainFn main, int argc, char** argv, void (*init)(), void (*fini)(), void (*rtld_fini)(), void* stack_end) {
    using Start = int (*)(MainFn, int, char**, void (*)(), void (*)(), void (*)(), void*);
    static const auto start = reinterpret_cast<Start>(dlsym(RTLD_NEXT, "__libc_start_main"));
    program_main = main;
    return start(traced_main, argc, argv, init, fini, rtld_fini, stack_end);
}

pid_t wait(int* status) { return wait4(-1, status, 0, nullptr); }
// waitpid is wait4 without the usage; both record what they reaped. In
// controlled mode a blocking wait tries WNOHANG each step until a child is
// reaped (or there is none: ECHILD).
pid_t wait4(pid_t pid, int* status, int options, struct rusage* ru) {
    int st = 0, err = 0;
    pid_t r = -1;
    auto once = [&](int opts) {
        enter_call(CallId::Wait);
        r = real.wait4(pid, &st, opts, ru);
        leave_call();
        err = errno;
        if (r == 0 && opts != options) return false;
        if (r != 0) emit(CallId::Wait, {pid, st, options}, r, r < 0 ? err : 0);
        return true;
    };
    if (options & WNOHANG) one_step(CallId::Wait, [&] { return once(options), 0; });
    else if (stepping()) step_until_done(CallId::Wait, {pid, 0, options}, [&] { return once(options | WNOHANG); });
    else if (!once(options | WNOHANG)) {  // tried without waiting first: only a wait is recorded as one
        record_wait_start(CallId::Wait, {pid, 0, options});
        once(options);
    }
    if (status && r > 0) *status = st;
    errno = err;
    return r;
}
pid_t waitpid(pid_t pid, int* status, int options) { return wait4(pid, status, options, nullptr); }
pid_t wait3(int* status, int options, struct rusage* ru) { return wait4(-1, status, options, ru); }

void exit(int code) {
    record_exit(code, kExitCall);
    real.exit(code);
    __builtin_unreachable();
}
void _exit(int code) {
    record_exit(code, kExitImmediate);
    real._exit(code);
    __builtin_unreachable();
}
void _Exit(int code) {
    record_exit(code, kExitImmediate);
    real._Exit(code);
    __builtin_unreachable();
}

}  // extern "C"
#pragma GCC visibility pop

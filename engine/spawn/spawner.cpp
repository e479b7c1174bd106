#include "spawn/spawner.hpp"

#include "spawn/containment.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace simrun {

void close_unused_pipe_ends(Runtime& rt, int proc, bool subtree, const int* pending, std::size_t n_pending) {
    const Plan& plan = *rt.plan;
    for (std::size_t p = 0; p < rt.pipe_fds.size(); ++p) {
        if (plan.pipes[p].role == PipeRole::Fifo) continue;  // opened by the process itself
        for (int end = 0; end < 2; ++end) {
            int& fd = rt.pipe_fds[p][end];
            if (fd < 0) continue;
            bool write = end == 1;
            bool keep = subtree ? plan.subtree_uses(proc, static_cast<int>(p), write)
                                : plan.uses(proc, static_cast<int>(p), write);
            for (std::size_t i = 0; i < n_pending && !keep; ++i) keep = plan.subtree_uses(pending[i], static_cast<int>(p), write);
            if (!keep) ::close(fd), fd = -1;
        }
    }
}

// In the child: the program cannot start (its folder, its exec): say why
// in the trace and in its slot, for the verdict, and exit 127.
[[noreturn]] static void exec_failed(RingWriter& ring, ProcSlot& slot, int proc, int err) {
    slot.exec_errno.store(err);
    Record& f = ring.begin(EventKind::ExecFailed, static_cast<std::uint16_t>(proc));
    f.e.pid = getpid();
    f.e.err = err;
    ring.commit();
    _exit(127);
}

// A program's stream on pipe p: its end of a pipe, or the FIFO opened as a
// shell's `< fifo` or `> fifo` opens it, waiting for the other side.
static int stream_fd(Runtime& rt, RingWriter& ring, ProcSlot& slot, int proc, int p, int end) {
    if (rt.plan->pipes[p].role != PipeRole::Fifo) return rt.pipe_fds[p][end];
    FifoCounters* count = rt.fifo_counters ? &rt.fifo_counters[p] : nullptr;
    if (end == 1 && count) count->writers_waiting.fetch_add(1);
    int fd;
    do fd = ::open(rt.fifo_paths[p].c_str(), end == 1 ? O_WRONLY : O_RDONLY);
    while (fd < 0 && errno == EINTR);
    const int err = errno;
    if (end == 1 && count) {
        count->writers_waiting.fetch_sub(1);
        if (fd >= 0) count->writers_open.fetch_add(1);
    }
    if (fd < 0) exec_failed(ring, slot, proc, err);
    return fd;
}

[[noreturn]] static void exec_program(Runtime& rt, int proc) {
    const PlanProcess& pp = rt.plan->processes[proc];
    ProcSlot& slot = rt.arena->slot(proc);
    RingWriter ring = rt.arena->writer(proc, rt.wake_fd);
    slot.state.store(ProcState::Program);
    int in = pp.stdin_pipe >= 0 ? stream_fd(rt, ring, slot, proc, pp.stdin_pipe, 0)
             : rt.stdin_fds[proc] >= 0 ? rt.stdin_fds[proc] : rt.dev_null;
    int out = stream_fd(rt, ring, slot, proc, pp.stdout_pipe, 1);
    int err_out = stream_fd(rt, ring, slot, proc, pp.stderr_pipe, 1);
    if (in >= 0 && in != 0) dup2(in, 0);
    if (out != 1) dup2(out, 1);
    if (err_out != 2) dup2(err_out, 2);
    // The tracer's mappings: the arena, and room for its library.
    constexpr std::int64_t kPreloadCode = 4 << 20;
    const std::int64_t tracer = pp.trace && !rt.preload.empty() ? static_cast<std::int64_t>(rt.arena->layout().size) + kPreloadCode : 0;
    apply_limits(pp.limits, rt.nproc_others, tracer);
    if (!rt.workdir[proc].empty() && chdir(rt.workdir[proc].c_str()) != 0) exec_failed(ring, slot, proc, errno);
    Record& r = ring.begin(EventKind::Exec, static_cast<std::uint16_t>(proc));
    r.e.pid = getpid();
    ring.commit();
    // The trace arena and the wake-up eventfd at the numbers SIMRUN_TRACE
    // names, for the preload tracer; every other descriptor goes. (Both
    // sources are far below those numbers, so dup2 never lands on itself.)
    const int tfd = trace_fd(pp.limits), wfd = wake_fd(pp.limits);
    bool traced = !rt.preload.empty() && pp.trace && rt.arena->fd() < tfd && rt.wake_fd < tfd &&
                  dup2(rt.arena->fd(), tfd) == tfd && dup2(rt.wake_fd, wfd) == wfd;
    if (traced) {
        syscall(SYS_close_range, 3u, static_cast<unsigned>(tfd - 1), 0u);
        syscall(SYS_close_range, static_cast<unsigned>(wfd + 1), ~0u, 0u);
    } else {
        syscall(SYS_close_range, 3u, ~0u, 0u);
    }
    // Controlled mode: the same seed must give the same run, addresses
    // included (what shmat and mmap return, what a program prints of a
    // pointer): no address space layout randomization, as under rr.
    if (rt.plan->mode == SchedMode::Controlled) ::personality(ADDR_NO_RANDOMIZE);
    if (rt.namespaces) contain_program(rt.plan->root);
    execve(rt.exec_path[proc].c_str(), rt.argv[proc].data(), rt.envp[proc].data());
    exec_failed(ring, slot, proc, errno);
}

pid_t spawn_process(Runtime& rt, int proc, RingWriter& forker_ring, ScriptMain script) {
    ProcSlot& slot = rt.arena->slot(proc);
    slot.state.store(ProcState::Running);
    // The spawn record is stamped before fork so it precedes the child's events.
    Record& r = forker_ring.begin(EventKind::Spawn, static_cast<std::uint16_t>(proc));
    r.e.arg = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        slot.pid.store(getpid());
        // Undo what the forker set for itself (the supervisor's blocked
        // signals and ignored SIGPIPE, a scripted parent's dispositions):
        // every process starts with default signals and none blocked.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl = {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig)
            if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
        slot.blocked.store(0);
        // A crash leaves no core file behind in the user's folder.
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        if (rt.plan->processes[proc].unprivileged) drop_capabilities();
        // Each process simrun starts leads its own process group (as a
        // shell's job would): a program's kill(0, sig) reaches its own
        // family, never the supervisor.
        if (rt.plan->processes[proc].parent == kSupervisor) setpgid(0, 0);
        close_unused_pipe_ends(rt, proc, true);
        if (rt.plan->processes[proc].is_exec()) exec_program(rt, proc);
        _exit(script(rt, proc));
    }
    r.e.pid = pid;
    if (pid < 0) {
        r.e.err = errno;
        slot.state.store(ProcState::Exited);
    } else {
        slot.pid.store(pid);
    }
    int saved = errno;
    forker_ring.commit();
    // The supervisor watches each new pid (a pidfd) to see it die: tell it
    // now, so a child that dies at once is shown as a zombie at once.
    if (pid > 0 && rt.wake_fd >= 0) {
        std::uint64_t one = 1;
        (void)!::write(rt.wake_fd, &one, sizeof one);
    }
    errno = saved;
    return pid;
}

int record_exit(const Runtime& rt, RingWriter& ring, pid_t pid, int status, const struct rusage& usage, bool by_supervisor, bool end_kill) {
    for (std::uint32_t p = 0; p < rt.arena->processes(); ++p) {
        ProcSlot& slot = rt.arena->slot(p);
        if (slot.pid.load() != pid || slot.state.load() == ProcState::Exited) continue;
        slot.wait_status.store(status);
        auto ns = [](const timeval& tv) { return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(tv.tv_usec) * 1000u; };
        slot.cpu_ns.store(ns(usage.ru_utime) + ns(usage.ru_stime));
        slot.maxrss_kb.store(usage.ru_maxrss);
        slot.nvcsw.store(usage.ru_nvcsw);
        slot.nivcsw.store(usage.ru_nivcsw);
        slot.state.store(ProcState::Exited);
        Record& r = ring.begin(EventKind::Exit, static_cast<std::uint16_t>(p));
        r.e.pid = pid;
        r.e.arg = status;
        if (by_supervisor && !end_kill && rt.plan->processes[p].parent != kSupervisor) r.flags |= kRecAdopted;
        ring.commit();
        return static_cast<int>(p);
    }
    if (by_supervisor) {
        Record& r = ring.begin(EventKind::Reaped, kRunProc, end_kill ? kRecEndKill : 0);
        r.e.pid = pid;
        r.e.arg = status;
        ring.commit();
    }
    return -1;
}

}  // namespace simrun

namespace simrun {

void record_death(const Runtime& rt, RingWriter& ring, int p, pid_t new_parent) {
    const Plan& plan = *rt.plan;
    ProcSlot& slot = rt.arena->slot(p);
    if (plan.processes[p].parent != kSupervisor && slot.state.load() != ProcState::Exited) {
        Record& r = ring.begin(EventKind::Zombie, static_cast<std::uint16_t>(p));
        r.e.pid = slot.pid.load();
        ring.commit();
    }
    for (int c : plan.processes[p].children) {
        ProcSlot& cs = rt.arena->slot(c);
        if (cs.pid.load() <= 0 || cs.state.load() == ProcState::Exited) continue;
        Record& r = ring.begin(EventKind::Orphan, static_cast<std::uint16_t>(c));
        r.e.pid = cs.pid.load();
        r.e.arg = new_parent;
        ring.commit();
    }
}

}  // namespace simrun

#include "spawn/spawner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace simrun {

void close_unused_pipe_ends(Runtime& rt, int proc, bool subtree) {
    const Plan& plan = *rt.plan;
    for (std::size_t p = 0; p < rt.pipe_fds.size(); ++p) {
        for (int end = 0; end < 2; ++end) {
            int& fd = rt.pipe_fds[p][end];
            if (fd < 0) continue;
            bool write = end == 1;
            bool keep = subtree ? plan.subtree_uses(proc, static_cast<int>(p), write)
                                : plan.uses(proc, static_cast<int>(p), write);
            if (!keep) ::close(fd), fd = -1;
        }
    }
}

[[noreturn]] static void exec_program(Runtime& rt, int proc) {
    const PlanProcess& pp = rt.plan->processes[proc];
    ProcSlot& slot = rt.arena->slot(proc);
    RingWriter ring = rt.arena->writer(proc, rt.wake_fd);
    slot.state.store(ProcState::Program);
    int in = pp.stdin_pipe >= 0 ? rt.pipe_fds[pp.stdin_pipe][0] : rt.dev_null;
    int out = rt.pipe_fds[pp.stdout_pipe][1];
    if (in >= 0 && in != 0) dup2(in, 0);
    if (out != 1) dup2(out, 1);
    Record& r = ring.begin(EventKind::Exec, static_cast<std::uint16_t>(proc));
    r.e.pid = getpid();
    ring.commit();
    syscall(SYS_close_range, 3u, ~0u, 0u);
    execve(rt.exec_path[proc].c_str(), rt.argv[proc].data(), environ);
    int err = errno;
    Record& f = ring.begin(EventKind::ExecFailed, static_cast<std::uint16_t>(proc));
    f.e.pid = getpid();
    f.e.err = err;
    ring.commit();
    _exit(127);
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
        // Undo what the supervisor set for itself: blocked signals, ignored SIGPIPE.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl = {};
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, nullptr);
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
    errno = saved;
    return pid;
}

int record_exit(const Runtime& rt, RingWriter& ring, pid_t pid, int status) {
    for (std::uint32_t p = 0; p < rt.arena->processes(); ++p) {
        ProcSlot& slot = rt.arena->slot(p);
        if (slot.pid.load() != pid || slot.state.load() == ProcState::Exited) continue;
        slot.wait_status.store(status);
        slot.state.store(ProcState::Exited);
        Record& r = ring.begin(EventKind::Exit, static_cast<std::uint16_t>(p));
        r.e.pid = pid;
        r.e.arg = status;
        ring.commit();
        return static_cast<int>(p);
    }
    return -1;
}

}  // namespace simrun

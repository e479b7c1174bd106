#include "run/reaper.hpp"

#include "spawn/spawner.hpp"

#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>

namespace simrun {

void Reaper::record(pid_t pid, int status, const struct rusage& usage, bool end_kill) {
    if (record_exit(rt_, ring_, pid, status, usage, true, end_kill) < 0 && !end_kill) ++strays_;
}

void Reaper::reap() {
    for (;;) {
        int status;
        struct rusage usage = {};
        pid_t pid = wait4(-1, &status, WNOHANG, &usage);
        if (pid > 0) {
            record(pid, status, usage, false);
            continue;
        }
        if (pid < 0 && errno == ECHILD) no_children_ = true;
        return;
    }
}

int Reaper::kill_and_reap_all(const ProcessWatch& watch, SandboxMode mode, bool cut) {
    int killed = 0;
    while (!no_children_) {
        watch.kill_all(mode);
        int status;
        struct rusage usage = {};
        pid_t pid = wait4(-1, &status, 0, &usage);
        // Killed by simrun just now, or (`cut`: simrun ended the run at a
        // deadlock or timeout) a zombie whose parent never got as far as
        // its wait: not one the program left.
        const bool by_simrun = pid > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        killed += by_simrun;
        if (pid > 0) record(pid, status, usage, cut || by_simrun);
        else if (errno == ECHILD) no_children_ = true;
    }
    return killed;
}

}  // namespace simrun

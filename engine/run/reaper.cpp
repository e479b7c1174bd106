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

// Kill, then reap every one already dead before killing again: one kill
// pass per reaped process made a fork bomb of 20 000 take minutes.
int Reaper::kill_and_reap_all(const ProcessWatch& watch, SandboxMode mode, bool cut, bool left_running) {
    int killed = 0;
    auto take = [&](pid_t pid, int status, const struct rusage& usage) {
        // Killed by simrun just now, or (`cut`: simrun ended the run at a
        // deadlock or timeout) a zombie whose parent never got as far as
        // its wait: not one the program left. But when every declared
        // process had ended (`left_running`), what simrun kills now is what
        // a program left running: one it left, as zombies_left() says.
        const bool by_simrun = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        killed += by_simrun;
        record(pid, status, usage, cut || (by_simrun && !left_running));
    };
    while (!no_children_) {
        watch.kill_all(mode);
        int status;
        struct rusage usage = {};
        pid_t pid = wait4(-1, &status, 0, &usage);
        if (pid < 0) {
            if (errno == ECHILD) no_children_ = true;
            continue;
        }
        take(pid, status, usage);
        while ((pid = wait4(-1, &status, WNOHANG, &usage)) > 0) take(pid, status, usage);
        if (pid < 0 && errno == ECHILD) no_children_ = true;
    }
    return killed;
}

}  // namespace simrun

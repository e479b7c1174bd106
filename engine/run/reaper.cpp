#include "run/reaper.hpp"

#include "spawn/spawner.hpp"

#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>

namespace simrun {

void Reaper::record(pid_t pid, int status, const struct rusage& usage) {
    if (record_exit(rt_, ring_, pid, status, usage, true) < 0) ++strays_;
}

void Reaper::reap() {
    for (;;) {
        int status;
        struct rusage usage = {};
        pid_t pid = wait4(-1, &status, WNOHANG, &usage);
        if (pid > 0) {
            record(pid, status, usage);
            continue;
        }
        if (pid < 0 && errno == ECHILD) no_children_ = true;
        return;
    }
}

void Reaper::kill_and_reap_all(const ProcessWatch& watch, SandboxMode mode) {
    while (!no_children_) {
        watch.kill_all(mode);
        int status;
        struct rusage usage = {};
        pid_t pid = wait4(-1, &status, 0, &usage);
        if (pid > 0) record(pid, status, usage);
        else if (errno == ECHILD) no_children_ = true;
    }
}

}  // namespace simrun

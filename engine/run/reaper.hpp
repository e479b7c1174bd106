// The supervisor's children: each is reaped as it ends (wait4, with its
// resources) and recorded. Undeclared ones (a program's children that
// became the supervisor's when their parent died, in the sandbox where it
// is PID 1) are strays: reaped and counted, so the report can say so.
#pragma once

#include "run/process_watch.hpp"
#include "sandbox/sandbox.hpp"
#include "spawn/runtime.hpp"
#include "trace/ring.hpp"

#include <sys/resource.h>

namespace simrun {

class Reaper {
public:
    Reaper(const Runtime& rt, RingWriter& ring) : rt_(rt), ring_(ring) {}
    // Reaps every child that has ended; never blocks.
    void reap();
    // Kills what is left and reaps it all; returns how many died of simrun's SIGKILL.
    int kill_and_reap_all(const ProcessWatch& watch, SandboxMode mode, bool cut, bool left_running = false);
    bool no_children() const { return no_children_; }
    int strays() const { return strays_; }

private:
    void record(pid_t pid, int status, const struct rusage& usage, bool end_kill);
    const Runtime& rt_;
    RingWriter& ring_;
    bool no_children_ = false;
    int strays_ = 0;
};

}  // namespace simrun

// The supervisor's ends of the run's stdio pipes: a program's stdout and
// stderr are read into Output records (within its output limit), and the
// text a scenario gives a process's stdin is written as the pipe takes it,
// then closed (EOF).
#pragma once

#include "plan/plan.hpp"
#include "run/limit_watch.hpp"
#include "trace/ring.hpp"
#include "util/unique_fd.hpp"

#include <poll.h>

#include <string>
#include <vector>

namespace simrun {

struct Pipe;

class StdioPump {
public:
    // Keeps the supervisor's ends of the plan's stdio pipes and closes the
    // other ends (they belong to the processes, already forked).
    void adopt(const Plan& plan, std::vector<Pipe>& pipes);
    // The descriptors the run loop polls for it.
    void add_poll_fds(std::vector<pollfd>& fds) const;
    // Reads what is there and writes what fits; never blocks.
    void pump(RingWriter& ring, LimitWatch& limits);

private:
    struct Source {
        int fd;
        int proc;
        bool stderr;  // the program's stderr, else its stdout
    };
    struct Sink {
        UniqueFd* fd;
        std::string text;
    };
    std::vector<Source> sources_;
    std::vector<Sink> sinks_;
};

}  // namespace simrun

// Free mode: the supervisor reaps only its own children, so it watches the
// others (and every parent) through pidfds, to record zombies and orphans
// when they die.
#pragma once

#include "plan/plan.hpp"
#include "spawn/runtime.hpp"
#include "trace/arena.hpp"
#include "trace/ring.hpp"
#include "util/unique_fd.hpp"

#include <poll.h>

#include <vector>

namespace simrun {

class DeathWatch {
public:
    DeathWatch(const Plan& plan, const Arena& arena) : plan_(plan), arena_(arena), watched_(plan.processes.size(), false) {}
    // Opens a pidfd for each process that started since the last call.
    void watch_new();
    // Appends the pidfds to poll; the first one's index is kept.
    void add_poll_fds(std::vector<pollfd>& fds);
    // After the poll: records the deaths it saw.
    void record(const std::vector<pollfd>& fds, const Runtime& rt, RingWriter& ring);

private:
    struct Death {
        int proc;
        UniqueFd pidfd;
    };
    const Plan& plan_;
    const Arena& arena_;
    std::vector<bool> watched_;
    std::vector<Death> deaths_;
    std::size_t first_fd_ = 0;
};

}  // namespace simrun

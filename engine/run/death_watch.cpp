#include "run/death_watch.hpp"

#include "spawn/spawner.hpp"

#include <sys/syscall.h>
#include <unistd.h>

namespace simrun {

void DeathWatch::watch_new() {
    for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
        if (watched_[p]) continue;
        const PlanProcess& pp = plan_.processes[p];
        pid_t pid = arena_.slot(static_cast<std::uint32_t>(p)).pid.load();
        if (pid <= 0 || (pp.parent == kSupervisor && pp.children.empty())) continue;
        watched_[p] = true;
        UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
        if (fd.valid()) deaths_.push_back({static_cast<int>(p), std::move(fd)});
    }
}

void DeathWatch::add_poll_fds(std::vector<pollfd>& fds) {
    first_fd_ = fds.size();
    for (const auto& d : deaths_) fds.push_back({d.pidfd.get(), POLLIN, 0});
}

void DeathWatch::record(const std::vector<pollfd>& fds, const Runtime& rt, RingWriter& ring) {
    std::vector<Death> alive;
    for (std::size_t i = 0; i < deaths_.size(); ++i) {
        if (first_fd_ + i < fds.size() && fds[first_fd_ + i].revents) record_death(rt, ring, deaths_[i].proc, getpid());
        else alive.push_back(std::move(deaths_[i]));
    }
    deaths_ = std::move(alive);
}

}  // namespace simrun

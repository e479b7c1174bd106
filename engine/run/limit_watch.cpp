#include "run/limit_watch.hpp"

#include "run/proc_stats.hpp"

#include <signal.h>

#include <algorithm>

namespace simrun {

LimitWatch::LimitWatch(const Plan& plan, const Arena& arena)
    : plan_(plan),
      arena_(arena),
      proc_ours_(proc_is_ours()),
      hit_(plan.processes.size(), LimitHit::None),
      started_(plan.processes.size(), 0),
      vm_peak_(plan.processes.size(), 0),
      output_(plan.processes.size(), 0) {}

void LimitWatch::kill_program(int p, LimitHit why) {
    if (hit_[p] == LimitHit::None) hit_[p] = why;
    pid_t pid = arena_.slot(p).pid.load();
    if (pid <= 0) return;
    // A program simrun started leads its own group: its children go too.
    ::kill(plan_.processes[p].parent == kSupervisor ? -pid : pid, SIGKILL);
}

void LimitWatch::tick(std::uint64_t now) {
    if (now < next_tick_) return;
    next_tick_ = now + 5'000'000;
    bool groups_needed = false;
    for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
        const PlanProcess& pp = plan_.processes[p];
        const ProcSlot& s = arena_.slot(static_cast<std::uint32_t>(p));
        pid_t pid = s.pid.load();
        if (!pp.is_exec() || pid <= 0 || s.state.load() == ProcState::Exited || hit_[p] != LimitHit::None) continue;
        if (!started_[p]) started_[p] = now;
        if (now - started_[p] > static_cast<std::uint64_t>(pp.limits.wall_ns)) {
            kill_program(static_cast<int>(p), LimitHit::Wall);
            continue;
        }
        if (proc_ours_) vm_peak_[p] = std::max(vm_peak_[p], simrun::vm_peak_kb(pid));
        groups_needed = groups_needed || pp.parent == kSupervisor;
    }
    if (!groups_needed || !proc_ours_) return;
    auto groups = processes_per_group();
    for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
        const PlanProcess& pp = plan_.processes[p];
        pid_t pid = arena_.slot(static_cast<std::uint32_t>(p)).pid.load();
        if (!pp.is_exec() || pp.parent != kSupervisor || pid <= 0 || hit_[p] != LimitHit::None) continue;
        auto it = groups.find(pid);
        if (it != groups.end() && it->second > pp.limits.processes) kill_program(static_cast<int>(p), LimitHit::Processes);
    }
}

std::size_t LimitWatch::on_output(int p, std::size_t n) {
    const std::int64_t limit = plan_.processes[p].limits.output;
    const std::int64_t before = output_[p];
    output_[p] += static_cast<std::int64_t>(n);
    if (output_[p] <= limit) return n;
    if (before <= limit) kill_program(p, LimitHit::Output);
    return static_cast<std::size_t>(std::max<std::int64_t>(0, limit - before));
}

}  // namespace simrun

#include "run/limit_watch.hpp"

#include "run/proc_stats.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

#include <algorithm>

namespace simrun {

LimitWatch::LimitWatch(const Plan& plan, const Arena& arena)
    : plan_(plan),
      arena_(arena),
      proc_ours_(proc_is_ours()),
      hit_(plan.processes.size(), LimitHit::None),
      started_(plan.processes.size(), 0),
      vm_peak_(plan.processes.size(), 0),
      output_(plan.processes.size(), 0),
      group_hit_(new std::atomic<bool>[plan.processes.size()]()) {
    bool programs = false;
    run_cap_ = plan.processes.size();
    for (const auto& pp : plan.processes) {
        programs = programs || (pp.is_exec() && pp.parent == kSupervisor);
        if (pp.is_exec()) run_cap_ += static_cast<std::size_t>(pp.limits.processes);
    }
    // The thread inherits this thread's policy (SCHED_RR when root); then
    // the supervisor itself goes back to the normal scheduler.
    if (programs && proc_ours_) thread_ = std::thread([this] { watch_groups(); });
    sched_param normal = {};
    (void)::sched_setscheduler(0, SCHED_OTHER, &normal);
}

void LimitWatch::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void LimitWatch::kill_group(int p) {
    pid_t pid = arena_.slot(static_cast<std::uint32_t>(p)).pid.load();
    if (pid > 0) ::kill(plan_.processes[p].parent == kSupervisor ? -pid : pid, SIGKILL);
}

void LimitWatch::kill_program(int p, LimitHit why) {
    if (hit_[p] == LimitHit::None) hit_[p] = why;
    kill_group(p);
}

// Over the run's cap: processes left their groups to grow beyond every
// program's limit. Each program that started is named, and all are killed.
void LimitWatch::check_run_total(const std::vector<pid_t>& live) {
    if (live.size() <= run_cap_) return;
    for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
        const PlanProcess& pp = plan_.processes[p];
        if (pp.is_exec() && pp.parent == kSupervisor && arena_.slot(static_cast<std::uint32_t>(p)).pid.load() > 0) {
            group_hit_[p] = true;
            kill_group(static_cast<int>(p));
        }
    }
    for (pid_t pid : live) ::kill(pid, SIGKILL);
}

void LimitWatch::watch_groups() {
    // Every signal is the supervisor's main thread's (its signalfd): a stop
    // request must not find this thread unblocked and kill the supervisor
    // with the default action (SIGTERM once did, leaving the programs'
    // objects behind).
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    const timespec pause = {0, 5'000'000}, quick = {0, 1'000'000};
    while (!stop_.load()) {
        const Census census = take_census(::getpid());
        for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
            const PlanProcess& pp = plan_.processes[p];
            pid_t pid = arena_.slot(static_cast<std::uint32_t>(p)).pid.load();
            if (!pp.is_exec() || pp.parent != kSupervisor || pid <= 0) continue;
            auto it = census.per_group.find(pid);
            if (it == census.per_group.end() || it->second <= pp.limits.processes) continue;
            group_hit_[p] = true;  // and again while stragglers remain
            kill_group(static_cast<int>(p));
        }
        check_run_total(census.live_below);
        if (sweep_.load())
            for (pid_t pid : census.live_below) ::kill(pid, SIGKILL);
        ::nanosleep(sweep_.load() ? &quick : &pause, nullptr);
    }
}

void LimitWatch::tick(std::uint64_t now) {
    if (now < next_tick_) return;
    next_tick_ = now + 5'000'000;
    for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
        const PlanProcess& pp = plan_.processes[p];
        const ProcSlot& s = arena_.slot(static_cast<std::uint32_t>(p));
        pid_t pid = s.pid.load();
        if (!pp.is_exec() || pid <= 0 || s.state.load() == ProcState::Exited || hit(static_cast<int>(p)) != LimitHit::None) continue;
        if (!started_[p]) started_[p] = now;
        if (now - started_[p] > static_cast<std::uint64_t>(pp.limits.wall_ns)) {
            kill_program(static_cast<int>(p), LimitHit::Wall);
            continue;
        }
        // Only once it runs the program: before its exec the process is a
        // copy of simrun (under ASan, terabytes of reserved address space).
        if (proc_ours_ && !runs_our_binary(pid)) vm_peak_[p] = std::max(vm_peak_[p], simrun::vm_peak_kb(pid));
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

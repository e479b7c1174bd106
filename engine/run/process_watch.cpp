#include "run/process_watch.hpp"

#include "run/wait_snapshot.hpp"
#include "trace/record.hpp"

#include "run/pipe_ends.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/sem.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>

namespace simrun {

// Could the semop this process is blocked in proceed with today's values?
bool ProcessWatch::could_proceed(std::uint32_t op_index) const {
    const Op& op = plan_.ops[op_index];
    for (std::uint32_t i = 0; i < op.count; ++i) {
        const SemTerm& t = plan_.sem_terms[op.first + i];
        int v = semctl(semids_[op.object], t.member, GETVAL);
        if (v < 0) return true;  // cannot tell: do not claim a deadlock
        if (t.delta < 0 && v < -t.delta) return false;
        if (t.delta == 0 && v != 0) return false;
    }
    return true;
}

// Is every process that holds the write end of the pipe `pid` reads as fd
// one of the run's (a declared process or a traced program's child)? A
// writer simrun does not know (an untraced grandchild) might still write.
bool ProcessWatch::writers_all_known(pid_t pid, int fd) const {
    const std::string target = fd_target(pid, fd);
    if (target.empty()) return false;
    std::vector<pid_t> known;
    for (std::uint32_t p = 0; p < arena_.processes(); ++p)
        if (arena_.slot(p).state.load() != ProcState::Exited) known.push_back(arena_.slot(p).pid.load());
    const std::size_t writers = ends_held(known, target, true).size();
    // Everyone on this machine (in the sandbox: only the run's) who holds it open for writing.
    std::vector<pid_t> everyone;
    if (DIR* d = ::opendir("/proc")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9') everyone.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
        ::closedir(d);
    }
    return writers > 0 && ends_held(everyone, target, true).size() == writers;
}

ProcessWatch::Stall ProcessWatch::stalled(std::uint64_t now, std::uint64_t progress) {
    bool any_blocked = false, all_may_block = true, any_spinning = false;
    // Programs in a read of an empty pipe: judged last, once everyone else waits (it reads all of /proc).
    std::vector<std::pair<pid_t, int>> pipe_readers;
    for (std::uint32_t p = 0; p < arena_.processes(); ++p) {
        const ProcSlot& s = arena_.slot(p);
        switch (s.state.load()) {
            case ProcState::Spinning:  // a scripted busy wait: only another process could end it
                any_blocked = any_spinning = true;
                all_may_block = false;
                break;
            case ProcState::Exited:
            case ProcState::WaitingChildren: break;
            case ProcState::BlockedPipe:
            case ProcState::BlockedQueue:
            case ProcState::BlockedPsem:
            case ProcState::BlockedSignal:
                any_blocked = true;
                all_may_block = all_may_block && plan_.processes[p].may_end_blocked;
                break;
            case ProcState::BlockedSem:
                any_blocked = true;
                all_may_block = all_may_block && plan_.processes[p].may_end_blocked;
                if (could_proceed(s.op.load())) return stall_since_ = 0, Stall::None;
                break;
            case ProcState::Program: {
                // An exec'd program counts as blocked only when /proc shows it
                // in a semop that cannot proceed, or in a read of an empty pipe;
                // waiting for children is neutral.
                int fd = -1;
                switch (program_wait(s.pid.load(), &fd)) {
                    case ProgramWait::Children: break;
                    case ProgramWait::PipeRead:
                        pipe_readers.emplace_back(s.pid.load(), fd);
                        [[fallthrough]];
                    case ProgramWait::Semop:
                        any_blocked = true;
                        all_may_block = all_may_block && plan_.processes[p].may_end_blocked;
                        break;
                    case ProgramWait::Unknown: return stall_since_ = 0, Stall::None;
                }
                break;
            }
            default: return stall_since_ = 0, Stall::None;  // someone can still run
        }
    }
    // Waiting for a writer only the run's processes can be: the pipe's write
    // ends are all held by them (and each of them was judged above).
    for (auto [pid, fd] : pipe_readers)
        if (!writers_all_known(pid, fd)) return stall_since_ = 0, Stall::None;
    if (!any_blocked || progress != last_progress_) {
        last_progress_ = progress;
        stall_since_ = 0;
        return Stall::None;
    }
    if (stall_since_ == 0) stall_since_ = now;
    if (now - stall_since_ < static_cast<std::uint64_t>(deadlock_after_ns_)) return Stall::None;
    if (any_spinning) return Stall::Livelock;
    return all_may_block ? Stall::AllowedBlocked : Stall::Deadlock;
}

std::string ProcessWatch::where(std::uint32_t p) const {
    const ProcSlot& s = arena_.slot(p);
    const PlanProcess& pp = plan_.processes[p];
    std::uint32_t op = s.op.load();
    std::string text = pp.op_count ? fmt::format("'{}'", plan_.op_text[op]) : "";
    std::string iter = pp.repeat > 1 ? fmt::format(", iteration {}", s.iter.load() + 1) : "";
    switch (s.state.load()) {
        case ProcState::BlockedSem: {
            const Op& o = plan_.ops[op];
            std::string values;
            for (std::uint32_t i = 0; i < o.count; ++i) {
                const SemTerm& t = plan_.sem_terms[o.first + i];
                values += fmt::format("{}{}.{} = {}", i ? ", " : "", plan_.sems[o.object].name,
                                      plan_.sems[o.object].members[t.member], semctl(semids_[o.object], t.member, GETVAL));
            }
            return fmt::format("waits in {} ({}){}", text, values, iter);
        }
        case ProcState::BlockedPipe:
        case ProcState::BlockedQueue:
        case ProcState::BlockedPsem:
        case ProcState::BlockedSignal: return fmt::format("waits in {}{}", text, iter);
        case ProcState::Sleeping: return fmt::format("sleeps in {}{}", text, iter);
        case ProcState::Spinning:
            if (std::uint32_t head = s.loop_head.load())
                return fmt::format("loops in '{}': each time round it changes nothing, and nothing else runs that could change what it reads{}",
                                   plan_.op_text[head - 1], iter);
            return fmt::format("spins in {} (it holds, and nothing else runs that could change it){}", text, iter);
        case ProcState::WaitingChildren: return "waits for its children";
        case ProcState::Program: {
            // Controlled: waiting at simrun's own gate is not the program's doing.
            if (s.gate.load() == kAtGate)
                return fmt::format("runs {}: at its next step (after its {})", pp.argv[0], call_name(static_cast<CallId>(s.call.load())));
            std::string why = explain_process(s.pid.load(), names_);
            int fd = -1;
            if (static_cast<CallId>(s.call.load()) != CallId::Read && program_wait(s.pid.load(), &fd) == ProgramWait::PipeRead)
                why += "; a read libc makes for stdio (scanf, fgets): what it printed into a pipe may still sit in its stdio buffer, "
                       "unless it called fflush(stdout)";
            return fmt::format("runs {}{}", pp.argv[0], why.empty() ? "" : ": " + why);
        }
        case ProcState::Unborn: return "not yet forked";
        default: return fmt::format("runs {}{}", text, iter);
    }
}

std::vector<std::string> ProcessWatch::describe_live() const {
    std::vector<std::string> lines;
    for (std::uint32_t p = 0; p < arena_.processes(); ++p) {
        ProcState st = arena_.slot(p).state.load();
        if (st == ProcState::Exited || st == ProcState::Unborn) continue;
        lines.push_back(fmt::format("  {} {}", plan_.processes[p].name, where(p)));
    }
    return lines;
}

WaitForGraph ProcessWatch::wait_for_graph(std::vector<int> last_taker) const {
    auto alive = [&](int p) {
        const ProcSlot& s = arena_.slot(static_cast<std::uint32_t>(p));
        const ProcState st = s.state.load();
        return s.pid.load() > 0 && st != ProcState::Exited && st != ProcState::Unborn;
    };
    auto waits = [&](int p) {
        switch (arena_.slot(static_cast<std::uint32_t>(p)).state.load()) {
            case ProcState::BlockedSem:
            case ProcState::BlockedPipe:
            case ProcState::BlockedQueue:
            case ProcState::BlockedPsem:
            case ProcState::BlockedSignal:
            case ProcState::WaitingChildren:
            case ProcState::Program: return true;
            default: return false;
        }
    };
    WaitSnapshot snap = take_wait_snapshot(plan_, arena_, declared_procs(plan_), semids_, psems_, alive, waits, std::move(last_taker));
    // A program stuck in a read of a pipe, traced or inside libc (scanf):
    // the other end's holders are what it waits for.
    std::vector<pid_t> pids;
    for (std::size_t q = 0; q < snap.procs.size(); ++q) pids.push_back(alive(static_cast<int>(q)) ? arena_.slot(static_cast<std::uint32_t>(q)).pid.load() : 0);
    for (std::size_t q = 0; q < snap.procs.size(); ++q) {
        auto& pr = snap.procs[q];
        if (!pr.waits || pr.state != ProcState::Program || pids[q] <= 0) continue;
        int fd = -1;
        if (program_wait(pids[q], &fd) != ProgramWait::PipeRead) continue;
        pr.untraced_read = static_cast<CallId>(pr.call) != CallId::Read;
        pr.call = static_cast<std::uint32_t>(CallId::Read), pr.sem_id = fd;
        pr.pipe = fd_target(pids[q], fd);
        pr.pipe_ends = ends_held(pids, pr.pipe, true);
    }
    return build_wait_for(plan_, snap);
}

void ProcessWatch::kill_all(SandboxMode mode) const {
    if (mode == SandboxMode::Namespaces) {
        ::kill(-1, SIGKILL);  // PID 1 of the namespace: everyone but us
        return;
    }
    for (std::uint32_t p = 0; p < arena_.processes(); ++p) {
        const ProcSlot& s = arena_.slot(p);
        if (s.pid.load() > 0 && s.state.load() != ProcState::Exited) ::kill(s.pid.load(), SIGKILL);
    }
    // Orphans we adopted as subreaper but never knew by name.
    std::ifstream children(fmt::format("/proc/self/task/{}/children", getpid()));
    for (pid_t pid; children >> pid;) ::kill(pid, SIGKILL);
}

}  // namespace simrun

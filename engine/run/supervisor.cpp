#include "run/supervisor.hpp"

#include "agent/agent.hpp"
#include "run/controller.hpp"
#include "run/crash_registry.hpp"
#include "run/death_watch.hpp"
#include "run/drain_pace.hpp"
#include "run/last_takers.hpp"
#include "run/program_objects.hpp"
#include "run/wait_snapshot.hpp"
#include "run/leftovers.hpp"
#include "run/limit_watch.hpp"
#include "run/proc_stats.hpp"
#include "run/process_watch.hpp"
#include "run/progress_line.hpp"
#include "run/reaper.hpp"
#include "run/run_end.hpp"
#include "run/run_objects.hpp"
#include "run/stdio_pump.hpp"
#include "run/timed_faults.hpp"
#include "run/verdict.hpp"
#include "spawn/scratch_dir.hpp"
#include "spawn/spawner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <optional>

namespace simrun {
namespace {

constexpr std::uint32_t kSparesPerProgram = 32, kMaxSpares = 64;  // trace slots for programs' own children
constexpr std::uint64_t kDeadlockCheckNs = 50'000'000;

class Supervisor {
public:
    Supervisor(const Plan& plan, const RunOptions& opt, SandboxMode mode) : plan_(plan), opt_(opt), mode_(mode) {}

    RunOutput run(const std::function<void()>& ready) {
        if (auto st = setup(); !st) {
            out_.error = st.error().message;
            return std::move(out_);
        }
        ready();
        spawn_all();
        if (plan_.mode == SchedMode::Controlled) controlled_loop();
        if (plan_.mode == SchedMode::Free || run_.outcome == Outcome::Completed) free_loop();
        finish_processes();
        read_final_state();
        objects_.reset();  // remove every IPC object (and what was made under declared keys) before reporting
        report_left_objects();
        if (int strays = reaper_->strays())
            run_.diagnosis.push_back(fmt::format("simrun reaped {} process{} the programs started and never waited for (zombies or orphans they left)",
                                                 strays, strays == 1 ? "" : "es"));
        out_.run = std::move(run_);
        out_.semids = rt_.semids;
        out_.arena = std::move(arena_);
        out_.records = std::move(collector_);
        return std::move(out_);
    }

private:
    // What the processes left: in namespaces it vanishes with the run;
    // without, simrun removes what the run's own processes made (a program
    // killed at a deadlock cannot) and only reports the rest, which another
    // program of this user may have made meanwhile.
    void report_left_objects() {
        std::set<std::string> ours;
        if (mode_ == SandboxMode::None) ours = program_objects(plan_, *collector_, run_.sysv_names, rt_.semids);
        if (mode_ == SandboxMode::None) remove_program_fifos(ours);
        for (const auto& o : ipc_left_since(ipc_before_, ours)) {
            run_.ipc_left.push_back(o.what);
            std::string note = "left behind by the processes: " + o.what;
            if (o.removed) note += " (simrun removed it)";
            else if (mode_ == SandboxMode::None) note += " (not made by this run's processes as far as simrun saw, so not removed: ipcrm / rm it)";
            run_.diagnosis.push_back(std::move(note));
        }
    }

    // Without a sandbox a FIFO a program made on the host (a course
    // program's /tmp/2) would outlive the run: removed if it is still a
    // FIFO made since the run began (mkfifo fails on an existing path).
    void remove_program_fifos(const std::set<std::string>& ours) {
        for (const auto& o : ours) {
            if (o.rfind("fifo ", 0) != 0) continue;
            const std::string path = o.substr(5);
            struct stat st;
            if (::lstat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_ctime < started_wall_) continue;
            const bool removed = ::unlink(path.c_str()) == 0;
            run_.diagnosis.push_back(fmt::format("left behind by the processes: FIFO {}{}", path, removed ? " (simrun removed it)" : ""));
        }
    }

    // ---- set-up ----------------------------------------------------------
    Status setup() {
        started_wall_ = ::time(nullptr);
        if (auto st = setup_trace(); !st) return st;
        if (mode_ == SandboxMode::None) registry_.open(run_.diagnosis);
        ipc_before_ = take_ipc_snapshot();
        auto objects = RunObjects::create(plan_, rt_);
        if (!objects) return objects.error();
        objects_ = std::move(objects.value());
        if (auto st = setup_runtime(); !st) return st;
        setup_watches();
        sigset_t mask;
        sigemptyset(&mask);
        for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, s);
        sigprocmask(SIG_BLOCK, &mask, nullptr);
        sigfd_ = UniqueFd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!sigfd_.valid()) return sys_error("signalfd()");
        // The supervisor writes stdin pipes; a reader that quits must not kill it.
        signal(SIGPIPE, SIG_IGN);
        return ok_status();
    }

    // The arena of rings and slots, the wake-up eventfd, the spill file.
    // Records per ring: the option's, smaller with many processes, so that
    // the arena (two rings a process, 64 bytes a record; pages are taken only
    // as records are written) stays within 4 GiB: 10 000 processes get 8 192.
    std::uint32_t ring_capacity(std::uint32_t spares) const {
        const std::uint64_t rings = 2 * (plan_.processes.size() + spares) + 1;
        std::uint32_t capacity = opt_.ring_capacity;
        while (capacity > 1024 && rings * capacity * sizeof(Record) > (std::uint64_t{4} << 30)) capacity /= 2;
        return capacity;
    }

    Status setup_trace() {
        // Spare slots for the children traced programs start: 32 per
        // program, 64 at most (each is two rings, 2 MiB of the arena that
        // every traced program maps, outside its memory limit).
        std::uint32_t traced_programs = 0;
        for (const auto& pp : plan_.processes) traced_programs += pp.is_exec() && pp.trace;
        const std::uint32_t spares = std::min<std::uint32_t>(kMaxSpares, kSparesPerProgram * traced_programs);
        auto arena = Arena::create(static_cast<std::uint32_t>(plan_.processes.size()), ring_capacity(spares), spares);
        if (!arena) return arena.error();
        arena_ = std::make_unique<Arena>(std::move(arena.value()));
        wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!wake_.valid()) return sys_error("eventfd()");
        auto collector = Collector::create(*arena_, scenario_out_dir(plan_, opt_));  // made by the session before the sandbox
        if (!collector) return collector.error();
        collector_ = std::make_unique<Collector>(std::move(collector.value()));
        return ok_status();
    }

    // What every process sees of the run (spawn/runtime.hpp).
    Status setup_runtime() {
        dev_null_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));

        rt_.plan = &plan_;
        rt_.faults = FaultInjector(plan_.faults);  // copied into every child by fork
        rt_.arena = arena_.get();
        rt_.wake_fd = wake_.get();
        rt_.dev_null = dev_null_.get();
        rt_.namespaces = mode_ == SandboxMode::Namespaces;
        // In the sandbox the count is the run's own; without it, every
        // process of the user on the machine counts. Root is exempt anyway.
        const std::int64_t run_size = static_cast<std::int64_t>(plan_.processes.size()) + 8;
        if (rt_.namespaces) rt_.nproc_others = run_size;
        else if (geteuid() != 0) rt_.nproc_others = run_size + processes_of_user(geteuid());
        bool need_scratch = false;
        for (const auto& pp : plan_.processes) need_scratch = need_scratch || (pp.is_exec() && pp.workdir.empty());
        if (need_scratch) {
            auto scratch = ScratchDir::create(rt_.namespaces);
            if (!scratch) return scratch.error();
            scratch_ = std::move(scratch.value());
        }
        rt_.preload = find_preload();
        if (rt_.preload.empty()) {
            bool traced = false;
            for (const auto& pp : plan_.processes) traced = traced || (pp.is_exec() && pp.trace);
            if (traced)
                run_.diagnosis.push_back("simrun's tracer (libsimrun_preload.so) is not beside simrun nor in ../lib/simrun/: "
                                         "the programs ran untraced, their calls are not in the trace");
        }
        // In the sandbox /tmp is the run's own (sandbox.hpp): temporary files
        // go with the run, whatever TMPDIR simrun was given on the host.
        prepare_exec(rt_, scratch_.path(), rt_.namespaces ? "/tmp" : "");
        if (registry_.active()) {
            auto lines = objects_->inventory();
            if (!scratch_.path().empty()) lines.push_back("dir " + scratch_.path());
            registry_.add(lines);
        }
        return ok_status();
    }

    void setup_watches() {
        IdNames names;
        for (std::size_t i = 0; i < plan_.sems.size(); ++i) {
            names.semids.emplace_back(rt_.semids[i], plan_.sems[i].name);
            names.members.push_back(plan_.sems[i].members);
        }
        for (std::size_t i = 0; i < plan_.queues.size(); ++i)
            if (rt_.queues[i].msqid >= 0) names.msqids.emplace_back(rt_.queues[i].msqid, plan_.queues[i].name);
        run_.sysv_names.sets = names.semids;
        run_.sysv_names.queues = names.msqids;
        watch_.emplace(plan_, *arena_, rt_.semids, rt_.psems, std::move(names), opt_.deadlock_after_ns);
        limits_.emplace(plan_, *arena_);
    }

    // ---- running ---------------------------------------------------------
    void spawn_all() {
        ring_ = arena_->writer(arena_->supervisor_ring(), wake_.get());
        // Thousands of strays to reap, a flood of output: never wait for ourselves.
        ring_.set_self_drain([](void* self) { static_cast<Supervisor*>(self)->drain(); }, this);
        reaper_.emplace(rt_, ring_);
        run_.t0 = monotonic_ns();
        ring_.begin(EventKind::RunStart, kRunProc);
        ring_.commit();
        for (std::size_t p = 0; p < plan_.processes.size(); ++p)
            if (plan_.processes[p].parent == kSupervisor) spawn_process(rt_, static_cast<int>(p), ring_, run_script);
        stdio_.adopt(plan_, objects_->pipes());
    }

    // PCT places its change points among the steps it expects the run to take.
    std::uint64_t expected_steps() const {
        std::uint64_t steps = 0;
        for (const auto& p : plan_.processes) {
            std::uint64_t per_round = p.op_count;
            for (std::uint32_t i = p.first_op; i < p.first_op + p.op_count; ++i)
                per_round += plan_.ops[i].kind == OpKind::ShmAdd && !(plan_.ops[i].flags & kOpAtomic);
            steps += per_round * static_cast<std::uint64_t>(p.repeat) + p.children.size() + 2;
        }
        return steps;
    }

    // Controlled mode: the scheduled processes run step by step; then any
    // exec'd programs are waited for as in free mode.
    void controlled_loop() {
        Controller controller(plan_, rt_, ring_, mode_,
                              {[this] { idle(); }, [this] { return stop_requested() != 0; }, [this] { return trace_full(); }});
        StrategyConfig config = opt_.strategy;
        config.processes = static_cast<int>(plan_.processes.size());
        config.expected_steps = expected_steps();
        if (opt_.strict) config.kind = StrategyKind::Replay, config.replay = *opt_.strict;
        auto strategy = make_strategy(config);
        ControlResult result =
            controller.run(*strategy, run_.t0 + static_cast<std::uint64_t>(plan_.timeout_ns), opt_.strict, opt_.record_choices);
        out_.schedule = std::move(result.schedule);
        out_.handoffs = result.handoffs;
        out_.choices = std::move(result.choices);
        out_.divergence = result.divergence;
        out_.children = controller.children();
        for (const auto& note : controller.notes()) run_.diagnosis.push_back(note);
        for (auto& line : result.diagnosis) run_.diagnosis.push_back(std::move(line));
        run_.wait_for_dot = std::move(result.wait_for_dot);
        if (!result.divergence.empty()) run_.diagnosis.push_back("the schedule does not fit: " + result.divergence);
        run_.outcome = result.outcome;
        if (result.outcome == Outcome::Timeout || result.outcome == Outcome::TraceLimit) {
            describe_live(result.outcome == Outcome::Timeout ? "still alive at the timeout" : "still alive when the trace reached its limit");
            for (auto& line : controller.describe_children()) run_.diagnosis.push_back(std::move(line));
        }
        if (result.outcome == Outcome::Completed && stop_signal_) end({Outcome::Interrupted, {}, {}});
    }

    // Moves the rings' records to the spill file. A failure (the disk is
    // full) loses the records still in the rings: it is said once in the
    // report, and the trace is marked as cut short.
    void drain() {
        auto moved = collector_->drain();
        if (moved || !run_.trace_cut.empty()) return;
        run_.trace_cut = "records could not be saved: " + moved.error().message;
    }

    void idle() {
        arena_->tick();
        stdio_.pump(ring_, *limits_);
        drain();
    }

    // The trace holds [scenario] trace_limit records (as of the last drain).
    bool trace_full() const { return collector_->total() >= static_cast<std::uint64_t>(plan_.trace_limit); }

    // The first stop request (SIGINT, SIGTERM, SIGHUP) since the run began, or 0.
    int stop_requested() {
        signalfd_siginfo si;
        while (::read(sigfd_.get(), &si, sizeof si) == sizeof si)
            if (si.ssi_signo != SIGCHLD && !stop_signal_) stop_signal_ = static_cast<int>(si.ssi_signo);
        return stop_signal_;
    }

    void end(const RunEnd& e) {
        run_.outcome = e.outcome;
        strays_left_ = e.strays_left;
        if (!e.note.empty()) run_.diagnosis.push_back(e.note);
        if (!e.live.empty()) describe_live(e.live);
        if (e.outcome == Outcome::Deadlock) explain_deadlock();
    }

    // Free mode, after the list of who waits where: the wait-for graph's
    // cycle and the semaphores held by the dead, as the controller gives them.
    void explain_deadlock() {
        drain();
        const WaitForGraph g = watch_->wait_for_graph(last_takers(plan_, *collector_, run_.sysv_names, rt_.semids));
        for (auto& line : wait_for_lines(plan_, g, false)) run_.diagnosis.push_back(std::move(line));
        run_.wait_for_dot = wait_for_dot(g, "deadlock in " + plan_.name);
    }

    // Until every process has ended, the timeout, a stop request or a stall.
    void free_loop() {
        const std::uint64_t deadline = run_.t0 + static_cast<std::uint64_t>(plan_.timeout_ns);
        std::uint64_t next_deadlock_check = 0;
        DrainPace pace(arena_->capacity());
        std::uint64_t sleep_ns = DrainPace::kQuiet;
        ProgressLine progress(!opt_.quiet, run_.t0);
        DeathWatch deaths(plan_, *arena_);
        TimedFaults timed(plan_, *arena_);
        reaper_->reap();  // the controller may have ended every process already
        for (;;) {
            if (reaper_->no_children()) {
                run_.outcome = Outcome::Completed;
                break;
            }
            deaths.watch_new();
            registry_.add_new_pids(*arena_);
            std::vector<pollfd> fds{{sigfd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
            stdio_.add_poll_fds(fds);
            deaths.add_poll_fds(fds);
            const timespec turn{0, static_cast<long>(sleep_ns)};
            ::ppoll(fds.data(), fds.size(), &turn, nullptr);
            deaths.record(fds, rt_, ring_);
            LoopFacts facts;
            facts.stop_signal = stop_requested();
            reaper_->reap();
            if (!facts.stop_signal) {
                std::uint64_t one;
                while (::read(wake_.get(), &one, sizeof one) > 0) {
                }
                idle();  // a process writing alone stamps afresh after the tick (trace_clock.hpp)
            }
            const std::uint64_t now = monotonic_ns();
            if (!facts.stop_signal) sleep_ns = pace.after_drain(now, collector_->fullest());
            facts.no_children = reaper_->no_children();
            facts.only_strays = only_strays_left();
            facts.past_deadline = now >= deadline;
            facts.trace_full = trace_full();
            if (!facts.stop_signal && !facts.no_children && !facts.only_strays && !facts.past_deadline && !facts.trace_full) {
                progress.show(now, alive(), plan_.processes.size(), collector_->written_in_rings());
                limits_->tick(now);
                timed.fire_due(static_cast<std::int64_t>(now - run_.t0), ring_, run_.diagnosis);
                if (now >= next_deadlock_check && plan_.mode == SchedMode::Free) {
                    next_deadlock_check = now + kDeadlockCheckNs;
                    auto stall = watch_->stalled(now, collector_->written_in_rings());
                    facts.deadlock = stall == ProcessWatch::Stall::Deadlock;
                    facts.allowed_blocked = stall == ProcessWatch::Stall::AllowedBlocked;
                    facts.livelock = stall == ProcessWatch::Stall::Livelock;
                }
            }
            if (auto e = decide_end(facts)) {
                end(*e);
                break;
            }
        }
        progress.erase();
    }

    int alive() const {
        int n = 0;
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) n += arena_->slot(p).state.load() != ProcState::Exited;
        return n;
    }

    // Every declared process has ended (or can no longer be forked), yet
    // the supervisor still has children: processes a program left running.
    bool only_strays_left() const {
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) {
            const ProcSlot& s = arena_->slot(p);
            if (s.pid.load() > 0 && s.state.load() != ProcState::Exited) return false;
        }
        return true;
    }

    void describe_live(const std::string& title) {
        run_.diagnosis.push_back(title + ":");
        for (auto& line : watch_->describe_live()) run_.diagnosis.push_back(std::move(line));
    }

    // ---- ending ------------------------------------------------------------
    // What is left is killed while the limits still hold: the limit thread
    // (real-time when simrun is root) kills and counts, the supervisor reaps.
    void finish_processes() {
        run_.procs.resize(plan_.processes.size());
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) {
            const ProcSlot& s = arena_->slot(p);
            ProcessEnd& end = run_.procs[p];
            end.pid = s.pid.load(), end.state = s.state.load(), end.op = s.op.load(), end.iter = s.iter.load();
        }
        const bool cut = run_.outcome == Outcome::Deadlock || run_.outcome == Outcome::Livelock || run_.outcome == Outcome::Timeout || run_.outcome == Outcome::TraceLimit;
        limits_->sweep();
        const int killed = reaper_->kill_and_reap_all(*watch_, mode_, cut, strays_left_);
        limits_->stop();
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) {
            ProcessEnd& end = run_.procs[p];
            end.hit = limits_->hit(static_cast<int>(p));
            if (end.hit == LimitHit::None && end.pid > 0 && end.state != ProcState::Exited) end.hit = LimitHit::RunEnd;
        }
        if (strays_left_)
            if (auto note = strays_killed_note(killed); !note.empty()) run_.diagnosis.push_back(std::move(note));
        stdio_.pump(ring_, *limits_);
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) {
            const ProcSlot& s = arena_->slot(p);
            ProcessEnd& end = run_.procs[p];
            end.exited = s.state.load() == ProcState::Exited && s.pid.load() > 0;
            end.wait_status = WaitStatus(s.wait_status.load());
            end.cpu_ns = s.cpu_ns.load();
            end.maxrss_kb = s.maxrss_kb.load();
            if (end.exited) end.nvcsw = s.nvcsw.load(), end.nivcsw = s.nivcsw.load();
            end.exec_errno = s.exec_errno.load();
            end.vm_peak_kb = limits_->vm_peak_kb(static_cast<int>(p));
            judge(plan_.processes[p], run_.outcome, end);
            note_untraced(p, s, end);
        }
        // Children that found every spare slot held ran untraced.
        if (const std::uint32_t missed = arena_->spares_missed(); missed > 0)
            run_.diagnosis.push_back(fmt::format("{} {} started by traced programs ran untraced: all of the run's {} spare trace slots were held by live processes",
                                                 missed, missed == 1 ? "process" : "processes", arena_->spares()));
        if (plan_.mode == SchedMode::Controlled) note_unscheduled();
    }

    // Controlled mode: say plainly when some process ran beside the
    // schedule, so the same seed may not give the same run.
    void note_unscheduled() {
        std::string names;
        for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
            const PlanProcess& pp = plan_.processes[p];
            const ProcSlot& s = arena_->slot(static_cast<std::uint32_t>(p));
            const bool ran = s.pid.load() > 0 && !s.exec_errno.load();
            const bool free = pp.is_exec() && (p >= rt_.stepped.size() || !rt_.stepped[p] || !s.traced.load() || s.traced.load() == 2);
            if (ran && free) names += (names.empty() ? "" : ", ") + pp.name;
        }
        if (const std::uint32_t missed = arena_->spares_missed(); missed > 0)
            names += fmt::format("{}{} child{} of programs (no spare trace slot)", names.empty() ? "" : ", ", missed, missed == 1 ? "" : "ren");
        if (const std::uint32_t spawned = arena_->unscheduled(); spawned > 0)
            names += fmt::format("{}{} program{} started with vfork, posix_spawn, system or popen that simrun did not put at a gate "
                                 "(popen's shell, whose stream goes through stdio; a static binary; an environment without LD_PRELOAD "
                                 "and SIMRUN_TRACE; no spare trace slot)",
                                 names.empty() ? "" : ", ", spawned, spawned == 1 ? "" : "s");
        if (!names.empty())
            run_.diagnosis.push_back("this controlled run is not reproducible: " + names +
                                     " ran free beside the scheduled processes");
    }

    void note_untraced(std::uint32_t p, const ProcSlot& s, const ProcessEnd& end) {
        const PlanProcess& pp = plan_.processes[p];
        if (pp.is_exec() && pp.trace && !rt_.preload.empty() && end.pid > 0 && !end.exec_errno && !s.traced.load())
            run_.diagnosis.push_back(fmt::format("{}: no call detail (a static binary, or a program that bypasses libc): lifecycle events only",
                                                 pp.name));
        if (pp.is_exec() && s.traced.load() == 2)
            run_.diagnosis.push_back(fmt::format("{}: no call detail after its last exec (the image it exec'd was a static binary, "
                                                 "or the tracer's descriptor was taken over before the exec): lifecycle events only",
                                                 pp.name));
    }

    void read_final_state() {
        objects_->read_final(plan_, run_);
        for (std::size_t i = 0; i < plan_.shms.size(); ++i) run_.cells.insert(run_.cells.end(), rt_.shm[i], rt_.shm[i] + plan_.shms[i].slots);
        run_.t_end = monotonic_ns();
        ring_.begin(EventKind::RunEnd, kRunProc);
        ring_.commit();
        drain();
        run_.sandboxed = mode_ == SandboxMode::Namespaces;
        if (plan_.mode == SchedMode::Controlled) {
            const StrategyConfig& c = opt_.strategy;
            run_.schedule_info = opt_.strict ? "\"strategy\":\"replay\""
                                             : fmt::format("\"strategy\":\"{}\",\"seed\":{}{}", strategy_name(c.kind), c.seed,
                                                           c.kind == StrategyKind::Pct ? fmt::format(",\"depth\":{}", c.depth) : "");
            run_.schedule_info += fmt::format(",\"steps\":{},\"handoffs\":{}", out_.schedule.size(), out_.handoffs);
        }
    }

    const Plan& plan_;
    const RunOptions& opt_;
    SandboxMode mode_;
    RunOutput out_;
    RunResult run_;
    std::unique_ptr<Arena> arena_;
    std::unique_ptr<Collector> collector_;
    std::unique_ptr<RunObjects> objects_;
    CrashRegistry registry_;  // without namespaces: what `simrun clean` removes after a crash
    ScratchDir scratch_;      // where exec'd programs run; removed after them
    IpcSnapshot ipc_before_;
    UniqueFd wake_, sigfd_, dev_null_;
    Runtime rt_;
    RingWriter ring_;
    std::optional<ProcessWatch> watch_;
    std::optional<LimitWatch> limits_;
    std::optional<Reaper> reaper_;
    StdioPump stdio_;
    int stop_signal_ = 0;
    std::time_t started_wall_ = 0;  // for what programs made on the host
    bool strays_left_ = false;  // the run ended with only processes a program started left (run_end.hpp)
};

}  // namespace

RunOutput supervise(const Plan& plan, const RunOptions& options, SandboxMode mode, const std::function<void()>& ready) {
    return Supervisor(plan, options, mode).run(ready);
}

}  // namespace simrun

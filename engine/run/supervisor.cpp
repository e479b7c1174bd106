#include "run/supervisor.hpp"

#include "agent/agent.hpp"
#include "check/checker.hpp"
#include "report/timeline.hpp"
#include "run/controller.hpp"
#include "run/drain_pace.hpp"
#include "run/leftovers.hpp"
#include "run/process_watch.hpp"
#include "run/run_objects.hpp"
#include "run/limit_watch.hpp"
#include "run/proc_stats.hpp"
#include "run/registry.hpp"
#include "run/verdict.hpp"
#include "spawn/scratch_dir.hpp"
#include "run/run_result.hpp"
#include "sandbox/sandbox.hpp"
#include "spawn/spawner.hpp"
#include "trace/collector.hpp"
#include "report/jsonl_writer.hpp"
#include "trace/decoder.hpp"
#include "sched/schedule_file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

namespace simrun {
namespace {

constexpr std::uint32_t kSparesPerProgram = 32, kMaxSpares = 64;  // trace slots for programs' own children

class Supervisor {
public:
    Supervisor(const Plan& plan, const RunOptions& opt, SandboxMode mode) : plan_(plan), opt_(opt), mode_(mode) {}

    RunReport run() {
        if (auto st = setup(); !st) {
            fmt::print(stderr, "simrun: error: {}\n", st.error().message);
            report_.exit_code = ExitCode::Internal;
            return report_;
        }
        timeline_.emplace(plan_, TerminalStyle{opt_.color, opt_.terminal ? opt_.max_events : 0, opt_.quiet || !opt_.terminal},
                          opt_.terminal ? stdout : nullptr);
        if (opt_.terminal) {
            timeline_->header(mode_ == SandboxMode::Namespaces, mode_line());
            std::fflush(stdout);
        }
        loop();
        finish_processes();
        read_final_state();
        objects_.reset();  // remove every IPC object (and what was made under declared keys) before reporting
        // In namespaces they vanish with the run. Without, they are only
        // reported: another program of this user may have made them meanwhile.
        run_.ipc_left = ipc_left_since(ipc_before_, false);
        if (strays_)
            run_.diagnosis.push_back(fmt::format("simrun reaped {} process{} the programs started and never waited for (zombies or orphans they left)",
                                                 strays_, strays_ == 1 ? "" : "es"));
        for (const auto& o : run_.ipc_left)
            run_.diagnosis.push_back("left behind by the processes: " + o +
                                     (mode_ == SandboxMode::None ? " (not removed without a sandbox: ipcrm / rm it)" : ""));
        report_.exit_code = report();
        report_.outcome = run_.outcome;
        return report_;
    }

private:
    // ---- set-up ----------------------------------------------------------
    Status setup() {
        out_dir_ = scenario_out_dir(plan_, opt_);  // created by run_plan before the sandbox
        // Spare slots for the children traced programs start: 32 per
        // program, 64 at most (each is two rings, 2 MiB of the arena that
        // every traced program maps, outside its memory limit).
        std::uint32_t traced_programs = 0;
        for (const auto& pp : plan_.processes) traced_programs += pp.is_exec() && pp.trace;
        auto arena = Arena::create(static_cast<std::uint32_t>(plan_.processes.size()), opt_.ring_capacity,
                                   std::min<std::uint32_t>(kMaxSpares, kSparesPerProgram * traced_programs));
        if (!arena) return arena.error();
        arena_.emplace(std::move(arena.value()));
        wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!wake_.valid()) return sys_error("eventfd()");
        auto collector = Collector::create(*arena_, out_dir_);
        if (!collector) return collector.error();
        collector_.emplace(std::move(collector.value()));

        if (mode_ == SandboxMode::None) {
            // Nothing else would clean up after a killed run: keep a registry
            // for `simrun clean`, and tag the processes so it can find them.
            auto registry = RunRegistry::create();
            if (registry) {
                registry_ = std::move(registry.value());
                ::setenv("SIMRUN_RUN", registry_.tag().c_str(), 1);
            } else {
                run_.diagnosis.push_back("note: no crash registry (" + registry.error().message + "): `simrun clean` cannot help after a crash");
            }
        }
        ipc_before_ = take_ipc_snapshot();
        auto objects = RunObjects::create(plan_, rt_);
        if (!objects) return objects.error();
        objects_ = std::move(objects.value());
        dev_null_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));

        rt_.plan = &plan_;
        rt_.faults = FaultInjector(plan_.faults);  // copied into every child by fork
        rt_.arena = &*arena_;
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
        prepare_exec(rt_, scratch_.path());
        if (!registry_.tag().empty()) {
            auto lines = objects_->inventory();
            if (!scratch_.path().empty()) lines.push_back("dir " + scratch_.path());
            (void)registry_.add(lines);
        }
        IdNames names;
        for (std::size_t i = 0; i < plan_.sems.size(); ++i) {
            names.semids.emplace_back(rt_.semids[i], plan_.sems[i].name);
            names.members.push_back(plan_.sems[i].members);
        }
        for (std::size_t i = 0; i < plan_.queues.size(); ++i)
            if (rt_.queues[i].msqid >= 0) names.msqids.emplace_back(rt_.queues[i].msqid, plan_.queues[i].name);
        run_.sysv_names.sets = names.semids;
        run_.sysv_names.queues = names.msqids;
        watch_.emplace(plan_, *arena_, rt_.semids, std::move(names), opt_.deadlock_after_ns);
        limits_.emplace(plan_, *arena_);

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

    // ---- running ---------------------------------------------------------
    void spawn_all() {
        ring_ = arena_->writer(arena_->supervisor_ring(), wake_.get());
        // Thousands of strays to reap, a flood of output: never wait for ourselves.
        ring_.set_self_drain([](void* self) { static_cast<Supervisor*>(self)->drain(); }, this);
        run_.t0 = monotonic_ns();
        ring_.begin(EventKind::RunStart, kRunProc);
        ring_.commit();
        for (std::size_t p = 0; p < plan_.processes.size(); ++p)
            if (plan_.processes[p].parent == kSupervisor) spawn_process(rt_, static_cast<int>(p), ring_, run_script);
        // Keep only the supervisor's ends of stdio pipes; the rest belong to the processes.
        for (std::size_t i = 0; i < plan_.pipes.size(); ++i) {
            const PlanPipe& pp = plan_.pipes[i];
            Pipe& pipe = objects_->pipes()[i];
            const bool captured = pp.role == PipeRole::Stdout || pp.role == PipeRole::Stderr;
            if (!captured) pipe.read.reset();
            if (pp.role != PipeRole::Stdin) pipe.write.reset();
            if (captured) {
                fcntl(pipe.read.get(), F_SETFL, O_NONBLOCK);
                stdout_of_.push_back({pipe.read.get(), pp.writers[0], pp.role == PipeRole::Stderr});
            }
            if (pp.role == PipeRole::Stdin) {
                fcntl(pipe.write.get(), F_SETFL, O_NONBLOCK);
                stdin_left_.push_back({static_cast<int>(i), *plan_.processes[pp.readers[0]].stdin_text});
            }
        }
    }

    std::string mode_line() const {
        if (plan_.mode != SchedMode::Controlled) return {};
        if (opt_.strict) return "controlled · replay";
        const StrategyConfig& c = opt_.strategy;
        return fmt::format("controlled · {} · seed {}{}", strategy_name(c.kind), c.seed,
                           c.kind == StrategyKind::Pct ? fmt::format(" · depth {}", c.depth) : "");
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
    bool controlled_loop() {
        Controller controller(plan_, rt_, ring_, mode_,
                              {[this] { idle(); }, [this] { return stop_requested(); }});
        StrategyConfig config = opt_.strategy;
        config.processes = static_cast<int>(plan_.processes.size());
        config.expected_steps = expected_steps();
        if (opt_.strict) config.kind = StrategyKind::Replay, config.replay = *opt_.strict;
        auto strategy = make_strategy(config);
        ControlResult result =
            controller.run(*strategy, run_.t0 + static_cast<std::uint64_t>(plan_.timeout_ns), opt_.strict, opt_.record_choices);
        report_.schedule = std::move(result.schedule);
        report_.choices = std::move(result.choices);
        report_.divergence = result.divergence;
        for (auto& line : result.diagnosis) run_.diagnosis.push_back(std::move(line));
        if (!result.divergence.empty()) run_.diagnosis.push_back("the schedule does not fit: " + result.divergence);
        run_.outcome = result.outcome;
        if (result.outcome == Outcome::Timeout) describe_live("still alive at the timeout");
        return result.outcome == Outcome::Completed;
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
        pump_stdio();
        drain();
    }

    // Controlled mode reads stop requests only; deaths are the controller's.
    bool stop_requested() {
        signalfd_siginfo si;
        while (::read(sigfd_.get(), &si, sizeof si) == sizeof si)
            if (si.ssi_signo != SIGCHLD) stop_ = true;
        return stop_;
    }

    void loop() {
        spawn_all();
        if (plan_.mode == SchedMode::Controlled && !controlled_loop()) return;
        if (stop_) {
            run_.outcome = Outcome::Interrupted;
            return;
        }
        const std::uint64_t deadline = run_.t0 + static_cast<std::uint64_t>(plan_.timeout_ns);
        std::uint64_t next_deadlock_check = 0;
        DrainPace pace(arena_->capacity());
        std::uint64_t sleep_ns = DrainPace::kQuiet;
        reap();  // the controller may have ended every process already
        for (;;) {
            if (no_children_) {
                run_.outcome = Outcome::Completed;
                break;
            }
            watch_new_pids();
            register_new_pids();
            std::vector<pollfd> fds{{sigfd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
            for (const auto& s : stdout_of_) fds.push_back({s.fd, POLLIN, 0});
            for (const auto& s : stdin_left_) fds.push_back({objects_->pipes()[s.pipe].write.get(), POLLOUT, 0});
            std::size_t first_death = fds.size();
            for (const auto& d : deaths_) fds.push_back({d.pidfd.get(), POLLIN, 0});
            const timespec turn{0, static_cast<long>(sleep_ns)};
            ::ppoll(fds.data(), fds.size(), &turn, nullptr);
            for (std::size_t i = first_death; i < fds.size(); ++i)
                if (fds[i].revents) deaths_[i - first_death].seen = true;
            record_deaths();
            if (handle_signals()) break;
            std::uint64_t one;
            while (::read(wake_.get(), &one, sizeof one) > 0) {
            }
            arena_->tick();  // a process writing alone stamps afresh after it (trace_clock.hpp)
            pump_stdio();
            drain();
            const std::uint64_t now = monotonic_ns();
            sleep_ns = pace.after_drain(now, collector_->fullest());
            if (no_children_) {
                run_.outcome = Outcome::Completed;
                break;
            }
            if (only_strays_left()) {
                // A double fork, a setsid daemon: the run is over all the
                // same; they are killed with the rest at the end.
                run_.outcome = Outcome::Completed;
                run_.diagnosis.push_back("processes a program started were still running after every declared process had ended; simrun killed them");
                break;
            }
            if (now >= deadline) {
                run_.outcome = Outcome::Timeout;
                describe_live("still alive at the timeout");
                break;
            }
            show_progress(now);
            limits_->tick(now);
            fire_timed_faults(now);
            if (now >= next_deadlock_check && plan_.mode == SchedMode::Free) {
                next_deadlock_check = now + 50'000'000;
                auto stall = watch_->stalled(now, collector_->written_in_rings());
                if (stall == ProcessWatch::Stall::Deadlock) {
                    run_.outcome = Outcome::Deadlock;
                    describe_live("every live process waits and none can proceed");
                    break;
                }
                if (stall == ProcessWatch::Stall::AllowedBlocked) {
                    run_.outcome = Outcome::Completed;
                    describe_live("ended blocked, as they may");
                    break;
                }
            }
        }
    }

    // Without namespaces: each new process goes into the crash registry.
    void register_new_pids() {
        if (registry_.tag().empty()) return;
        if (registered_.empty()) registered_.assign(plan_.processes.size(), false);
        std::vector<std::string> lines;
        for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
            pid_t pid = arena_->slot(static_cast<std::uint32_t>(p)).pid.load();
            if (registered_[p] || pid <= 0) continue;
            registered_[p] = true;
            if (std::uint64_t started = start_time(pid)) lines.push_back(fmt::format("pid {} {}", pid, started));
        }
        if (!lines.empty()) (void)registry_.add(lines);
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

    // Free mode: the supervisor reaps only its own children, so it watches
    // the others (and any parent) through pidfds, to record zombies and
    // orphans when they die.
    struct Death {
        int proc;
        UniqueFd pidfd;
        bool seen = false;
    };

    void watch_new_pids() {
        if (watched_.empty()) watched_.assign(plan_.processes.size(), false);
        for (std::size_t p = 0; p < plan_.processes.size(); ++p) {
            if (watched_[p]) continue;
            const PlanProcess& pp = plan_.processes[p];
            pid_t pid = arena_->slot(p).pid.load();
            if (pid <= 0 || (pp.parent == kSupervisor && pp.children.empty())) continue;
            watched_[p] = true;
            UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
            if (fd.valid()) deaths_.push_back({static_cast<int>(p), std::move(fd)});
        }
    }

    void record_deaths() {
        for (auto it = deaths_.begin(); it != deaths_.end();) {
            if (!it->seen) {
                ++it;
                continue;
            }
            record_death(rt_, ring_, it->proc, getpid());
            it = deaths_.erase(it);
        }
    }

    // Free mode: [[fault]] at = "50ms" fires when the time has come.
    void fire_timed_faults(std::uint64_t now) {
        timed_faults_.at_time(static_cast<std::int64_t>(now - run_.t0), [&](const PlanFault& pf) {
            const ProcSlot& slot = arena_->slot(pf.proc);
            if (slot.pid.load() <= 0 || slot.state.load() == ProcState::Exited) {
                run_.diagnosis.push_back(fmt::format("fault not sent ({}): the process was not running", pf.text));
                return;
            }
            Record& r = ring_.begin(EventKind::Fault, static_cast<std::uint16_t>(pf.proc));
            r.e.arg = pf.signal;
            r.e.step = kNoStep;
            r.e.pid = slot.pid.load();
            ring_.commit();
            ::kill(r.e.pid, pf.signal);
        });
    }

    // A status line on a terminal for runs longer than a second.
    void show_progress(std::uint64_t now) {
        if (opt_.quiet || !isatty(STDERR_FILENO) || now - run_.t0 < 1'000'000'000 || now < next_progress_) return;
        next_progress_ = now + 250'000'000;
        int alive = 0;
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) alive += arena_->slot(p).state.load() != ProcState::Exited;
        fmt::print(stderr, "\r  running {:.1f} s · {} of {} processes alive · {} events\033[K", (now - run_.t0) / 1e9, alive,
                   plan_.processes.size(), collector_->written_in_rings());
        progress_shown_ = true;
    }

    void describe_live(const std::string& title) {
        run_.diagnosis.push_back(title + ":");
        for (auto& line : watch_->describe_live()) run_.diagnosis.push_back(std::move(line));
    }

    // True when the run must stop (interrupted).
    bool handle_signals() {
        signalfd_siginfo si;
        bool stop = false;
        while (::read(sigfd_.get(), &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGCHLD) continue;
            run_.outcome = Outcome::Interrupted;
            describe_live(fmt::format("still alive when simrun was stopped by SIG{}", sigabbrev_np(static_cast<int>(si.ssi_signo))));
            stop = true;
        }
        reap();
        return stop;
    }

    void reap() {
        int status;
        for (;;) {
            struct rusage usage = {};
            pid_t pid = wait4(-1, &status, WNOHANG, &usage);
            if (pid > 0) {
                if (record_exit(rt_, ring_, pid, status, usage, true) < 0) ++strays_;
                continue;
            }
            if (pid < 0 && errno == ECHILD) no_children_ = true;
            return;
        }
    }

    void pump_stdio() {
        char buf[16384];
        for (auto it = stdout_of_.begin(); it != stdout_of_.end();) {
            ssize_t n;
            while ((n = ::read(it->fd, buf, sizeof buf)) > 0) {
                std::size_t keep = limits_->on_output(it->proc, static_cast<std::size_t>(n));
                if (keep == 0) continue;  // over the output limit: read and dropped
                ring_.begin(EventKind::Output, static_cast<std::uint16_t>(it->proc), it->stderr ? kRecStderr : 0);
                ring_.commit();
                ring_.data(buf, keep, static_cast<std::uint16_t>(it->proc));
            }
            // At end of file every writer has closed the pipe (a program that
            // closed or redirected its stdout) and none can open it again:
            // stop watching it, or its POLLHUP would end every ppoll at once
            // and the supervisor would spin beside the programs it traces.
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) it = stdout_of_.erase(it);
            else ++it;
        }
        for (auto it = stdin_left_.begin(); it != stdin_left_.end();) {
            UniqueFd& fd = objects_->pipes()[it->pipe].write;
            ssize_t n = it->text.empty() ? 0 : ::write(fd.get(), it->text.data(), it->text.size());
            if (n > 0) it->text.erase(0, static_cast<std::size_t>(n));
            if (it->text.empty() || (n < 0 && errno != EAGAIN)) {
                fd.reset();  // EOF for the program's stdin
                it = stdin_left_.erase(it);
            } else {
                ++it;
            }
        }
    }

    void finish_processes() {
        if (progress_shown_) fmt::print(stderr, "\r\033[K");
        limits_->stop();
        run_.procs.resize(plan_.processes.size());
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) {
            const ProcSlot& s = arena_->slot(p);
            ProcessEnd& end = run_.procs[p];
            end.pid = s.pid.load(), end.state = s.state.load(), end.op = s.op.load(), end.iter = s.iter.load();
            end.hit = limits_->hit(static_cast<int>(p));
            if (end.hit == LimitHit::None && end.pid > 0 && end.state != ProcState::Exited) end.hit = LimitHit::RunEnd;
        }
        while (!no_children_) {
            watch_->kill_all(mode_);
            int status;
            struct rusage usage = {};
            pid_t pid = wait4(-1, &status, 0, &usage);
            if (pid > 0 && record_exit(rt_, ring_, pid, status, usage, true) < 0) ++strays_;
            else if (errno == ECHILD) no_children_ = true;
        }
        pump_stdio();
        for (std::uint32_t p = 0; p < arena_->processes(); ++p) {
            const ProcSlot& s = arena_->slot(p);
            ProcessEnd& end = run_.procs[p];
            end.exited = s.state.load() == ProcState::Exited && s.pid.load() > 0;
            end.wait_status = WaitStatus(s.wait_status.load());
            end.cpu_ns = s.cpu_ns.load();
            end.maxrss_kb = s.maxrss_kb.load();
            end.exec_errno = s.exec_errno.load();
            end.vm_peak_kb = limits_->vm_peak_kb(static_cast<int>(p));
            judge(plan_.processes[p], run_.outcome, end);
            const PlanProcess& pp = plan_.processes[p];
            if (pp.is_exec() && pp.trace && !rt_.preload.empty() && end.pid > 0 && !end.exec_errno && !s.traced.load())
                run_.diagnosis.push_back(fmt::format("{}: no call detail (a static binary, or a program that bypasses libc): lifecycle events only",
                                                     pp.name));
            if (pp.is_exec() && s.traced.load() == 2)
                run_.diagnosis.push_back(fmt::format("{}: no call detail after its last exec (the image it exec'd was a static binary, "
                                                     "or the tracer's descriptor was taken over before the exec): lifecycle events only",
                                                     pp.name));
        }
        // Children that found every spare slot held ran untraced.
        if (const std::uint32_t missed = arena_->spares_missed(); missed > 0)
            run_.diagnosis.push_back(fmt::format("{} {} started by traced programs ran untraced: all of the run's {} spare trace slots were held by live processes",
                                                 missed, missed == 1 ? "process" : "processes", arena_->spares()));
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
            run_.schedule_info += fmt::format(",\"steps\":{}", report_.schedule.size());
        }
    }

    // ---- reporting ---------------------------------------------------------
    ExitCode report() {
        std::string trace_path = opt_.write_trace ? out_dir_ + "/trace.jsonl" : "/dev/null";
        auto writer = JsonlWriter::open(trace_path, plan_, run_);
        if (!writer) {
            fmt::print(stderr, "simrun: error: {}\n", writer.error().message);
            return ExitCode::Internal;
        }
        Checker checker(plan_);
        Timeline& timeline = *timeline_;
        Decoder decoder(plan_, run_.sysv_names, rt_.semids);
        decoder.add_sink(checker);
        decoder.add_sink(**writer);
        decoder.add_sink(timeline);
        auto merged = collector_->merge([&](const Record& r, std::string_view payload) { decoder.on_record(r, payload); });
        const std::uint64_t events = decoder.events();
        run_.events = events;
        if (!merged && run_.trace_cut.empty()) run_.trace_cut = merged.error().message;
        if (!run_.trace_cut.empty()) run_.diagnosis.push_back("the trace is incomplete: " + run_.trace_cut);
        // A set a process removed (IPC_RMID) has no final value to compare.
        bool drift = false;
        for (std::size_t i = 0; i < run_.sems.size(); ++i) drift = drift || (run_.sems[i] >= 0 && run_.sems[i] != decoder.sem_values()[i]);
        if (drift) run_.diagnosis.push_back("note: semaphore values replayed from the trace differ from the kernel's final values");
        auto results = checker.finish(run_);
        for (const auto& e : results) (*writer)->expectation(e.name, e.kind, e.text, e.passed, e.detail);
        if (auto st = (*writer)->finish(run_); !st || !run_.trace_cut.empty()) {
            fmt::print(stderr, "simrun: error: {}\n", !st ? st.error().message : "the trace is incomplete: " + run_.trace_cut);
            if (opt_.terminal) timeline.summary(run_, results, trace_path);
            return ExitCode::Internal;
        }
        std::string schedule_path;
        if (plan_.mode == SchedMode::Controlled && opt_.write_trace) {
            schedule_path = out_dir_ + "/schedule.toml";
            Schedule sched{opt_.strict ? "replay" : strategy_name(opt_.strategy.kind), opt_.strategy.seed,
                           opt_.strategy.depth, report_.schedule};
            if (auto st = write_schedule(schedule_path, plan_, sched); !st) {
                fmt::print(stderr, "simrun: error: {}\n", st.error().message);
                return ExitCode::Internal;
            }
        }
        if (opt_.terminal) timeline.summary(run_, results, trace_path, schedule_path, opt_.replay_hint);
        bool all_passed = true;
        for (const auto& e : results) all_passed = all_passed && e.passed;
        report_.passed = all_passed;
        report_.results = results;
        if (!report_.divergence.empty()) return ExitCode::Usage;
        if (run_.outcome == Outcome::Interrupted) return ExitCode::Interrupted;
        return all_passed ? ExitCode::Ok : ExitCode::Failed;
    }

    struct StdoutSource {
        int fd;
        int proc;
        bool stderr;  // the program's stderr, else its stdout
    };
    struct StdinLeft {
        int pipe;
        std::string text;
    };

    const Plan& plan_;
    const RunOptions& opt_;
    SandboxMode mode_;
    std::optional<LimitWatch> limits_;
    RunRegistry registry_;  // without namespaces: what `simrun clean` removes after a crash
    std::vector<bool> registered_;  // per process: its pid is in the registry
    ScratchDir scratch_;  // where exec'd programs run; removed after them
    int strays_ = 0;  // undeclared processes (a program's children) simrun had to reap
    std::string out_dir_;
    std::optional<Arena> arena_;
    std::optional<Collector> collector_;
    std::unique_ptr<RunObjects> objects_;
    IpcSnapshot ipc_before_;
    UniqueFd wake_, sigfd_, dev_null_;
    Runtime rt_;
    RingWriter ring_;
    RunResult run_;
    std::vector<StdoutSource> stdout_of_;
    std::vector<StdinLeft> stdin_left_;
    std::optional<ProcessWatch> watch_;
    std::optional<Timeline> timeline_;
    RunReport report_;
    FaultInjector timed_faults_{plan_.faults};  // free mode: [[fault]] at = a time
    std::vector<bool> watched_;
    std::vector<Death> deaths_;
    bool stop_ = false;
    bool no_children_ = false;
    std::uint64_t next_progress_ = 0;
    bool progress_shown_ = false;
};

// simrun's own process while the inner supervisor runs: forward a stop
// request (Ctrl-C, SIGTERM, SIGHUP) as SIGTERM, and pass on the exit code.
ExitCode wait_inner(pid_t inner) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    for (;;) {
        int status;
        pid_t done = waitpid(inner, &status, WNOHANG);
        if (done == inner) {
            const WaitStatus st(status);
            if (st.exited()) return static_cast<ExitCode>(st.code());
            fmt::print(stderr, "simrun: error: the supervisor was {}\n", st.describe());
            return ExitCode::Internal;
        }
        siginfo_t si;
        timespec tick{0, 100'000'000};
        int sig = sigtimedwait(&mask, &si, &tick);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) ::kill(inner, SIGTERM);
    }
}

}  // namespace

RunReport run_once(const Plan& plan, const RunOptions& options, SandboxMode mode) {
    return Supervisor(plan, options, mode).run();
}

std::string scenario_out_dir(const Plan& plan, const RunOptions& options) { return options.out_dir + "/" + plan.name; }

ExitCode run_in_sandbox(const Plan& plan, const RunOptions& options, const std::function<ExitCode(SandboxMode)>& body) {
    std::error_code ec;
    std::filesystem::create_directories(scenario_out_dir(plan, options), ec);
    if (ec) {
        fmt::print(stderr, "simrun: error: cannot create the output folder {}: {}\n", scenario_out_dir(plan, options), ec.message());
        return ExitCode::Usage;
    }
    auto inner = start_inner(options.namespaces, scenario_out_dir(plan, options), [&](SandboxMode mode, const std::string& note) {
        if (mode == SandboxMode::None)
            fmt::print(stderr, "simrun: running without a sandbox ({}); objects are removed at exit\n", note);
        return code_of(body(mode));
    });
    if (!inner) {
        fmt::print(stderr, "simrun: error: cannot start the supervisor: {}\n", inner.error().message);
        return ExitCode::Internal;
    }
    return wait_inner(inner->pid);
}

ExitCode run_plan(const Plan& plan, const RunOptions& options) {
    return run_in_sandbox(plan, options, [&](SandboxMode mode) { return run_once(plan, options, mode).exit_code; });
}

}  // namespace simrun

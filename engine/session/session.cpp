#include "session/session.hpp"

#include "spawn/process_room.hpp"

#include "report/timeline.hpp"
#include "run/supervisor.hpp"
#include "session/outputs.hpp"
#include "session/report_wire.hpp"
#include "util/unique_fd.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <signal.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <filesystem>

namespace simrun {
namespace {

std::string mode_line(const Plan& plan, const RunOptions& opt) {
    if (plan.mode != SchedMode::Controlled) return {};
    if (opt.strict) return "controlled · replay";
    const StrategyConfig& c = opt.strategy;
    return fmt::format("controlled · {} · seed {}{}", strategy_name(c.kind), c.seed,
                       c.kind == StrategyKind::Pct ? fmt::format(" · depth {}", c.depth) : "");
}

std::atomic<bool> g_stop_requested{false};

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
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            g_stop_requested = true;
            ::kill(inner, SIGTERM);
        }
    }
}

}  // namespace

bool stop_was_requested() { return g_stop_requested; }

RunReport run_once(const Plan& plan, const RunOptions& options, SandboxMode mode) {
    Timeline timeline(plan, TerminalStyle{options.color, options.terminal ? options.max_events : 0, options.quiet || !options.terminal},
                      options.terminal ? stdout : nullptr);
    RunOutput out = supervise(plan, options, mode, [&] {
        if (!options.terminal) return;
        timeline.header(mode == SandboxMode::Namespaces, mode_line(plan, options));
        std::fflush(stdout);
    });
    RunReport report;
    if (!out.error.empty()) {
        fmt::print(stderr, "simrun: error: {}\n", out.error);
        report.exit_code = ExitCode::Internal;
        return report;
    }
    report_run(plan, options, out, timeline, report);
    return report;
}

ExitCode run_in_sandbox(const Plan& plan, const RunOptions& options, const std::function<ExitCode(SandboxMode)>& body, bool say_mode) {
    // A fork that fails halfway through a run for want of room is an error now, before anything runs.
    if (const std::string problem = process_room_problem(plan.processes.size()); !problem.empty()) {
        fmt::print(stderr, "simrun: error: {}\n", problem);
        return ExitCode::Usage;
    }
    std::error_code ec;
    std::filesystem::create_directories(scenario_out_dir(plan, options), ec);
    if (ec) {
        fmt::print(stderr, "simrun: error: cannot create the output folder {}: {}\n", scenario_out_dir(plan, options), ec.message());
        // A path that cannot be a folder is the command line's mistake; a
        // file system that refuses to be written is not.
        const int e = ec.value();
        return e == EROFS || e == ENOSPC || e == EDQUOT || e == EIO ? ExitCode::Internal : ExitCode::Usage;
    }
    // One that exists but cannot be written (a read-only mount): said before anything runs.
    if (::access(scenario_out_dir(plan, options).c_str(), W_OK) != 0) {
        const int e = errno;
        fmt::print(stderr, "simrun: error: cannot write in the output folder {}: {}\n", scenario_out_dir(plan, options), std::strerror(e));
        return e == EACCES ? ExitCode::Usage : ExitCode::Internal;
    }
    SandboxSpec spec;
    spec.out_dir = scenario_out_dir(plan, options);
    spec.root = plan.root;
    for (const auto& p : plan.processes)
        if (!p.workdir.empty()) spec.writable.push_back(p.workdir);
    auto inner = start_inner(options.namespaces, spec, [&](SandboxMode mode, const std::string& note) {
        if (mode == SandboxMode::None && say_mode)
            fmt::print(stderr,
                       "simrun: running without a sandbox ({}): the programs run as you and can change any file you can; "
                       "objects are removed at exit\n",
                       note);
        return code_of(body(mode));
    });
    if (!inner) {
        fmt::print(stderr, "simrun: error: cannot start the supervisor: {}\n", inner.error().message);
        return ExitCode::Internal;
    }
    return wait_inner(inner->pid);
}

RunReport run_isolated(const Plan& plan, const RunOptions& options) {
    static bool said = false;  // the sandbox note, once per command
    UniqueFd report_fd(memfd_create("simrun-report", MFD_CLOEXEC));
    RunReport report;
    if (!report_fd.valid()) {
        fmt::print(stderr, "simrun: error: memfd_create(simrun-report): {}\n", std::strerror(errno));
        report.exit_code = ExitCode::Internal;
        return report;
    }
    const ExitCode code = run_in_sandbox(
        plan, options,
        [&](SandboxMode mode) {
            const RunReport r = run_once(plan, options, mode);
            const std::string bytes = encode_report(r);
            for (std::size_t done = 0; done < bytes.size();) {
                const ssize_t n = ::write(report_fd.get(), bytes.data() + done, bytes.size() - done);
                if (n <= 0) break;
                done += static_cast<std::size_t>(n);
            }
            return r.exit_code;
        },
        !said);
    said = true;
    std::string bytes;
    char buf[65536];
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(report_fd.get(), buf, sizeof buf, at);
        if (n <= 0) break;
        bytes.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    if (auto decoded = decode_report(bytes)) return std::move(*decoded);
    report.exit_code = code == ExitCode::Ok ? ExitCode::Internal : code;  // the run's process died before it could say
    return report;
}

ExitCode run_plan(const Plan& plan, const RunOptions& options) {
    return run_in_sandbox(plan, options, [&](SandboxMode mode) { return run_once(plan, options, mode).exit_code; });
}

}  // namespace simrun

#include "run/verdict.hpp"

#include "scenario/expr.hpp"

#include "util/duration.hpp"
#include "util/size.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstring>

namespace simrun {
namespace {

// Expressions compare verdict(p) with these names, by value.
static_assert(std::size(kVerdictConstants) == static_cast<std::size_t>(Verdict::Stopped) + 1);
static_assert(kVerdictConstants[static_cast<int>(Verdict::TimeLimit)] == "TIME_LIMIT");
static_assert(kVerdictConstants[static_cast<int>(Verdict::Stopped)] == "STOPPED");

}  // namespace

void judge(const PlanProcess& pp, Outcome outcome, ProcessEnd& end) {
    auto set = [&](Verdict v, std::string detail) { end.verdict = v, end.verdict_detail = std::move(detail); };
    const WaitStatus st = end.wait_status;
    const bool exec = pp.is_exec();
    const Limits& l = pp.limits;
    if (end.exec_errno)
        return set(Verdict::NotStarted, fmt::format("exec {}: {}", pp.argv[0], strerrorname_np(end.exec_errno) ? strerrorname_np(end.exec_errno) : "?"));
    switch (end.hit) {
        case LimitHit::Wall: return set(Verdict::TimeLimit, fmt::format("wall time limit {}", format_duration_ns(l.wall_ns)));
        case LimitHit::Output: return set(Verdict::OutputLimit, fmt::format("more than {} of output", format_size_bytes(l.output)));
        case LimitHit::Processes: return set(Verdict::ProcessLimit, fmt::format("more than {} processes", l.processes));
        case LimitHit::RunEnd:
            if (outcome == Outcome::Timeout) return set(Verdict::TimeLimit, "still running at the run's timeout");
            if (outcome == Outcome::TraceLimit) return set(Verdict::Stopped, "the run's trace reached its limit");
            if (outcome == Outcome::Livelock) return set(Verdict::Stopped, "the run livelocked");
            return set(Verdict::Stopped, outcome == Outcome::Deadlock ? "the run deadlocked" : "the run ended");
        case LimitHit::None: break;
    }
    if (!end.exited) return set(Verdict::Stopped, "not reaped");
    if (st.exited() && st.code() == 0) return set(Verdict::Ok, "exit 0");
    const std::uint64_t cpu_limit_ns = static_cast<std::uint64_t>((l.cpu_ns + 999'999'999) / 1'000'000'000 * 1'000'000'000);
    if (exec && st.signaled() && (st.signal() == SIGXCPU || (st.signal() == SIGKILL && end.cpu_ns >= cpu_limit_ns)))
        return set(Verdict::TimeLimit, fmt::format("cpu {} (limit {})", format_duration_ns(static_cast<std::int64_t>(end.cpu_ns)),
                                                  format_duration_ns(static_cast<std::int64_t>(cpu_limit_ns))));
    // RLIMIT_AS makes an allocation fail; the program then crashes or gives
    // up. It counts as the memory limit when it had come close to it.
    const std::int64_t peak_kb = std::max(end.vm_peak_kb, end.maxrss_kb);
    if (exec && peak_kb * 1024 >= l.memory / 10 * 8)
        return set(Verdict::MemoryLimit, fmt::format("{} at its peak, limit {}{}", format_size_bytes(peak_kb * 1024), format_size_bytes(l.memory),
                                                     st.signaled() ? ", then " + st.signal_text() : fmt::format(", then exit {}", st.code())));
    if (st.signaled()) {
        std::string why = st.signal() == SIGXFSZ ? fmt::format(": file size limit {}", format_size_bytes(l.file_size)) : "";
        return set(Verdict::Signaled, st.signal_text() + why);
    }
    return set(Verdict::RuntimeError, fmt::format("exit {}", st.code()));
}

}  // namespace simrun

#include "session/explore.hpp"

#include "sched/schedule_file.hpp"
#include "session/saved_run.hpp"
#include "util/duration.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace simrun {
namespace {

class Explorer {
public:
    Explorer(const Plan& plan, const ExploreOptions& o, const RunSchedule& run_one) : plan_(plan), o_(o), run_one_(run_one) {}

    ExploreResult run() {
        result_.code = o_.exhaustive ? run_exhaustive() : run_seeded();
        result_.runs = runs_;
        return std::move(result_);
    }

private:
    ExitCode run_seeded() {
        const StrategyConfig& c = o_.run.strategy;
        say("explore {}: {} schedules from seed {}{}, up to {}\n", plan_.name, strategy_name(c.kind), c.seed,
                   c.kind == StrategyKind::Pct ? fmt::format(", depth {}", c.depth) : "", runs_text(o_.runs));
        std::fflush(stdout);
        std::uint64_t start = now();
        for (int i = 0; i < o_.runs; ++i) {
            RunOptions opt = quiet_options();
            opt.strategy.seed = c.seed + static_cast<std::uint64_t>(i);
            RunReport r = run_one_(opt);
            ++runs_;
            steps_ += r.schedule.size();
            progress();
            if (stops_search(r)) return stopped(stop_code(r));
            if (r.passed) continue;
            clear_progress();
            say("  run {} (seed {}) fails: {}\n", i + 1, opt.strategy.seed, first_failure(r));
            say("  {} in {}\n", runs_text(runs_), pace(start));
            return report_failure(opt.strategy.seed, r.schedule, r.children);
        }
        clear_progress();
        say("  no failure in {} ({})\n", runs_text(runs_), pace(start));
        return ExitCode::Ok;
    }

    // What explore says on standard output; nothing when it runs for a grader.
    template <typename... A>
    void say(fmt::format_string<A...> f, A&&... a) const {
        if (o_.quiet) return;
        fmt::print(f, std::forward<A>(a)...);
        std::fflush(stdout);  // as it happens, into a pipe or a log too
    }
    static std::string runs_text(int n) { return fmt::format("{} run{}", n, n == 1 ? "" : "s"); }
    // "0.41 s, 73 runs/s"; a rate under 10 with a decimal, none for a single run.
    std::string pace(std::uint64_t start) const {
        const double s = static_cast<double>(now() - start) / 1e9;
        if (runs_ < 2 || s <= 0) return fmt::format("{:.2f} s", s);
        const double rate = runs_ / s;
        return rate < 10 ? fmt::format("{:.2f} s, {:.1f} runs/s", s, rate) : fmt::format("{:.2f} s, {:.0f} runs/s", s, rate);
    }

    // simrun itself failed, or the user stopped it: no verdict on the program.
    // A stop request counts even when the run it came in did not end
    // interrupted: a run just starting may lose the signal forwarded to it.
    static bool stops_search(const RunReport& r) {
        return r.exit_code == ExitCode::Internal || r.exit_code == ExitCode::Interrupted || stop_was_requested();
    }
    static ExitCode stop_code(const RunReport& r) { return r.exit_code == ExitCode::Internal ? ExitCode::Internal : ExitCode::Interrupted; }

    static std::uint64_t now() { return monotonic_ns(); }

    // Depth-first over schedules: each run follows a prefix, then lets the
    // running process go on (no preemption); at every later step where
    // another process could have run, that choice becomes a new prefix, as
    // long as its preemptions (switching away from a process that could
    // still run) stay within the bound. Every interleaving within the bound
    // is run once.
    ExitCode run_exhaustive() {
        say("explore {}: every schedule with at most {} preemptions, up to {}\n", plan_.name, o_.preemptions, runs_text(o_.runs));
        std::fflush(stdout);
        struct Node {
            std::vector<int> prefix;
            int preemptions;
        };
        std::vector<Node> stack{{{}, 0}};
        std::uint64_t start = now();
        while (!stack.empty() && runs_ < o_.runs) {
            Node node = std::move(stack.back());
            stack.pop_back();
            RunOptions opt = quiet_options();
            opt.strategy.kind = StrategyKind::Replay;
            opt.strategy.replay = node.prefix;
            opt.record_choices = true;
            RunReport r = run_one_(opt);
            ++runs_;
            steps_ += r.schedule.size();
            progress();
            if (stops_search(r)) return stopped(stop_code(r));
            if (!r.passed) {
                clear_progress();
                say("  run {} fails ({} preemptions): {}\n", runs_, node.preemptions, first_failure(r));
                say("  {} in {:.2f} s\n", runs_text(runs_), (now() - start) / 1e9);
                return report_failure(0, r.schedule, r.children);
            }
            const auto& s = r.schedule;
            for (std::size_t i = s.size(); i-- > node.prefix.size();) {
                int pre = 0;
                for (std::size_t k = 1; k < i; ++k) pre += preempts(r, k, s[k]);
                for (int q : r.choices[i]) {
                    if (q == s[i]) continue;
                    int total = pre + preempts(r, i, q);
                    if (total > o_.preemptions) continue;
                    std::vector<int> prefix(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(i));
                    prefix.push_back(q);
                    stack.push_back({std::move(prefix), total});
                }
            }
        }
        clear_progress();
        if (stack.empty())
            say("  every schedule with at most {} preemptions passes: {} ({:.2f} s)\n", o_.preemptions, runs_text(runs_), (now() - start) / 1e9);
        else
            say("  no failure in {}; {} schedules within the bound not tried (raise --runs)\n", runs_text(runs_), stack.size());
        return ExitCode::Ok;
    }

    // Taking step k with process q preempts the process of step k-1 if that one could still run.
    static int preempts(const RunReport& r, std::size_t k, int q) {
        if (k == 0) return 0;
        int before = r.schedule[k - 1];
        const auto& could = r.choices[k];
        return q != before && std::find(could.begin(), could.end(), before) != could.end();
    }

    RunOptions quiet_options() const {
        RunOptions opt = o_.run;
        opt.write_trace = false;
        opt.terminal = false;
        return opt;
    }

    // The headline of a failing run: a deadlock, livelock or timeout as
    // such (with the cycle when there is one), else the first expectation that failed.
    static std::string first_failure(const RunReport& r) {
        if (r.outcome == Outcome::Deadlock || r.outcome == Outcome::Livelock || r.outcome == Outcome::Timeout) {
            const bool expected = std::any_of(r.results.begin(), r.results.end(),
                                              [](const ExpectResult& e) { return e.kind == ExpectKind::Outcome && e.passed; });
            if (!expected) {
                std::string head = outcome_name(r.outcome);
                for (const auto& line : r.diagnosis)
                    if (auto at = line.find("cycle: "); at != std::string::npos) return head + " (" + line.substr(at) + ")";
                return head;
            }
        }
        for (const auto& e : r.results)
            if (!e.passed) return e.name + (e.detail.empty() ? "" : " (" + e.detail + ")");
        return "?";
    }

    // Replays `steps` leniently (past them, or where a step cannot run, the
    // lowest runnable process goes on). Returns the failing run's executed
    // prefix of the same length, or nothing if the run passed.
    std::optional<std::vector<int>> still_fails(const std::vector<int>& steps) {
        RunOptions opt = quiet_options();
        opt.strategy.kind = StrategyKind::Replay;
        opt.strategy.replay = steps;
        RunReport r = run_one_(opt);
        ++shrink_runs_;
        if (stops_search(r)) stop_code_ = stop_code(r);
        shrink_progress();
        if (r.passed || r.exit_code != ExitCode::Failed) return std::nullopt;
        r.schedule.resize(std::min(r.schedule.size(), steps.size()));
        best_children_ = r.children;
        return r.schedule;
    }

    // Shrinking goes on while it has replays and time left, and nobody asked it to stop.
    bool may_shrink() const {
        return shrink_runs_ < o_.shrink_budget && stop_code_ == ExitCode::Ok && static_cast<std::int64_t>(now() - shrink_start_) < o_.shrink_time_ns;
    }

    // The schedule with the switches into segments [from, to) of `segs` taken
    // back: each of those segments' steps go to the process that ran before it.
    static std::vector<int> without_segments(const std::vector<int>& s, const std::vector<std::size_t>& starts, std::size_t from,
                                             std::size_t to) {
        std::vector<int> out = s;
        for (std::size_t k = from; k < to; ++k) {
            const std::size_t b = starts[k], e = k + 1 < starts.size() ? starts[k + 1] : s.size();
            for (std::size_t i = b; i < e; ++i) out[i] = out[b - 1];
        }
        return out;
    }

    static std::pair<std::size_t, std::size_t> cost(const std::vector<int>& s) { return {context_switches(s), s.size()}; }

    std::vector<int> shrink(std::vector<int> best) {
        shrink_start_ = now();
        auto consider = [&](const std::vector<int>& candidate) {
            if (!may_shrink() || cost(candidate) >= cost(best)) return false;
            auto executed = still_fails(candidate);
            if (!executed || cost(*executed) >= cost(best)) return false;
            best = std::move(*executed);
            return true;
        };
        for (bool improved = true; improved && may_shrink();) {
            improved = false;
            // Fewer explicit steps: the default (lowest runnable first) plays the rest.
            for (std::size_t cut = best.size() / 2; cut > 0 && !improved; cut /= 2)
                improved = consider(std::vector<int>(best.begin(), best.end() - static_cast<std::ptrdiff_t>(cut)));
            if (improved) continue;
            // Fewer context switches, many at a time (delta debugging over the
            // schedule's segments, the runs of one process): take back half of
            // them, then quarters, ..., down to one at a time. A long schedule
            // with a few switches that matter gets there in a few dozen replays.
            std::vector<std::size_t> starts;  // segment k starts at starts[k]; segment 0 has no switch into it
            for (std::size_t i = 1; i < best.size(); ++i)
                if (best[i] != best[i - 1]) starts.push_back(i);
            for (std::size_t chunk = std::max<std::size_t>(1, starts.size() / 2); chunk > 0 && !improved && may_shrink(); chunk /= 2) {
                for (std::size_t from = 0; from < starts.size() && !improved; from += chunk)
                    improved = consider(without_segments(best, starts, from, std::min(starts.size(), from + chunk)));
                if (chunk == 1) break;
            }
        }
        return best;
    }

    ExitCode report_failure(std::uint64_t seed, const std::vector<int>& schedule, const std::vector<std::string>& children) {
        best_children_ = children;
        std::vector<int> best = shrink(schedule);
        clear_progress();
        const bool out_of_time = stop_code_ == ExitCode::Ok && shrink_runs_ < o_.shrink_budget &&
                                 static_cast<std::int64_t>(now() - shrink_start_) >= o_.shrink_time_ns;
        if (o_.shrink_time_ns == 0)
            say("  kept as found (--shrink-time 0): {} steps with {} context switches\n", schedule.size(), context_switches(schedule));
        else if (stop_code_ != ExitCode::Ok)
            say("  shrinking stopped after {} replay{}: {} steps with {} context switches → {} explicit steps with {}\n", shrink_runs_,
                shrink_runs_ == 1 ? "" : "s", schedule.size(), context_switches(schedule), best.size(), context_switches(best));
        else
            say("  shrunk in {} replays{}: {} steps with {} context switches → {} explicit steps with {}\n", shrink_runs_,
                out_of_time ? fmt::format(" (--shrink-time {} reached)", format_duration_ns(o_.shrink_time_ns)) : "", schedule.size(),
                context_switches(schedule), best.size(), context_switches(best));
        std::string path = scenario_out_dir(plan_, o_.run) + "/failure.schedule.toml";
        result_.seed = seed;
        result_.schedule_path = path;
        if (stop_code_ != ExitCode::Ok) {
            // Stopped while shrinking: the smallest failing schedule so far is kept, not shown.
            Schedule file{o_.exhaustive ? "exhaustive" : strategy_name(o_.run.strategy.kind), seed, o_.run.strategy.depth, best, best_children_};
            if (auto st = write_schedule(path, plan_, file); !st) {
                fmt::print(stderr, "simrun: error: {}\n", st.error().message);
                return ExitCode::Internal;
            }
            say("  the smallest failing schedule so far: {}\n  replay it: simrun replay {} {}\n", path, plan_.path, path);
            return stop_code_;
        }
        say("  schedule: {}\n\nthe shrunk failing run:\n", path);
        std::fflush(stdout);
        // Show it, strictly replayed, with its trace written; then save it
        // with the names of the children programs forked in it.
        RunOptions opt = o_.run;
        opt.strict = &best;
        opt.replay_hint = fmt::format("replay it: simrun replay {} {}", plan_.path, path);
        // A run longer than the terminal shows is shown where it failed, not from its first event.
        const bool tail = o_.run.terminal && !o_.quiet && schedule.size() > o_.run.max_events;
        if (tail) opt.terminal = false;
        auto show = [&](RunOptions& o) {
            RunReport run = run_one_(o);
            if (!tail) return run;
            ViewOptions v;
            v.around_failure = o_.run.max_events / 2;
            v.color = o_.run.color;
            view_saved_run(scenario_out_dir(plan_, o_.run) + "/trace.simrun", v, stdout);
            say(" {}\n", o.replay_hint);
            return run;
        };
        RunReport r = show(opt);
        std::vector<int> saved = best;
        if (r.passed && best != schedule) {
            // The shrunk schedule passed: show and save the whole failing one.
            say("\nthe shrunk schedule passed when replayed; the whole failing schedule:\n");
            std::fflush(stdout);
            opt.strict = &schedule;
            r = show(opt);
            saved = schedule;
        }
        result_.failing = r;
        Schedule file{o_.exhaustive ? "exhaustive" : strategy_name(o_.run.strategy.kind), seed, o_.run.strategy.depth, saved, r.children};
        if (auto st = write_schedule(path, plan_, file); !st) {
            fmt::print(stderr, "simrun: error: {}\n", st.error().message);
            return ExitCode::Internal;
        }
        // A program's behaviour, not simrun's failure: say why, exit as a failure found.
        if (r.passed)
            fmt::print(stderr, "simrun: warning: the failing run did not fail again when its schedule was replayed: this "
                               "scenario's runs are not reproducible (the report says which processes ran free)\n");
        return ExitCode::Failed;
    }

    // A stop request or simrun's own failure ended the search: say how far it got.
    ExitCode stopped(ExitCode code) {
        clear_progress();
        if (code == ExitCode::Interrupted) say("  stopped after {}: no failure found\n", runs_text(runs_ - 1));
        return code;
    }

    // On a terminal, at most five times a second: runs, their pace, steps per second.
    void progress() {
        if (!tty_ || !due()) return;
        const double s = static_cast<double>(now() - search_start_) / 1e9;
        fmt::print(stderr, "\r  {}, {:.0f} runs/s, {:.0f} steps/s, no failure yet\033[K", runs_text(runs_), runs_ / s, steps_ / s);
        shown_ = true;
    }
    void shrink_progress() {
        if (!tty_ || !due()) return;
        fmt::print(stderr, "\r  shrinking: {} replays, {:.0f} s of {}\033[K", shrink_runs_, (now() - shrink_start_) / 1e9,
                   format_duration_ns(o_.shrink_time_ns));
        shown_ = true;
    }
    bool due() {
        const std::uint64_t t = now();
        if (t - last_shown_ < 200'000'000) return false;
        last_shown_ = t;
        return true;
    }
    void clear_progress() {
        if (shown_) fmt::print(stderr, "\r\033[K");
        shown_ = false;
    }

    const Plan& plan_;
    const ExploreOptions& o_;
    const RunSchedule& run_one_;
    int runs_ = 0, shrink_runs_ = 0;
    std::uint64_t steps_ = 0;  // steps of the search's runs
    ExploreResult result_;
    const bool tty_ = !o_.quiet && isatty(STDERR_FILENO);
    bool shown_ = false;
    std::uint64_t search_start_ = now(), shrink_start_ = 0, last_shown_ = 0;
    ExitCode stop_code_ = ExitCode::Ok;        // a replay while shrinking was stopped (Interrupted) or broke (Internal)
    std::vector<std::string> best_children_;     // the children programs forked in the best failing run
};

}  // namespace

ExploreResult explore_with(const Plan& plan, const ExploreOptions& options, const RunSchedule& run) {
    return Explorer(plan, options, run).run();
}

// Every run, each shrinking replay and the final one included, in a fresh
// sandbox: no run sees the queue, the ids or the pids another left.
ExploreResult explore(const Plan& plan, const ExploreOptions& options) {
    return explore_with(plan, options, [&](const RunOptions& opt) { return run_isolated(plan, opt); });
}

}  // namespace simrun

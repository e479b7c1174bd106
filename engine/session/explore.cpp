#include "session/explore.hpp"

#include "sched/schedule_file.hpp"

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
            progress(i + 1);
            if (stops_search(r)) return clear_progress(), r.exit_code;
            if (r.passed) continue;
            clear_progress();
            say("  run {} (seed {}) fails: {}\n", i + 1, opt.strategy.seed, first_failure(r));
            say("  {} in {}\n", runs_text(runs_), pace(start));
            return report_failure(opt.strategy.seed, r.schedule);
        }
        clear_progress();
        say("  no failure in {} ({})\n", runs_text(runs_), pace(start));
        return ExitCode::Ok;
    }

    // What explore says on standard output; nothing when it runs for a grader.
    template <typename... A>
    void say(fmt::format_string<A...> f, A&&... a) const {
        if (!o_.quiet) fmt::print(f, std::forward<A>(a)...);
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
    static bool stops_search(const RunReport& r) { return r.exit_code == ExitCode::Internal || r.exit_code == ExitCode::Interrupted; }

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
            progress(runs_);
            if (stops_search(r)) return clear_progress(), r.exit_code;
            if (!r.passed) {
                clear_progress();
                say("  run {} fails ({} preemptions): {}\n", runs_, node.preemptions, first_failure(r));
                say("  {} in {:.2f} s\n", runs_text(runs_), (now() - start) / 1e9);
                return report_failure(0, r.schedule);
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

    static std::string first_failure(const RunReport& r) {
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
        if (r.passed || r.exit_code != ExitCode::Failed) return std::nullopt;
        r.schedule.resize(std::min(r.schedule.size(), steps.size()));
        return r.schedule;
    }

    static std::pair<std::size_t, std::size_t> cost(const std::vector<int>& s) { return {context_switches(s), s.size()}; }

    std::vector<int> shrink(std::vector<int> best) {
        auto consider = [&](const std::vector<int>& candidate) {
            if (shrink_runs_ >= o_.shrink_budget || cost(candidate) >= cost(best)) return false;
            auto executed = still_fails(candidate);
            if (!executed || cost(*executed) >= cost(best)) return false;
            best = std::move(*executed);
            return true;
        };
        for (bool improved = true; improved && shrink_runs_ < o_.shrink_budget;) {
            improved = false;
            // Fewer explicit steps: the default (lowest runnable first) plays the rest.
            for (std::size_t cut = best.size() / 2; cut > 0 && !improved; cut /= 2)
                improved = consider(std::vector<int>(best.begin(), best.end() - static_cast<std::ptrdiff_t>(cut)));
            // Fewer context switches: let the process before a switch run one step longer.
            for (std::size_t i = 1; i < best.size() && !improved; ++i) {
                if (best[i] == best[i - 1]) continue;
                std::vector<int> candidate = best;
                candidate[i] = candidate[i - 1];
                improved = consider(candidate);
            }
        }
        return best;
    }

    ExitCode report_failure(std::uint64_t seed, const std::vector<int>& schedule) {
        std::vector<int> best = shrink(schedule);
        say("  shrunk in {} replays: {} steps with {} context switches → {} explicit steps with {}\n", shrink_runs_,
                   schedule.size(), context_switches(schedule), best.size(), context_switches(best));
        std::string path = scenario_out_dir(plan_, o_.run) + "/failure.schedule.toml";
        say("  schedule: {}\n\nthe shrunk failing run:\n", path);
        std::fflush(stdout);
        // Show it, strictly replayed, with its trace written; then save it
        // with the names of the children programs forked in it.
        RunOptions opt = o_.run;
        opt.strict = &best;
        opt.replay_hint = fmt::format("replay it: simrun replay {} {}", plan_.path, path);
        RunReport r = run_one_(opt);
        std::vector<int> saved = best;
        if (r.passed && best != schedule) {
            // The shrunk schedule passed: show and save the whole failing one.
            say("\nthe shrunk schedule passed when replayed; the whole failing schedule:\n");
            std::fflush(stdout);
            opt.strict = &schedule;
            r = run_one_(opt);
            saved = schedule;
        }
        result_.seed = seed;
        result_.schedule_path = path;
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

    void progress(int done) {
        if (!isatty(STDERR_FILENO) || (done % 25 != 0)) return;
        fmt::print(stderr, "\r  {} runs, no failure yet\033[K", done);
        shown_ = true;
    }
    void clear_progress() {
        if (shown_) fmt::print(stderr, "\r\033[K");
        shown_ = false;
    }

    const Plan& plan_;
    const ExploreOptions& o_;
    const RunSchedule& run_one_;
    int runs_ = 0, shrink_runs_ = 0;
    ExploreResult result_;
    bool shown_ = false;
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

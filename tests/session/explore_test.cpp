// explore's search and shrinking, driven by a fake that "runs" a schedule
// of two processes without forking: each takes `steps` steps, and the run
// fails when they interleave (a lost update: neither ran alone from its
// first step to its last).
#include "session/explore.hpp"

#include "sched/schedule_file.hpp"
#include "../test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <unistd.h>

using namespace simrun;

namespace {

struct FakeRace {
    int steps = 3;                 // per process
    std::vector<RunOptions> seen;  // every run asked for
    std::vector<std::vector<int>> strict;  // the steps of each strict replay (opt.strict points into explore's frame)
    bool always_pass = false;
    bool strict_passes = false;  // a program whose runs are not reproducible: strict replays pass
    ExitCode fail_with = ExitCode::Ok;  // a run that ends with this code instead (Internal, Interrupted)
    int interrupt_at = -1;  // the run (0-based, in order asked) that is stopped (Ctrl-C)
    bool late = false;      // the lost update needs b between a's last two steps (a long prefix, most switches irrelevant)
    bool deadlocks = false;  // a failing run ends as a deadlock, with its cycle in the diagnosis

    static bool late_interleaved(const std::vector<int>& s) {
        std::vector<std::size_t> a;
        for (std::size_t i = 0; i < s.size(); ++i)
            if (s[i] == 0) a.push_back(i);
        if (a.size() < 2) return false;
        return std::find(s.begin() + static_cast<std::ptrdiff_t>(a[a.size() - 2]), s.begin() + static_cast<std::ptrdiff_t>(a.back()), 1) !=
               s.begin() + static_cast<std::ptrdiff_t>(a.back());
    }
    static bool interleaved(const std::vector<int>& s) {
        auto first = std::find(s.begin(), s.end(), 1), last0 = std::find(s.rbegin(), s.rend(), 0).base();
        return first < last0 && std::find(s.begin(), s.end(), 0) < std::find(s.rbegin(), s.rend(), 1).base();
    }

    // The run's steps: a replayed prefix (strict or lenient), then the
    // running process goes on while it can, then the lowest that can; a
    // seeded strategy draws every step.
    RunReport operator()(const RunOptions& opt) {
        seen.push_back(opt);
        if (static_cast<int>(seen.size()) - 1 == interrupt_at) {
            RunReport stopped;
            stopped.exit_code = ExitCode::Interrupted;
            return stopped;
        }
        if (opt.strict) strict.push_back(*opt.strict);
        std::vector<int> left{steps, steps};
        const std::vector<int>* prefix = opt.strict ? opt.strict
                                         : opt.strategy.kind == StrategyKind::Replay ? &opt.strategy.replay
                                                                                     : nullptr;
        std::mt19937_64 rng(opt.strategy.seed);
        RunReport r;
        int running = 0;
        for (std::size_t k = 0; left[0] + left[1] > 0; ++k) {
            std::vector<int> could;
            for (int p = 0; p < 2; ++p)
                if (left[p] > 0) could.push_back(p);
            int p;
            if (prefix && k < prefix->size() && left[(*prefix)[k]] > 0) p = (*prefix)[k];
            else if (!prefix) p = could[rng() % could.size()];
            else p = left[running] > 0 ? running : could[0];
            if (opt.record_choices) r.choices.push_back(could);
            r.schedule.push_back(p);
            --left[p];
            running = p;
        }
        r.passed = always_pass || (strict_passes && opt.strict) || !(late ? late_interleaved(r.schedule) : interleaved(r.schedule));
        r.exit_code = fail_with != ExitCode::Ok ? fail_with : r.passed ? ExitCode::Ok : ExitCode::Failed;
        ExpectResult e;
        e.name = "no lost update";
        e.passed = r.passed;
        r.results.push_back(e);
        if (deadlocks && !r.passed) {
            r.outcome = Outcome::Deadlock;
            r.diagnosis = {"no process can take a step", "    cycle: a → b → a"};
        }
        return r;
    }
};

struct Fixture {
    std::filesystem::path out = std::filesystem::temp_directory_path() / ("explore_test_" + std::to_string(::getpid()));
    Plan plan = test::plan_of(R"(
[scenario]
name = "fake"
mode = "controlled"
[[process]]
name = "a"
run = ['print "x"']
[[process]]
name = "b"
run = ['print "y"']
)");
    ExploreOptions options;
    Fixture() {
        options.run.out_dir = out.string();
        options.run.terminal = false;
        options.runs = 50;
        std::filesystem::create_directories(out / "fake");
    }
    ~Fixture() { std::filesystem::remove_all(out); }
    std::vector<int> saved_steps() {
        auto s = read_schedule((out / "fake" / "failure.schedule.toml").string(), plan);
        REQUIRE(s.ok());
        return s->steps;
    }
};

}  // namespace

TEST_CASE("a seeded search stops at the first failing run, shrinks it, saves it and shows it replayed strictly") {
    Fixture f;
    FakeRace race;
    race.steps = 6;
    const ExploreResult result = explore_with(f.plan, f.options, std::ref(race));
    CHECK(result.code == ExitCode::Failed);
    CHECK(result.runs >= 1);
    CHECK(result.schedule_path.ends_with("/failure.schedule.toml"));
    CHECK(!result.failing.passed);  // what a grader shows: the replayed failing run
    REQUIRE(race.seen.size() >= 2);
    // The last run shown is the strict replay of what was saved.
    const RunOptions& last = race.seen.back();
    REQUIRE(last.strict != nullptr);
    CHECK(last.write_trace);
    const std::vector<int> saved = f.saved_steps();
    REQUIRE(race.strict.size() == 1);
    CHECK(race.strict[0] == saved);
    // Shrunk to the smallest lost update: one step of a, then b (b goes on), 1 switch.
    CHECK(context_switches(saved) == 1);
    CHECK(saved.size() == 2);
    // Every search run was quiet and wrote nothing.
    for (std::size_t i = 0; i + 1 < race.seen.size(); ++i) CHECK_FALSE(race.seen[i].write_trace);
}

TEST_CASE("no failure within the budget: every run tried, Ok, no schedule saved") {
    Fixture f;
    FakeRace race;
    race.always_pass = true;
    f.options.runs = 7;
    CHECK(explore_with(f.plan, f.options, std::ref(race)).code == ExitCode::Ok);
    CHECK(race.seen.size() == 7);
    // Consecutive seeds from the first.
    for (std::size_t i = 0; i < race.seen.size(); ++i) CHECK(race.seen[i].strategy.seed == f.options.run.strategy.seed + i);
    CHECK_FALSE(std::filesystem::exists(f.out / "fake" / "failure.schedule.toml"));
}

TEST_CASE("exhaustive: without preemptions only the two serial orders run; one preemption finds the race") {
    Fixture f;
    f.options.exhaustive = true;
    f.options.preemptions = 0;
    FakeRace serial;
    CHECK(explore_with(f.plan, f.options, std::ref(serial)).code == ExitCode::Ok);
    CHECK(serial.seen.size() == 2);  // a then b; b then a (a switch at a process's end is no preemption)

    f.options.preemptions = 1;
    FakeRace one;
    CHECK(explore_with(f.plan, f.options, std::ref(one)).code == ExitCode::Failed);
    // The saved steps are a prefix; replayed strictly, the run fails again.
    FakeRace check;
    RunOptions replay;
    const std::vector<int> steps = f.saved_steps();
    replay.strict = &steps;
    CHECK_FALSE(check(replay).passed);
}

TEST_CASE("a run that simrun itself could not do stops the search with its code") {
    Fixture f;
    FakeRace broken;
    broken.fail_with = ExitCode::Internal;
    CHECK(explore_with(f.plan, f.options, std::ref(broken)).code == ExitCode::Internal);
    CHECK(broken.seen.size() == 1);
    FakeRace stopped;
    stopped.fail_with = ExitCode::Interrupted;
    f.options.exhaustive = true;
    CHECK(explore_with(f.plan, f.options, std::ref(stopped)).code == ExitCode::Interrupted);
    CHECK(stopped.seen.size() == 1);
}

TEST_CASE("a failure that does not come back when replayed: the whole schedule is tried and saved, and explore says why, exit 1 not 3") {
    Fixture f;
    FakeRace race;
    race.strict_passes = true;
    CHECK(explore_with(f.plan, f.options, std::ref(race)).code == ExitCode::Failed);
    REQUIRE(race.strict.size() == 2);                // the shrunk schedule, then the whole one
    CHECK(race.strict[0].size() < race.strict[1].size());
    CHECK(f.saved_steps() == race.strict[1]);  // the file holds the whole failing schedule
    CHECK(FakeRace::interleaved(race.strict[1]));
}

TEST_CASE("a long schedule whose failure needs one late switch is shrunk to a few switches, many taken back per replay") {
    Fixture f;
    FakeRace race;
    race.steps = 2000;
    race.late = true;
    const ExploreResult result = explore_with(f.plan, f.options, std::ref(race));
    REQUIRE(result.code == ExitCode::Failed);
    const std::size_t search = static_cast<std::size_t>(result.runs), shrink = race.seen.size() - search - 1;
    const std::vector<int> saved = f.saved_steps();
    CHECK_FALSE(result.failing.passed);  // the saved steps, then the default, still lose the update
    MESSAGE(context_switches(saved), " switches, ", saved.size(), " steps, ", shrink, " replays");
    // The random schedule had about 2000 switches; one at a time, 200 replays would leave most of them.
    CHECK(context_switches(saved) <= 4);
    CHECK(shrink < 200);
}

TEST_CASE("--shrink-time 0 keeps the failing schedule as found: no shrinking replay") {
    Fixture f;
    FakeRace race;
    race.steps = 6;
    f.options.shrink_time_ns = 0;
    const ExploreResult result = explore_with(f.plan, f.options, std::ref(race));
    REQUIRE(result.code == ExitCode::Failed);
    CHECK(race.seen.size() == static_cast<std::size_t>(result.runs) + 1);  // the search, then the strict replay shown
    CHECK(f.saved_steps() == race.strict.at(0));
    CHECK(f.saved_steps().size() == 12);
}

TEST_CASE("stopped while shrinking: the smallest failing schedule so far is saved, not shown, and explore ends as interrupted") {
    Fixture f;
    FakeRace race;
    race.steps = 6;
    FakeRace probe;
    probe.steps = 6;
    const int found_at = explore_with(f.plan, f.options, std::ref(probe)).runs;
    std::filesystem::remove(f.out / "fake" / "failure.schedule.toml");
    race.interrupt_at = found_at + 1;  // the second shrinking replay
    const ExploreResult result = explore_with(f.plan, f.options, std::ref(race));
    CHECK(result.code == ExitCode::Interrupted);
    CHECK(race.strict.empty());  // nothing replayed to show once stopped
    CHECK(race.seen.size() == static_cast<std::size_t>(found_at) + 2);
    const std::vector<int> saved = f.saved_steps();
    CHECK(FakeRace::interleaved(saved));
    CHECK(result.schedule_path.ends_with("/failure.schedule.toml"));
}

TEST_CASE("a failing run that deadlocked is headlined as a deadlock, with its cycle") {
    Fixture f;
    FakeRace race;
    race.steps = 4;
    race.deadlocks = true;
    const std::string out = (f.out / "stdout.txt").string();
    f.options.quiet = false;
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    FILE* file = std::fopen(out.c_str(), "w");
    REQUIRE(file);
    ::dup2(::fileno(file), STDOUT_FILENO);
    const ExploreResult result = explore_with(f.plan, f.options, std::ref(race));
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::fclose(file);
    CHECK(result.code == ExitCode::Failed);
    std::ifstream in(out);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find("fails: deadlock (cycle: a → b → a)") != std::string::npos);
}

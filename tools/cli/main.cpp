// simrun: the command line. Parses arguments, loads the scenario, and hands
// the plan to the run loop. Exit codes: util/exit_code.hpp.
#include "grade/batch.hpp"
#include "grade/grade_reports.hpp"
#include "util/version.hpp"
#include "simrun_commit.h"
#include "plan/planner.hpp"
#include "session/saved_run.hpp"
#include "scenario/diagnostic.hpp"
#include "session/explore.hpp"
#include "util/duration.hpp"
#include "run/registry.hpp"
#include "session/session.hpp"
#include "sched/schedule_file.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include <cstdlib>
#include <filesystem>
#include <ctime>
#include <unistd.h>

namespace {

using simrun::ExitCode;
using simrun::code_of;
constexpr int kExitUsage = code_of(ExitCode::Usage);

struct Options {
    simrun::RunOptions run;
    std::string color = "auto";
    bool no_sandbox = false;
    bool controlled = false, free = false;
    std::optional<std::uint64_t> seed;
    std::string strategy;
    int depth = 3;
    CLI::Option* depth_option = nullptr;
};

// A whole number from 0 to `max`, as written (CLI11 would take "-1" for an
// unsigned option as 2^64 - 1).
CLI::Validator whole_number(std::uint64_t max) {
    return CLI::Validator(
        [max](std::string& text) -> std::string {
            std::uint64_t v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v > max)
                return fmt::format("'{}' is not a whole number from 0 to {}", text, max);
            return {};
        },
        "0.." + std::to_string(max));
}

const CLI::Validator kNotEmpty(
    [](std::string& text) { return text.empty() ? std::string("an empty name is no folder") : std::string(); }, "DIR");

void output_options(CLI::App* app, Options& o) {
    app->add_option("--out", o.run.out_dir, "output folder; files go to OUT/<scenario>/")->check(kNotEmpty)->capture_default_str();
    app->add_flag("-q,--quiet", o.run.quiet, "no timeline: print only the outcome and failed expectations");
    app->add_flag("--perfetto", o.run.perfetto, "also write trace.perfetto.json (Chrome/Perfetto Trace Event Format) beside the trace");
    app->add_flag("--html", o.run.html, "also write timeline.html beside the trace: the run as one self-contained web page");
    app->add_flag("--stats", o.run.stats, "print where the time went: waits per object and per process, context switches");
    app->add_option("--events", o.run.max_events, "timeline lines to show on the terminal")
        ->check(whole_number(100'000'000))
        ->capture_default_str();
    app->add_option("--color", o.color, "colour the summary: auto, always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    app->add_flag("--no-sandbox", o.no_sandbox, "run without namespaces (objects are still removed at exit)");
}

void schedule_options(CLI::App* app, Options& o, const char* default_strategy, const std::vector<std::string>& strategies) {
    o.strategy = default_strategy;
    // Seeds are written into schedule files as TOML integers: at most 2^63 - 1.
    app->add_option("--seed", o.seed, "seed of the scheduling strategy (default: drawn and printed)")
        ->check(whole_number(static_cast<std::uint64_t>(INT64_MAX)));
    app->add_option("--strategy", o.strategy, "controlled scheduling: " + fmt::format("{}", fmt::join(strategies, ", ")))
        ->check(CLI::IsMember(strategies))
        ->capture_default_str();
    o.depth_option =
        app->add_option("--depth", o.depth, "PCT bug depth d (d-1 priority change points)")->check(CLI::Range(1, 100))->capture_default_str();
}

// Options that make sense only together, checked after parsing.
bool consistent(const Options& o) {
    if (o.depth_option && o.depth_option->count() > 0 && o.strategy != "pct") {
        fmt::print(stderr, "simrun: error: --depth is PCT's bug depth; it means nothing with --strategy {}\n", o.strategy);
        return false;
    }
    return true;
}

int load(const std::string& path, simrun::Plan& plan, const simrun::PlanOptions& po = {}) {
    auto loaded = simrun::load_plan(path, po);
    if (!loaded) {
        fmt::print(stderr, "{}", loaded.error());
        return kExitUsage;
    }
    plan = std::move(loaded.value());
    return 0;
}

void finish_options(Options& o, const simrun::Plan& plan) {
    o.run.namespaces = !o.no_sandbox;
    o.run.color = o.color == "always" || (o.color == "auto" && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR"));
    // replay has no --strategy (the schedule file's steps decide).
    if (auto kind = simrun::parse_strategy(o.strategy)) o.run.strategy.kind = *kind;
    o.run.strategy.depth = o.depth;
    // Drawn from the clock when not given: every run prints its seed, so any run can be repeated.
    if (!o.seed) o.seed = plan.seed;
    o.run.strategy.seed = o.seed ? *o.seed : (static_cast<std::uint64_t>(std::time(nullptr)) * 2654435761u ^ getpid()) % 1000000;
}

// The class's files in OUT: gradebook.csv, class.json; the histogram on the terminal.
void write_class(const simrun::GradedAssignment& a, const std::vector<simrun::GradedSubmission>& graded, const std::string& out, int shard,
                 int shards) {
    simrun::write_text_file(out + "/gradebook.csv", simrun::gradebook_csv(a, graded));
    simrun::write_text_file(out + "/class.json", simrun::class_json(a, graded, shard, shards));
    std::vector<double> totals;
    for (const auto& s : graded) totals.push_back(s.score);
    if (graded.size() > 1) fmt::print("{}", simrun::histogram(totals, a.points));
    fmt::print("{} submission{} graded: {}/gradebook.csv, {}/class.json\n", graded.size(), graded.size() == 1 ? "" : "s", out, out);
}

struct GradeArgs {
    std::string file;
    std::vector<std::string> submissions;
    simrun::BatchOptions batch;
    std::string shard;  // "I/N"
    bool no_sandbox = false;
};

// simrun grade: the submissions (this shard's slice), -j at a time; a table
// each as it is graded, the reports in OUT/<submission>/, the class's in
// OUT. Exit 0 once all are graded, whatever they scored; 2 for a bad
// grading file or option (nothing runs).
int grade_all(GradeArgs args) {
    int shard = 0, shards = 1;
    if (!args.shard.empty()) {
        char slash = 0, extra = 0;
        if (std::sscanf(args.shard.c_str(), "%d%c%d%c", &shard, &slash, &shards, &extra) != 3 || slash != '/' || shards < 1 || shard < 0 ||
            shard >= shards) {
            fmt::print(stderr, "simrun: error: --shard is I/N with 0 <= I < N (the I-th of N slices, from 0), not '{}'\n", args.shard);
            return kExitUsage;
        }
    }
    if (args.submissions.empty()) {
        fmt::print(stderr, "simrun: error: grade needs a grading file and at least one submission folder\n");
        return kExitUsage;
    }
    auto g = simrun::read_grading_file(args.file);
    if (!g) {
        fmt::print(stderr, "{}", g.error());
        return kExitUsage;
    }
    args.batch.grade.namespaces = !args.no_sandbox;
    const std::string out = args.batch.grade.out_dir;
    if (out.empty()) {
        fmt::print(stderr, "simrun: error: --out cannot be empty\n");
        return kExitUsage;
    }
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) {
        fmt::print(stderr, "simrun: error: cannot make {}: {}\n", out, ec.message());
        return kExitUsage;
    }
    args.batch.progress = isatty(STDERR_FILENO);
    const auto subs = simrun::batch_order(args.submissions, shard, shards);
    const auto graded = simrun::grade_batch(g.value(), subs, args.batch, [](const simrun::GradedSubmission& s) { fmt::print("{}", simrun::grade_table(s)); });
    write_class(simrun::graded_assignment(g.value()), graded, out, shard, shards);
    return 0;
}

// simrun grade merge DIR...: the shards' class.json combined into OUT.
int grade_merge(const std::vector<std::string>& dirs, const std::string& out) {
    auto merged = simrun::merge_classes(dirs);
    if (!merged) {
        fmt::print(stderr, "simrun: error: cannot merge: {}\n", merged.error());
        return kExitUsage;
    }
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec || out.empty()) {
        fmt::print(stderr, "simrun: error: cannot make {}: {}\n", out, ec ? ec.message() : "an empty name");
        return kExitUsage;
    }
    write_class(merged->assignment, merged->submissions, out, 0, 1);
    return 0;
}

}  // namespace

// `simrun exlpore x.toml`: a first word that is no command and no file is
// a mistyped command, not a scenario that cannot be read.
bool unknown_command(int argc, char** argv) {
    if (argc < 2 || argv[1][0] == '-') return false;
    const std::string word = argv[1];
    static const std::vector<std::string> kCommands = {"check", "explore", "replay", "view", "export", "grade", "clean"};
    std::error_code ec;
    if (std::find(kCommands.begin(), kCommands.end(), word) != kCommands.end() || std::filesystem::exists(word, ec) ||
        word.find('/') != std::string::npos || word.find('.') != std::string::npos)
        return false;
    fmt::print(stderr, "simrun: error: '{}' is no command ({}) and no scenario file{}\nRun with --help for more information.\n", word,
               fmt::join(kCommands, ", "), simrun::did_you_mean_suffix(word, kCommands));
    return true;
}

int main(int argc, char** argv) {
    if (unknown_command(argc, argv)) return kExitUsage;
    CLI::App app{"simrun: run Linux IPC scenarios with real processes, trace every operation, check expectations.\n"
                 "  simrun SCENARIO.toml [options]            run a scenario\n"
                 "  simrun check SCENARIO.toml                validate only, spawn nothing\n"
                 "  simrun explore SCENARIO.toml [options]    search schedules for a failing one\n"
                 "  simrun replay SCENARIO.toml SCHEDULE      re-run a recorded schedule exactly\n"
                 "  simrun view RUN [filters]                 show a saved run again (RUN: its output folder or trace.simrun)\n"
                 "  simrun export RUN --format jsonl|perfetto|html   write a saved run's trace, Perfetto file or web page\n"
                 "  simrun grade GRADE.toml SUBMISSION...     grade submissions (folders) with a grading file\n"
                 "  simrun grade merge DIR...                 combine graded shards into one gradebook\n"
                 "  simrun clean                              remove what runs killed without a sandbox left",
                 "simrun"};
    app.set_version_flag("--version", std::string("simrun ") + simrun::kSimrunVersion + " (commit " SIMRUN_COMMIT ")");
    app.require_subcommand(0, 1);

    Options run;
    std::string file;
    app.add_option("scenario", file, "scenario file (TOML)");
    output_options(&app, run);
    schedule_options(&app, run, "random", {"random", "pct", "rr"});
    auto* controlled = app.add_flag("--controlled", run.controlled, "schedule every step (deterministic for a seed)");
    app.add_flag("--free", run.free, "let the kernel schedule (the default)")->excludes(controlled);

    std::string check_file;
    auto* check = app.add_subcommand("check", "validate a scenario without running it");
    check->add_option("scenario", check_file, "scenario file (TOML)")->required();

    Options ex;
    std::string explore_file;
    simrun::ExploreOptions explore_opts;
    auto* explore = app.add_subcommand("explore", "run controlled schedules until an expectation fails; shrink and save it");
    explore->add_option("scenario", explore_file, "scenario file (TOML)")->required();
    explore->add_option("--runs", explore_opts.runs, "at most this many schedules")->check(CLI::Range(1, 100000000))->capture_default_str();
    output_options(explore, ex);
    // Round-robin has one schedule: nothing to explore.
    schedule_options(explore, ex, "pct", {"random", "pct"});
    bool exhaustive = false;
    explore->add_flag("--exhaustive", exhaustive, "every schedule with at most --preemptions preemptions (small scenarios)");
    explore->add_option("--preemptions", explore_opts.preemptions, "preemption bound for --exhaustive")->check(CLI::Range(0, 20))->capture_default_str();
    std::string shrink_time = "30s";
    explore->add_option("--shrink-time", shrink_time, "spend at most this long shrinking a failing schedule (0: do not shrink)")
        ->capture_default_str();

    Options rp;
    std::string replay_file, schedule_file;
    auto* replay = app.add_subcommand("replay", "re-run a schedule written by a controlled run or by explore");
    replay->add_option("scenario", replay_file, "scenario file (TOML)")->required();
    replay->add_option("schedule", schedule_file, "schedule file (TOML)")->required();
    output_options(replay, rp);

    std::string view_path;
    simrun::ViewOptions view_opts;
    std::string from_text, to_text, seq_text, view_color = "auto";
    auto* view = app.add_subcommand("view", "show a saved run (its output folder, trace.simrun or trace.jsonl) on the terminal again");
    view->add_option("run", view_path, "the run's output folder (OUT/<scenario>), its trace.simrun, or trace.jsonl beside it")->required();
    view->add_option("--proc", view_opts.procs, "only this process (a name takes its replicas and children); repeatable");
    view->add_option("--object", view_opts.objects, "only events on this object (a set, member, cell, queue, pipe); repeatable");
    view->add_option("--kind", view_opts.kinds, "only events of this trace kind (op, block, call, signal, spawn, exit, ...); repeatable");
    view->add_option("--from", from_text, "only events from this time on (since the run's start: 12ms, 1.5s; a bare number is ms)");
    view->add_option("--to", to_text, "only events up to this time");
    view->add_option("--seq", seq_text, "only events numbered A..B (the trace's seq; A.. or ..B)");
    auto* around = view->add_option("--around-failure", view_opts.around_failure,
                                    "the N events (default 40) up to where the first always expectation broke, else up to the end")
                       ->expected(0, 1)
                       ->default_str("40")
                       ->check(CLI::Range(1, 100000000));
    view->add_flag("--summary", view_opts.summary, "the outcome and the expectations only");
    view->add_flag("--stats", view_opts.stats, "then where the time went: waits per object and per process, context switches");
    view->add_option("--events", view_opts.max_events, "show at most N events")->check(CLI::Range(1, 100000000));
    view->add_option("--color", view_color, "colour the marks")->check(CLI::IsMember({"auto", "always", "never"}))->capture_default_str();

    std::string export_path, export_format, export_out = "-";
    auto* exporter = app.add_subcommand("export", "write a saved run again: its trace.jsonl, or the Perfetto / Chrome trace");
    exporter->add_option("run", export_path, "the run's output folder (OUT/<scenario>), its trace.simrun, or trace.jsonl beside it")->required();
    exporter->add_option("--format", export_format, "jsonl (trace-format.md), perfetto (the Trace Event Format) or html (the web page)")
        ->required()
        ->check(CLI::IsMember({"jsonl", "perfetto", "html"}));
    exporter->add_option("-o,--output", export_out, "where to write it (- for standard output)")->check(kNotEmpty)->capture_default_str();

    GradeArgs ga;
    auto* grade = app.add_subcommand("grade", "grade submission folders: build each, run the grading file's tests, score them, write reports");
    grade->add_option("grading", ga.file, "grading file (TOML, docs/grading-format.md)");
    grade->add_option("submissions", ga.submissions, "submission folders");
    grade->add_option("--out", ga.batch.grade.out_dir, "output folder; OUT/<submission>/ holds results.json, report.json and the runs")
        ->check(kNotEmpty)
        ->capture_default_str();
    grade->add_option("-j,--jobs", ga.batch.jobs, "grade this many submissions at a time")->check(CLI::Range(1, 256))->capture_default_str();
    grade->add_option("--shard", ga.shard, "grade the I-th of N slices of the submissions (0 <= I < N), as a job array does");
    grade->add_flag("--no-sandbox", ga.no_sandbox, "run without namespaces");
    std::vector<std::string> merge_dirs;
    std::string merge_out = "simrun-grade";
    auto* merge = grade->add_subcommand("merge", "combine the output folders of `simrun grade --shard` into one gradebook and class.json");
    merge->add_option("dirs", merge_dirs, "the shards' output folders")->required();
    merge->add_option("--out", merge_out, "where the merged gradebook.csv and class.json go")->check(kNotEmpty)->capture_default_str();

    auto* clean = app.add_subcommand("clean", "remove the processes, IPC objects and files of runs that were killed without a sandbox");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : kExitUsage;
    }

    if (clean->parsed()) {
        auto report = simrun::clean_crashed_runs();
        for (const auto& r : report.removed) fmt::print("removed {}\n", r);
        for (const auto& f : report.failed) fmt::print(stderr, "simrun: not removed: {}\n", f);
        fmt::print("{} crashed run{} cleaned ({}), {} item{} removed\n", report.runs, report.runs == 1 ? "" : "s",
                   simrun::registry_dir(), report.removed.size(), report.removed.size() == 1 ? "" : "s");
        return report.failed.empty() ? 0 : 1;
    }
    if (view->parsed()) {
        if (around->count() > 0 && !view_opts.around_failure) view_opts.around_failure = 40;
        if (!from_text.empty() && !(view_opts.from_ns = simrun::parse_view_time(from_text))) {
            fmt::print(stderr, "simrun: error: --from {}: not a time (12ms, 1.5s, 250us; a bare number is ms)\n", from_text);
            return kExitUsage;
        }
        if (!to_text.empty() && !(view_opts.to_ns = simrun::parse_view_time(to_text))) {
            fmt::print(stderr, "simrun: error: --to {}: not a time (12ms, 1.5s, 250us; a bare number is ms)\n", to_text);
            return kExitUsage;
        }
        if (!seq_text.empty() && !simrun::parse_seq_range(seq_text, view_opts.from_seq, view_opts.to_seq)) {
            fmt::print(stderr, "simrun: error: --seq {}: not a range of event numbers (100..200, 100.., ..200)\n", seq_text);
            return kExitUsage;
        }
        view_opts.color = view_color == "always" || (view_color == "auto" && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR"));
        return code_of(simrun::view_saved_run(view_path, view_opts, stdout));
    }
    if (exporter->parsed()) return code_of(simrun::export_saved_run(export_path, export_format, export_out));
    if (merge->parsed()) return grade_merge(merge_dirs, merge_out);
    if (grade->parsed()) return grade_all(ga);
    simrun::Plan plan;
    if (check->parsed()) {
        if (int rc = load(check_file, plan)) return rc;
        fmt::print("{}: ok ({} processes, {} ops, {} expectations)\n", check_file, plan.processes.size(), plan.ops.size(),
                   plan.expects.size());
        return 0;
    }
    if (explore->parsed()) {
        if (!consistent(ex)) return kExitUsage;
        if (int rc = load(explore_file, plan, {simrun::SchedMode::Controlled})) return rc;
        finish_options(ex, plan);
        explore_opts.run = ex.run;
        explore_opts.exhaustive = exhaustive;
        const auto shrink_ns = shrink_time == "0" ? std::optional<std::int64_t>(0) : simrun::parse_duration_ns(shrink_time);
        if (!shrink_ns || *shrink_ns < 0) {
            fmt::print(stderr, "simrun: error: --shrink-time {}: not a duration (30s, 2m, 500ms; 0 to keep the schedule as found)\n", shrink_time);
            return kExitUsage;
        }
        explore_opts.shrink_time_ns = *shrink_ns;
        return code_of(simrun::explore(plan, explore_opts).code);
    }
    if (replay->parsed()) {
        if (int rc = load(replay_file, plan, {simrun::SchedMode::Controlled})) return rc;
        auto schedule = simrun::read_schedule(schedule_file, plan);
        if (!schedule) {
            fmt::print(stderr, "{}", schedule.error());
            return kExitUsage;
        }
        finish_options(rp, plan);
        rp.run.strategy.seed = schedule->seed;
        rp.run.strict = &schedule->steps;
        return code_of(simrun::run_plan(plan, rp.run));
    }
    if (file.empty()) {
        fmt::print(stderr, "simrun: error: no scenario given\n{}", app.help());
        return kExitUsage;
    }
    if (!consistent(run)) return kExitUsage;
    simrun::PlanOptions po;
    if (run.controlled) po.mode = simrun::SchedMode::Controlled;
    if (run.free) po.mode = simrun::SchedMode::Free;
    if (int rc = load(file, plan, po)) return rc;
    finish_options(run, plan);
    return code_of(simrun::run_plan(plan, run.run));
}

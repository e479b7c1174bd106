// simrun: the command line. Parses arguments, loads the scenario, and hands
// the plan to the run loop. Exit codes: 0 expectations hold, 1 one failed,
// 2 bad scenario or command line (nothing spawned), 3 internal/sandbox error.
#include "plan/planner.hpp"
#include "run/supervisor.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <unistd.h>

namespace {

constexpr int kExitUsage = 2;

int load(const std::string& path, simrun::Plan& plan) {
    auto loaded = simrun::load_plan(path);
    if (!loaded) {
        fmt::print(stderr, "{}", loaded.error());
        return kExitUsage;
    }
    plan = std::move(loaded.value());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"simrun: run Linux IPC scenarios with real processes, trace every operation, check expectations.\n"
                 "  simrun SCENARIO.toml [options]     run a scenario\n"
                 "  simrun check SCENARIO.toml         validate only, spawn nothing",
                 "simrun"};
    app.set_version_flag("--version", "simrun 0.1.0");
    app.require_subcommand(0, 1);

    std::string file;
    simrun::RunOptions opt;
    std::string color = "auto";
    app.add_option("scenario", file, "scenario file (TOML)");
    app.add_option("--out", opt.out_dir, "output folder; the trace goes to OUT/<scenario>/trace.jsonl")->capture_default_str();
    app.add_flag("-q,--quiet", opt.quiet, "no timeline: print only the outcome and failed expectations");
    app.add_option("--events", opt.max_events, "timeline lines to show on the terminal")->capture_default_str();
    app.add_option("--color", color, "colour the summary: auto, always, never")->check(CLI::IsMember({"auto", "always", "never"}))->capture_default_str();
    bool no_sandbox = false;
    app.add_flag("--no-sandbox", no_sandbox, "run without namespaces (objects are still removed at exit)");

    std::string check_file;
    auto* check = app.add_subcommand("check", "validate a scenario without running it");
    check->add_option("scenario", check_file, "scenario file (TOML)")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : kExitUsage;
    }

    simrun::Plan plan;
    if (check->parsed()) {
        if (int rc = load(check_file, plan)) return rc;
        fmt::print("{}: ok ({} processes, {} ops, {} expectations)\n", check_file, plan.processes.size(), plan.ops.size(),
                   plan.expects.size());
        return 0;
    }
    if (file.empty()) {
        fmt::print(stderr, "simrun: error: no scenario given\n{}", app.help());
        return kExitUsage;
    }
    if (int rc = load(file, plan)) return rc;
    opt.namespaces = !no_sandbox;
    opt.color = color == "always" || (color == "auto" && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR"));
    return simrun::run_plan(plan, opt);
}

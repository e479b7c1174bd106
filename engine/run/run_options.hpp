// How to run a plan: the run loop's settings and what the run leaves
// (the trace, the terminal view). Plain data, filled by the command line.
#pragma once

#include "plan/plan.hpp"
#include "sched/strategy.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace simrun {

struct RunOptions {
    std::string out_dir = "simrun-out";  // the trace goes to OUT/<scenario>/trace.jsonl
    bool quiet = false;
    bool stats = false;  // --stats: the contention summary on the terminal
    bool perfetto = false;  // --perfetto: trace.perfetto.json beside the trace
    bool html = false;      // --html: timeline.html beside the trace
    bool namespaces = true;
    bool color = false;
    std::size_t max_events = 80;         // timeline lines on the terminal
    // Records per process ring (power of two): 1 MiB. The supervisor drains
    // a ring once it is about a quarter full (run/drain_pace.hpp), so a
    // writer meets a full ring only if the supervisor is late by three
    // quarters of it (the measurements behind the size: commit 733d3c3,
    // docs/scenario-format.md's cost section).
    std::uint32_t ring_capacity = 16384;
    std::int64_t deadlock_after_ns = 200'000'000;  // all blocked, no progress, this long
    // Controlled mode.
    StrategyConfig strategy;                   // kind, seed, depth (the rest is filled in per run)
    const std::vector<int>* strict = nullptr;  // replay: the steps the run must follow
    bool record_choices = false;               // exhaustive explore: who could take each step
    std::string replay_hint;                   // shown under the summary
    // What a run leaves: explore turns these off for all but the run it reports.
    bool write_trace = true;  // trace.jsonl (and schedule.toml in controlled mode)
    bool terminal = true;     // timeline and summary on stdout
};

// OUT/<scenario>: where the run's files go.
inline std::string scenario_out_dir(const Plan& plan, const RunOptions& options) { return options.out_dir + "/" + plan.name; }

}  // namespace simrun

// A saved run (trace.simrun) shown or written again without running it:
// `simrun view` and `simrun export`. The records go through the same
// decoder as after a run, so every output is the one the run made.
#pragma once

#include "util/exit_code.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace simrun {

struct ViewOptions {
    std::vector<std::string> procs;    // --proc: by name ("producer" takes its replicas and children)
    std::vector<std::string> objects;  // --object: ops on it, calls that name it
    std::vector<std::string> kinds;    // --kind: trace kinds (op, block, call, signal, spawn, exit, ...)
    std::optional<std::int64_t> from_ns, to_ns;     // --from / --to: times since the run's start
    std::optional<std::uint64_t> from_seq, to_seq;  // --seq A..B: event numbers (the trace's seq)
    std::optional<std::size_t> around_failure;      // --around-failure [N]: the N events up to the failure
    bool summary = false;                           // --summary: the outcome table only
    bool stats = false;                             // --stats: where the time went, after the outcome
    bool color = false;
    std::size_t max_events = SIZE_MAX;  // --events N
};

// Where a saved run is: PATH itself (trace.simrun), the trace.simrun beside a
// trace.jsonl, or in a run's output folder. "" and the error otherwise.
std::string find_saved_run(const std::string& path, std::string& error);

// The terminal view of a saved run, to out. Exit code: ok, usage (bad
// input), or failed when the saved run is cut short.
ExitCode view_saved_run(const std::string& path, const ViewOptions& options, std::FILE* out);

// trace.jsonl ("jsonl") or trace.perfetto.json ("perfetto") of a saved run,
// to out_path ("-": standard output).
ExitCode export_saved_run(const std::string& path, const std::string& format, const std::string& out_path);

// "12ms", "1.5s", "250us" or a bare number of ms, for --from/--to.
std::optional<std::int64_t> parse_view_time(const std::string& text);
// "100..200", "100.." or "..200", for --seq.
bool parse_seq_range(const std::string& text, std::optional<std::uint64_t>& from, std::optional<std::uint64_t>& to);

}  // namespace simrun

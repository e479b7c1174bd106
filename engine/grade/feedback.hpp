// What a failed run shows a student beyond the expectation that failed:
// the trace's lines before the failure, read back from the run's
// trace.jsonl, and a line diff of an output test's expected and actual text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace simrun {

struct TraceExcerpt {
    std::vector<std::string> lines;     // "#12 student/1 semop result=0 semid=0 sops=[#1 -1 SEM_UNDO]"
    std::vector<std::string> verdicts;  // each process's that was not ok: "student: time limit (cpu 2.0s)"
};

// The last `count` events of a trace up to event `upto` (every event when
// upto is 0), and the processes' verdicts from its run_end. Empty when the
// file cannot be read.
TraceExcerpt trace_before(const std::string& trace_path, std::uint64_t upto, std::size_t count);

// The event an `always` expectation's detail names ("... (event 17) ..."), or 0.
std::uint64_t event_named(const std::string& detail);

// Lines of `want` and `got` as a diff: "  same", "- expected", "+ got";
// at most `max_lines` lines, and "" when they are equal.
std::string line_diff(const std::string& want, const std::string& got, std::size_t max_lines = 40);

}  // namespace simrun

// The terminal view of a run: a per-process timeline (one column per
// process when they fit, one line per event otherwise), capped at a number
// of events, then a summary with the outcome and each expectation ✔/✘.
#pragma once

#include "check/checker.hpp"
#include "plan/plan.hpp"
#include "trace/run_result.hpp"
#include "trace/event_sink.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace simrun {

struct TerminalStyle {
    bool color = false;
    std::size_t max_events = 80;  // timeline lines to show; the trace has them all
    bool quiet = false;           // summary only: outcome, diagnosis, failed expectations
    bool note_hidden = true;      // say how many events were not shown
};

class Timeline : public EventSink {
public:
    Timeline(const Plan& plan, TerminalStyle style, std::FILE* out);
    // Before the run: the title and, for the timeline, the column heads.
    void header(bool sandboxed, const std::string& mode_line);
    void on_event(const Event& e) override;
    void summary(const RunResult& run, const std::vector<ExpectResult>& results, const std::string& trace_path,
                 const std::string& schedule_path = {}, const std::string& replay_hint = {});

private:
    void line(std::uint64_t ts, int proc, const std::string& text);
    const Plan& plan_;
    std::uint64_t t0_ = 0;  // from the RunStart event
    TerminalStyle style_;
    std::FILE* out_;
    bool columns_;
    std::string mode_line_;
    std::size_t width_ = 22;
    std::size_t shown_ = 0, hidden_ = 0;
    std::size_t children_ = 0;  // the children traced programs started (their fork, vfork, posix_spawn, system, popen)
};

// The trace's kind of an event: "op", "block", "call", "spawn", ... (trace-format.md).
const char* event_kind_name(const Event& e);

// The text of one event as the timeline shows it ("P slots.empty → 4"); "" for none.
std::string describe_event(const Plan& plan, const Event& e);

}  // namespace simrun

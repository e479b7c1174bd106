// The run as one self-contained web page (timeline.html): written beside the
// trace by --html and by `simrun export --format html`. No network: the
// page's script and style are inside it, and so is the run, as JSON in a
// <script type="application/json"> element: the timeline's shapes
// (TimelineShapes: tracks, slices, instants, flows, counters), every event
// of the trace, the run_start, expect and run_end lines, where `always`
// expectations broke, a deadlock's wait-for graph (its DOT text) and the
// command that shows the run again. The page (report/html/timeline.html)
// draws lanes per process with zoom and pan, a tooltip per event, the
// arrows, a plot per semaphore and cell, the wait-for graph, the failed
// expectations linked to their place, the contention tables.
#pragma once

#include "report/timeline_shapes.hpp"

#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

namespace simrun {

// What the page shows besides the events.
struct HtmlFacts {
    std::string start_line;               // trace.jsonl's run_start
    std::vector<std::string> tail_lines;  // its expect lines and run_end
    std::vector<AlwaysBreak> breaks;
    std::string deadlock_dot;  // "" when the run did not deadlock
    std::string replay;        // the command that shows this run again
};

class HtmlWriter : public TimelineShapes {
public:
    HtmlWriter(const Plan& plan, std::uint64_t t0, std::FILE* out);
    void on_event(const Event& e) override;
    // Writes the page; false if writing failed.
    bool finish(const HtmlFacts& facts);

private:
    void emit_track(int tid, const std::string& name, int order) override;
    void emit_slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked) override;
    void emit_instant(int tid, std::uint64_t ts, const std::string& name) override;
    void emit_counter(std::uint64_t ts, const std::string& name, std::int64_t value) override;
    void emit_flow(int from_tid, std::uint64_t from_ts, int to_tid, std::uint64_t to_ts, const char* cat) override;
    int text(const std::string& s);  // its index in the string table
    static void item(std::string& list, const std::string& json);
    std::FILE* file_;
    std::string strings_, tracks_, slices_, instants_, flows_, events_;
    std::unordered_map<std::string, int> string_index_;
    std::unordered_map<std::string, std::string> counters_;  // name -> its [ts, value] pairs
    std::vector<std::string> counter_order_;
};

// The command that shows a run again: `simrun replay SCENARIO RUN/schedule.toml`
// for a controlled run; `simrun view RUN` for a free one (the kernel
// scheduled it: it cannot be replayed).
std::string replay_command(const std::string& scenario_path, const std::string& run_dir, bool controlled);

// The page's text with the run's JSON put in (exposed for tests).
std::string html_page(const std::string& data_json);

}  // namespace simrun

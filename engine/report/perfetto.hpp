// The run as a Chrome / Perfetto trace (the Trace Event Format's JSON
// object form): written beside the trace by --perfetto as
// trace.perfetto.json and by `simrun export --format perfetto`, for
// ui.perfetto.dev or chrome://tracing (docs/viewing.md). The shapes come
// from TimelineShapes: one process (pid 1, the scenario), a thread track per
// simrun process with its name and sort index (M), complete slices (X),
// instants (i), counters (C), flows (s, f; bound to the enclosing slice).
// Written as it goes: memory stays flat.
#pragma once

#include "report/timeline_shapes.hpp"

#include <cstdio>

namespace simrun {

class PerfettoWriter : public TimelineShapes {
public:
    // Writes to out (not closed here); times count from t0, the run's start.
    PerfettoWriter(const Plan& plan, std::uint64_t t0, std::FILE* out);
    void on_event(const Event& e) override;
    // Ends the document (see TimelineShapes::close); false if writing failed.
    bool finish(const std::vector<AlwaysBreak>& breaks);

private:
    void emit_track(int tid, const std::string& name, int order) override;
    void emit_slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked) override;
    void emit_instant(int tid, std::uint64_t ts, const std::string& name) override;
    void emit_counter(std::uint64_t ts, const std::string& name, std::int64_t value) override;
    void emit_flow(int from_tid, std::uint64_t from_ts, int to_tid, std::uint64_t to_ts, const char* cat) override;
    void flush(bool all);
    std::FILE* file_;
    bool failed_ = false;
    std::string out_;
    std::uint64_t next_flow_ = 1;
};

}  // namespace simrun

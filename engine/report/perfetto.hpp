// The run as a Chrome / Perfetto trace (the Trace Event Format's JSON
// object form), one more consumer of the decoded events: written beside the
// trace by --perfetto as trace.perfetto.json and by `simrun export --format
// perfetto`, for ui.perfetto.dev or chrome://tracing (docs/viewing.md).
//
// One process (pid 1, the scenario) with a thread track per simrun process,
// named as declared ("producer#0", "student/1") and sorted by the fork tree
// (M events). Every op or call is a complete slice (X): a blocked P, recv,
// read or wait spans from where it blocked to where it went on and is
// marked blocked; signals, faults, deaths and SEM_UNDO at exit are instants
// (i), and so is the event where an `always` expectation first broke.
// Flows (s, f) go from the V that woke a blocked P to it, from a send to the
// receive that took it, from the write a blocked read got, from a kill or
// sigqueue to the handler it ran, and from a fork to the child's first
// event. Counter tracks (C) follow every semaphore value and shared-memory
// cell the trace knows. Written as it goes: memory stays flat.
#pragma once

#include "check/checker.hpp"
#include "plan/plan.hpp"
#include "trace/event_sink.hpp"

#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace simrun {

class PerfettoWriter : public EventSink {
public:
    // Writes to out (not closed here); times count from t0, the run's start
    // (as the trace's "t").
    PerfettoWriter(const Plan& plan, std::uint64_t t0, std::FILE* out);
    void on_event(const Event& e) override;
    // Closes slices still open (a process that ended blocked) at the last
    // event, marks where `always` expectations broke, ends the document.
    // False if writing failed.
    bool finish(const std::vector<AlwaysBreak>& breaks);

private:
    struct Mark {
        int tid = 0;
        std::uint64_t ts = 0;
    };
    int track(const Event& e);
    void slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked);
    void instant(int tid, std::uint64_t ts, const std::string& name);
    void counter(std::uint64_t ts, const std::string& name, std::int64_t value);
    void flow(const Mark& from, int tid, std::uint64_t ts, const char* cat);
    void script_op(int tid, const Event& e, const ev::ScriptOp& o);
    void call(int tid, const Event& e, const ev::Call& c);
    void signal_sent(std::int64_t from_pid, int signal, const Mark& here);
    void signal_handled(std::int64_t from_pid, int signal, int tid, std::uint64_t ts);
    void flush(bool all);
    std::uint64_t rel(std::uint64_t ts) const { return ts >= t0_ ? ts - t0_ : 0; }

    const Plan& plan_;
    std::FILE* file_;
    bool failed_ = false;
    std::uint64_t t0_ = 0, last_ts_ = 0;
    std::string out_;
    std::map<int, std::vector<std::uint64_t>> parked_;  // tid -> where its waits began (a handler's inside a wait's)
    std::map<int, std::uint64_t> last_slice_;         // tid -> its newest slice's start
    std::map<std::string, int> tid_by_name_;          // a track per process name
    std::map<std::int64_t, int> tid_of_pid_;
    std::map<int, std::int64_t> pid_of_tid_;
    std::map<std::int64_t, Mark> forks_;               // child pid -> the parent's fork, until the child shows
    std::map<std::pair<std::int64_t, int>, Mark> kills_;  // (sender pid, signal) -> its newest kill
    std::map<int, int> children_of_column_;           // for the sort order of programs' children
    std::map<std::string, Mark> last_release_;        // semaphore -> its newest V (or pipe -> newest write)
    std::map<std::string, std::deque<Mark>> sends_;   // queue -> sends not yet received
    std::uint64_t next_flow_ = 1;
};

}  // namespace simrun

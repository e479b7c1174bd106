// The run as shapes on a timeline, worked out once from the decoded events
// for every graphical view (the Perfetto file, the HTML page): a track per
// simrun process, named as declared ("producer#0", "student/1") and ordered
// by the fork tree; a slice per op or call (a blocked P, recv, read or wait
// spans from where it blocked to where it went on, marked blocked);
// instants for signals, faults, deaths, SEM_UNDO at exit and where an
// `always` expectation first broke; flows from the V that woke a blocked P
// ("wake"), a send to the receive that took it ("message"), the write a
// read got ("data"), a kill or sigqueue to the handler it ran ("signal"),
// a fork to the child's first event ("fork"); counters for every semaphore
// value and shared-memory cell. Times are ns since the run's start (the
// trace's t). A view derives from it and draws what it is handed.
#pragma once

#include "check/checker.hpp"
#include "plan/plan.hpp"
#include "trace/event_sink.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace simrun {

class TimelineShapes : public EventSink {
public:
    TimelineShapes(const Plan& plan, std::uint64_t t0);
    void on_event(const Event& e) override;

protected:
    // Slices still open (a process that ended blocked) closed at the last
    // event; instants where `always` expectations broke (tid 0: on no track).
    void close(const std::vector<AlwaysBreak>& breaks);
    virtual void emit_track(int tid, const std::string& name, int order) = 0;
    virtual void emit_slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked) = 0;
    virtual void emit_instant(int tid, std::uint64_t ts, const std::string& name) = 0;
    virtual void emit_counter(std::uint64_t ts, const std::string& name, std::int64_t value) = 0;
    virtual void emit_flow(int from_tid, std::uint64_t from_ts, int to_tid, std::uint64_t to_ts, const char* cat) = 0;
    int last_tid() const { return last_tid_; }  // the track of the event on_event last took (0: none)
    std::uint64_t rel(std::uint64_t ts) const { return ts >= t0_ ? ts - t0_ : 0; }
    const Plan& plan_;

private:
    struct Mark {
        int tid = 0;
        std::uint64_t ts = 0;
    };
    int track(const Event& e);
    void slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked);
    void flow(const Mark& from, int tid, std::uint64_t ts, const char* cat);
    void script_op(int tid, const Event& e, const ev::ScriptOp& o);
    void call(int tid, const Event& e, const ev::Call& c);
    void signal_sent(std::int64_t from_pid, int signal, const Mark& here);
    void signal_handled(std::int64_t from_pid, int signal, int tid, std::uint64_t ts);

    std::uint64_t t0_ = 0, last_ts_ = 0;
    int last_tid_ = 0;
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
};

}  // namespace simrun

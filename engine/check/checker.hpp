// Checks a run's expectations: `always` at every event of the merged stream
// (over the state the events show), `final` over the kernel's final state,
// `outcome` over how the run ended. Reads events, never processes.
#pragma once

#include "check/evaluator.hpp"
#include "plan/plan.hpp"
#include "trace/run_result.hpp"
#include "trace/event_sink.hpp"

#include <string>
#include <vector>

namespace simrun {

struct ExpectResult {
    std::string name;
    ExpectKind kind{};
    std::string text;    // the expression or outcome as written
    bool passed = false;
    std::string detail;  // values read, or where an `always` first broke
    bool implicit = false;  // the default "run completed" check
    double points = 0;      // grading: what passing it earns (the [[expect]]'s points)
    std::string want, seen; // stdout: the text wanted and the output (up to 64 KiB), for a diff
};

bool stdout_matches(const std::string& out, StdoutMatch how, const std::string& want);

// Where an `always` expectation first broke: the event that broke it.
struct AlwaysBreak {
    std::string expectation;
    std::uint64_t ts = 0;     // the event's time
    std::string proc;         // its process ("": the supervisor's)
};

class Checker : public EventSink {
public:
    explicit Checker(const Plan& plan);
    void on_event(const Event& e) override;
    const std::vector<AlwaysBreak>& breaks() const { return breaks_; }
    // Results for every expectation, plus the implicit outcome check when the
    // scenario states no outcome of its own.
    std::vector<ExpectResult> finish(const RunResult& run);

private:
    // Does an expectation ask how proc ended (verdict, exit or signal)?
    bool asks_how_it_ended(int proc) const;
    bool script_op(const ev::ScriptOp& op);
    bool program_call(const Event& e, const ev::Call& c);
    ValueView with_calls(ValueView v) const;
    void check_always(const Event& e);
    const Plan& plan_;
    std::vector<std::int64_t> cells_;
    std::vector<int> sems_;
    std::vector<int> status_;
    std::vector<std::int64_t> queues_;  // 2 per queue, replayed from send and recv
    std::vector<std::int64_t> psems_;   // POSIX semaphore values, as the ops recorded them
    std::vector<std::int64_t> received_;   // 65 per process: handler runs by signal
    std::vector<std::int64_t> op_counts_;  // per op: completed runs
    std::vector<std::int64_t> op_errors_;  // per op: failed runs
    std::vector<std::int64_t> op_errno_;   // per op: errno of the last failure
    std::vector<std::int64_t> call_counts_, call_errors_, call_errno_;  // per Plan::call_filters index
    std::vector<std::vector<std::uint64_t>> op_times_;  // per op named in a before(): its completions' event numbers
    std::vector<bool> timed_;
    std::vector<std::vector<std::pair<std::uint64_t, std::string>>> op_data_;  // per op named in a message()
    std::vector<bool> kept_;  // per op: named in a message()
    std::vector<std::pair<std::uint64_t, int>> op_status_;  // per op: its last completed wait (event number, raw status)
    std::vector<std::string> reading_;  // per `read ... all` op: what its read(2)s got so far, before EOF
    std::vector<std::string> stdout_;      // per process: captured output
    std::vector<std::string> broken_;  // per expectation: first violation ("" = none yet)
    std::vector<AlwaysBreak> breaks_;
    std::uint64_t t0_ = 0;
    std::int64_t zombies_left_ = 0;  // Reaped events and adopted exits
    std::uint64_t events_ = 0;
};

}  // namespace simrun

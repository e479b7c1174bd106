// Writes the merged event stream as trace.jsonl: one JSON object per line,
// schema "simrun-trace/3" (docs/trace-format.md). The first line is
// run_start, then every event, then one line per expectation and run_end.
// When the disk fills up (or another write error), the lines after the
// last whole one written are dropped and the trace still ends in run_end,
// marked cut_short with where it stops (earlier lines give way for it if
// need be): a reader never finds half a line.
#pragma once

#include "plan/plan.hpp"
#include "trace/run_result.hpp"
#include "trace/event_sink.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace simrun {

inline constexpr const char* kTraceSchema = "simrun-trace/3";

class JsonlWriter : public EventSink {
public:
    static Result<std::unique_ptr<JsonlWriter>> open(const std::string& path, const Plan& plan, const RunResult& run);
    // The trace of a saved run again (simrun export): its run_start line as
    // it was, times counted from t0; finish_with() writes the saved tail.
    static std::unique_ptr<JsonlWriter> again(UniqueFd fd, std::string path, const Plan& plan, std::uint64_t t0, const std::string& start_line);
    ~JsonlWriter() override = default;
    void on_event(const Event& e) override;
    void expectation(const std::string& name, ExpectKind kind, const std::string& text, bool passed,
                     const std::string& detail);
    Status finish(const RunResult& run);
    Status finish_with(const std::vector<std::string>& tail_lines);
    // What a saved run keeps of these lines (trace/trace_file.hpp): run_start,
    // and the expectation lines with run_end (as a whole trace has it).
    const std::string& start_line() const { return start_line_; }
    std::vector<std::string> tail_lines(const RunResult& run);

private:
    JsonlWriter(UniqueFd fd, std::string path, const Plan& plan, std::uint64_t t0) : fd_(std::move(fd)), path_(std::move(path)), plan_(plan), t0_(t0) {}
    void head(const char* kind, const Event& e);
    void script_op(const Event& e, const ev::ScriptOp& op);
    void flush_line();
    std::string end_line(const RunResult& run, const std::string& cut);  // run_end, with its newline
    bool write_out();                              // buf_ to the file; false (errno_ set) on failure
    // The line made for what is kept, at committed_, dropping earlier lines until it fits.
    bool write_last_line(const std::function<std::string()>& line_for_committed);
    std::uint64_t seq_before(std::uint64_t end) const;
    UniqueFd fd_;
    std::string path_;
    std::string buf_;                  // whole lines not yet written
    std::uint64_t buf_last_seq_ = 0;   // the seq of buf_'s last line
    std::uint64_t committed_ = 0;      // bytes of whole lines in the file
    std::uint64_t committed_seq_ = 0;  // the seq of its last line
    int errno_ = 0;                    // the first write error (0: none)
    const Plan& plan_;
    std::uint64_t t0_;
    std::uint64_t seq_ = 0;
    std::string line_;
    std::string start_line_;
    std::vector<std::string> expect_lines_;
};

// "SI_USER", "SI_QUEUE", "CLD_EXITED", ... for a signal's si_code.
std::string si_code_name(int sig, int code);
// ["SIGUSR1","SIGINT"] for a mask of bits sig-1.
std::string signal_list_json(std::uint64_t bits);

}  // namespace simrun

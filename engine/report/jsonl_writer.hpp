// Writes the merged event stream as trace.jsonl: one JSON object per line,
// schema "simrun-trace/3" (docs/trace-format.md). The first line is
// run_start, then every event, then one line per expectation and run_end.
#pragma once

#include "plan/plan.hpp"
#include "trace/run_result.hpp"
#include "trace/event_sink.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace simrun {

inline constexpr const char* kTraceSchema = "simrun-trace/3";

class JsonlWriter : public EventSink {
public:
    static Result<std::unique_ptr<JsonlWriter>> open(const std::string& path, const Plan& plan, const RunResult& run);
    ~JsonlWriter() override;
    void on_event(const Event& e) override;
    void expectation(const std::string& name, ExpectKind kind, const std::string& text, bool passed,
                     const std::string& detail);
    Status finish(const RunResult& run);

private:
    JsonlWriter(std::FILE* f, const Plan& plan, const RunResult& run) : f_(f), plan_(plan), t0_(run.t0) {}
    void head(const char* kind, const Event& e);
    void script_op(const Event& e, const ev::ScriptOp& op);
    void flush_line();
    std::FILE* f_;
    const Plan& plan_;
    std::uint64_t t0_;
    std::uint64_t seq_ = 0;
    std::string line_;
};

// "SI_USER", "SI_QUEUE", "CLD_EXITED", ... for a signal's si_code.
std::string si_code_name(int sig, int code);
// ["SIGUSR1","SIGINT"] for a mask of bits sig-1.
std::string signal_list_json(std::uint64_t bits);

}  // namespace simrun

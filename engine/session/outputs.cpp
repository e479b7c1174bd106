#include "session/outputs.hpp"

#include "report/contention.hpp"
#include "report/html_view.hpp"
#include "report/jsonl_writer.hpp"
#include "report/perfetto.hpp"
#include "report/wait_picture.hpp"
#include "util/unique_fd.hpp"
#include "sched/schedule_file.hpp"
#include "trace/decoder.hpp"
#include "trace/trace_file.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace simrun {
namespace {

// Decodes the records into every sink; says in the run's diagnosis when
// the trace is incomplete, or when the replayed semaphore values disagree
// with the kernel's.
void decode(const Plan& plan, RunOutput& out, const std::vector<EventSink*>& sinks, TraceFileWriter* saved) {
    RunResult& run = out.run;
    Decoder decoder(plan, run.sysv_names, out.semids);
    for (EventSink* s : sinks) decoder.add_sink(*s);
    auto merged = out.records->merge([&](const Record& r, std::string_view payload) {
        if (saved) saved->record(r, payload);
        decoder.on_record(r, payload);
    });
    run.events = decoder.events();
    if (decoder.damaged())
        run.diagnosis.push_back(fmt::format("note: {} trace record{} did not make sense (a program may have written over its trace ring) and {} skipped",
                                            decoder.damaged(), decoder.damaged() == 1 ? "" : "s", decoder.damaged() == 1 ? "was" : "were"));
    if (!merged && run.trace_cut.empty()) run.trace_cut = merged.error().message;
    if (!run.trace_cut.empty()) run.diagnosis.push_back("the trace is incomplete: " + run.trace_cut);
    // A set a process removed (IPC_RMID) has no final value to compare.
    bool drift = false;
    for (std::size_t i = 0; i < run.sems.size(); ++i) drift = drift || (run.sems[i] >= 0 && run.sems[i] != decoder.sem_values()[i]);
    if (drift)
        run.diagnosis.push_back(run.outcome == Outcome::Completed
                                    ? "note: semaphore values replayed from the trace differ from the kernel's final values"
                                    : "note: semaphore values replayed from the trace differ from the kernel's final values (a process killed as the "
                                      "run was stopped can have made its last call without recording it)");
}

ExitCode fail(const std::string& message) {
    fmt::print(stderr, "simrun: error: {}\n", message);
    return ExitCode::Internal;
}

ExitCode write_outputs(const Plan& plan, const RunOptions& opt, RunOutput& out, Timeline& timeline, RunReport& report) {
    const std::string out_dir = scenario_out_dir(plan, opt);
    const std::string trace_path = opt.write_trace ? out_dir + "/trace.jsonl" : "/dev/null";
    RunResult& run = out.run;
    if (opt.write_trace)
        if (auto line = write_wait_picture(out_dir, run.wait_for_dot); !line.empty()) run.diagnosis.push_back(std::move(line));
    auto writer = JsonlWriter::open(trace_path, plan, run);
    if (!writer) return fail(writer.error().message);
    Checker checker(plan);
    Contention contention(plan);
    std::vector<EventSink*> sinks{&checker, &contention, writer->get(), &timeline};
    const std::string perfetto_path = out_dir + "/trace.perfetto.json";
    if (opt.write_trace) (void)::unlink(perfetto_path.c_str());  // an earlier run's
    UniqueFile perfetto_file;
    std::optional<PerfettoWriter> perfetto;
    if (opt.perfetto && opt.write_trace) {
        perfetto_file.reset(std::fopen(perfetto_path.c_str(), "we"));
        if (!perfetto_file) return fail(fmt::format("cannot write {}: {}", perfetto_path, std::strerror(errno)));
        sinks.push_back(&perfetto.emplace(plan, run.t0, perfetto_file.get()));
    }
    const std::string html_path = out_dir + "/timeline.html";
    if (opt.write_trace) (void)::unlink(html_path.c_str());
    UniqueFile html_file;
    std::optional<HtmlWriter> html;
    if (opt.html && opt.write_trace) {
        html_file.reset(std::fopen(html_path.c_str(), "we"));
        if (!html_file) return fail(fmt::format("cannot write {}: {}", html_path, std::strerror(errno)));
        sinks.push_back(&html.emplace(plan, run.t0, html_file.get()));
    }
    // The records again, for simrun view and export (trace/trace_file.hpp).
    const std::string saved_path = out_dir + "/trace.simrun";
    std::unique_ptr<TraceFileWriter> saved;
    // It comes second to trace.jsonl: when it cannot be written (a full
    // disk) the run says so and trace.jsonl still gets what fits.
    std::string saved_error;
    if (opt.write_trace) {
        auto w = TraceFileWriter::open(saved_path, {plan.path, plan.source, plan.mode == SchedMode::Controlled, run.t0, run.sysv_names, out.semids,
                                                    (*writer)->start_line()});
        if (w) saved = std::move(w.value());
        else saved_error = w.error().message;
    }
    decode(plan, out, sinks, saved.get());
    std::vector<Contention::Usage> usage;  // per declared process, from its rusage
    for (const auto& p : run.procs) usage.push_back({p.nvcsw, p.nivcsw, p.nvcsw >= 0 ? static_cast<std::int64_t>(p.cpu_ns) : -1});
    run.contention_json = contention.json(usage);
    if (perfetto && !perfetto->finish(checker.breaks())) return fail(fmt::format("cannot write {}: {}", perfetto_path, std::strerror(errno)));
    report.results = checker.finish(run);
    report.diagnosis = run.diagnosis;
    for (const auto& e : report.results) (*writer)->expectation(e.name, e.kind, e.text, e.passed, e.detail);
    if (saved)
        if (auto st = saved->finish((*writer)->tail_lines(run), run.wait_for_dot); !st) saved_error = st.error().message;
    if (!saved_error.empty()) {
        saved.reset();                       // closed, so that removing it frees its room for trace.jsonl's end
        (void)::unlink(saved_path.c_str());  // half a saved run: view and export would show less than trace.jsonl has
        fmt::print(stderr, "simrun: error: the saved run (for simrun view and export) could not be written: {}\n", saved_error);
    }
    if (html && !html->finish({(*writer)->start_line(), (*writer)->tail_lines(run), checker.breaks(), run.wait_for_dot,
                               replay_command(plan.path, out_dir, plan.mode == SchedMode::Controlled)}))
        return fail(fmt::format("cannot write {}: {}", html_path, std::strerror(errno)));
    if (auto st = (*writer)->finish(run); !st || !run.trace_cut.empty()) {
        const ExitCode code = fail(!st ? st.error().message : "the trace is incomplete: " + run.trace_cut);
        if (opt.terminal) timeline.summary(run, report.results, trace_path);
        return code;
    }
    std::string schedule_path;
    if (plan.mode == SchedMode::Controlled && opt.write_trace) {
        schedule_path = out_dir + "/schedule.toml";
        Schedule sched{opt.strict ? "replay" : strategy_name(opt.strategy.kind), opt.strategy.seed, opt.strategy.depth, report.schedule,
                       report.children};
        if (auto st = write_schedule(schedule_path, plan, sched); !st) return fail(st.error().message);
    }
    if (opt.terminal) timeline.summary(run, report.results, trace_path, schedule_path, opt.replay_hint);
    if (opt.terminal && opt.stats) {
        for (const auto& line : contention.lines(usage)) fmt::print("{}\n", line);
    }
    report.passed = true;
    for (const auto& e : report.results) report.passed = report.passed && e.passed;
    if (!saved_error.empty()) return ExitCode::Internal;
    if (!report.divergence.empty()) return ExitCode::Usage;
    if (run.outcome == Outcome::Interrupted) return ExitCode::Interrupted;
    return report.passed ? ExitCode::Ok : ExitCode::Failed;
}

}  // namespace

void report_run(const Plan& plan, const RunOptions& options, RunOutput& out, Timeline& timeline, RunReport& report) {
    report.outcome = out.run.outcome;
    report.schedule = std::move(out.schedule);
    report.choices = std::move(out.choices);
    report.divergence = std::move(out.divergence);
    report.children = std::move(out.children);
    report.exit_code = write_outputs(plan, options, out, timeline, report);
}

}  // namespace simrun

#include "session/saved_run.hpp"

#include "check/checker.hpp"
#include "plan/planner.hpp"
#include "report/contention.hpp"
#include "report/html_view.hpp"
#include "report/jsonl_writer.hpp"
#include "report/perfetto.hpp"
#include "report/timeline.hpp"
#include "trace/decoder.hpp"
#include "trace/trace_file.hpp"
#include "util/duration.hpp"
#include "util/json_value.hpp"
#include "util/unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <optional>

namespace simrun {
namespace {

bool is_dir(const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

bool run_level(const Event& e) { return std::holds_alternative<ev::RunStart>(e.body) || std::holds_alternative<ev::RunEnd>(e.body); }

// A saved run opened and planned again.
struct Loaded {
    TraceFileReader reader;
    Plan plan;
    std::string file;  // the trace.simrun read
};

std::optional<Loaded> load(const std::string& path) {
    std::string error;
    const std::string file = find_saved_run(path, error);
    if (file.empty()) {
        fmt::print(stderr, "simrun: error: {}\n", error);
        return std::nullopt;
    }
    auto reader = TraceFileReader::open(file);
    if (!reader) {
        fmt::print(stderr, "simrun: error: {}\n", reader.error());
        return std::nullopt;
    }
    PlanOptions po;
    po.mode = reader->meta().controlled ? SchedMode::Controlled : SchedMode::Free;
    po.check_files = false;  // its input files may be gone; nothing runs
    auto plan = load_plan_source(reader->meta().path, reader->meta().source, po);
    if (!plan) {
        fmt::print(stderr, "simrun: error: {}: the scenario it saved does not plan again:\n{}", file, plan.error());
        return std::nullopt;
    }
    return Loaded{std::move(reader.value()), std::move(plan.value()), file};
}

// Returns how many records made no sense (skipped).
std::uint64_t decode(Loaded& l, const std::vector<EventSink*>& sinks) {
    Decoder decoder(l.plan, l.reader.meta().names, l.reader.meta().semids);
    for (EventSink* s : sinks) decoder.add_sink(*s);
    l.reader.records([&](const Record& r, std::string_view payload) { decoder.on_record(r, payload); });
    return decoder.damaged();
}

std::string damaged_note(std::uint64_t n) {
    return fmt::format("{} record{} of the saved run made no sense (a damaged file?) and {} skipped", n, n == 1 ? "" : "s", n == 1 ? "was" : "were");
}

// Numbers events as the trace does (seq, run_start and run_end aside) and
// finds the first where an `always` broke.
class Counter : public EventSink {
public:
    explicit Counter(const Checker& checker) : checker_(checker) {}
    void on_event(const Event& e) override {
        if (run_level(e)) return;
        ++seq_;
        if (!broke_ && !checker_.breaks().empty()) broke_ = seq_;
    }
    std::uint64_t seq_ = 0, broke_ = 0;

private:
    const Checker& checker_;
};

// Passes on to the timeline the events the options ask for.
class Filter : public EventSink {
public:
    Filter(const Plan& plan, const ViewOptions& o, std::uint64_t t0, EventSink& next) : plan_(plan), o_(o), t0_(t0), next_(next) {}
    void on_event(const Event& e) override {
        if (run_level(e)) return next_.on_event(e);
        ++seq_;
        if (wanted(e)) next_.on_event(e);
    }

private:
    bool wanted(const Event& e) const {
        if (o_.from_seq && seq_ < *o_.from_seq) return false;
        if (o_.to_seq && seq_ > *o_.to_seq) return false;
        const std::int64_t t = static_cast<std::int64_t>(e.ts >= t0_ ? e.ts - t0_ : 0);
        if (o_.from_ns && t < *o_.from_ns) return false;
        if (o_.to_ns && t > *o_.to_ns) return false;
        if (!o_.kinds.empty() && std::find(o_.kinds.begin(), o_.kinds.end(), event_kind_name(e)) == o_.kinds.end()) return false;
        if (!o_.procs.empty()) {
            const std::string name = e.proc.name ? *e.proc.name : "supervisor";
            auto match = [&](const std::string& p) {
                return name == p || (name.size() > p.size() && name.compare(0, p.size(), p) == 0 && (name[p.size()] == '#' || name[p.size()] == '/'));
            };
            if (std::none_of(o_.procs.begin(), o_.procs.end(), match)) return false;
        }
        if (!o_.objects.empty()) {
            std::string target;
            if (auto* op = std::get_if<ev::ScriptOp>(&e.body)) target = op_target(plan_, *op->op);
            const std::string text = describe_event(plan_, e);
            auto match = [&](const std::string& obj) {
                if (!target.empty() && (target == obj || target.rfind(obj + ".", 0) == 0 || obj.rfind(target + ".", 0) == 0)) return true;
                // A call's text names the object ("semop(slots …)", "msgrcv(requests …)").
                for (std::size_t at = text.find(obj); at != std::string::npos; at = text.find(obj, at + 1)) {
                    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
                    if ((at == 0 || !word(text[at - 1])) && (at + obj.size() == text.size() || !word(text[at + obj.size()]))) return true;
                }
                return false;
            };
            if (std::none_of(o_.objects.begin(), o_.objects.end(), match)) return false;
        }
        return true;
    }
    const Plan& plan_;
    const ViewOptions& o_;
    std::uint64_t t0_;
    EventSink& next_;
    std::uint64_t seq_ = 0;
};

std::optional<Outcome> outcome_of(const std::string& name) {
    for (Outcome o : {Outcome::Completed, Outcome::Deadlock, Outcome::Timeout, Outcome::Interrupted, Outcome::TraceLimit, Outcome::Livelock})
        if (name == outcome_name(o)) return o;
    return std::nullopt;
}

std::optional<Verdict> verdict_of(const std::string& name) {
    for (int v = 0; v <= static_cast<int>(Verdict::Stopped); ++v)
        if (name == verdict_name(static_cast<Verdict>(v))) return static_cast<Verdict>(v);
    return std::nullopt;
}

// The run's outcome and expectations as the saved tail has them.
void read_tail(const Plan& plan, const std::vector<std::string>& tail, std::uint64_t t0, RunResult& run, std::vector<ExpectResult>& results) {
    run.t0 = run.t_end = t0;
    run.procs.resize(plan.processes.size());
    for (const auto& line : tail) {
        auto v = parse_json(line);
        if (!v) continue;
        const JsonValue& j = v.value();
        if (j["kind"].str() == "expect") {
            ExpectResult r;
            r.name = j["name"].str();
            const std::string type = j["type"].str();
            r.kind = type == "final" ? ExpectKind::Final : type == "always" ? ExpectKind::Always : type == "stdout" ? ExpectKind::Stdout : ExpectKind::Outcome;
            r.text = j["expr"].str();
            r.passed = j["passed"].boolean();
            r.detail = j["detail"].str();
            results.push_back(std::move(r));
        } else if (j["kind"].str() == "run_end") {
            run.outcome = outcome_of(j["outcome"].str()).value_or(Outcome::Completed);
            run.t_end = t0 + j["t"].whole();
            run.events = j["events"].whole();
            run.diagnosis = j["diagnosis"].strings();
            if (const std::string cut = j["cut_short"].str(); !cut.empty()) run.diagnosis.push_back("the trace is incomplete: " + cut);
            for (std::size_t p = 0; p < plan.processes.size(); ++p) {
                const JsonValue& pv = j["verdicts"][plan.processes[p].name];
                run.procs[p].verdict = verdict_of(pv["verdict"].str()).value_or(Verdict::Ok);
                run.procs[p].verdict_detail = pv["detail"].str();
            }
        }
    }
}

// "controlled · pct · seed 3 · depth 2" from run_start, as the run printed it.
std::string mode_line_of(const std::string& start_line, bool& sandboxed) {
    auto v = parse_json(start_line);
    if (!v) return {};
    const JsonValue& j = v.value();
    sandboxed = j["sandbox"].str() != "none";
    if (j["mode"].str() != "controlled") return {};
    const std::string strategy = j["strategy"].str();
    if (strategy.empty() || strategy == "replay") return "controlled · replay";
    std::string line = fmt::format("controlled · {} · seed {}", strategy, j["seed"].whole());
    if (strategy == "pct") line += fmt::format(" · depth {}", j["depth"].integer());
    return line;
}

// Standard output through $PAGER (less) when it is a terminal.
struct Pager {
    std::FILE* out = stdout;
    std::FILE* pipe = nullptr;
    explicit Pager(std::FILE* to) : out(to) {
        if (to != stdout || !::isatty(STDOUT_FILENO)) return;
        const char* env = std::getenv("PAGER");
        const std::string cmd = env && *env ? env : "less -FRX";
        if (cmd == "cat") return;
        std::signal(SIGPIPE, SIG_IGN);  // the reader may quit early
        pipe = ::popen(cmd.c_str(), "w");
        if (pipe) out = pipe;
    }
    ~Pager() {
        if (pipe) ::pclose(pipe);
    }
};

}  // namespace

std::string find_saved_run(const std::string& path, std::string& error) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (is_dir(p)) {
        if (exists(p + "/trace.simrun")) return p + "/trace.simrun";
        // An output folder with one run in it.
        std::vector<std::string> found;
        if (DIR* d = ::opendir(p.c_str())) {
            while (dirent* e = ::readdir(d))
                if (e->d_name[0] != '.' && exists(p + "/" + e->d_name + "/trace.simrun")) found.push_back(p + "/" + e->d_name + "/trace.simrun");
            ::closedir(d);
        }
        std::sort(found.begin(), found.end());
        if (found.size() == 1) return found[0];
        error = found.empty() ? fmt::format("{}: no saved run in this folder (no trace.simrun)", path)
                              : fmt::format("{}: {} saved runs in this folder; name one: {}", path, found.size(), fmt::join(found, ", "));
        return {};
    }
    if (p.size() > 6 && p.compare(p.size() - 6, 6, ".jsonl") == 0) {
        const std::size_t slash = p.rfind('/');
        const std::string beside = (slash == std::string::npos ? std::string() : p.substr(0, slash + 1)) + "trace.simrun";
        if (exists(beside)) return beside;
        error = fmt::format("{}: no trace.simrun beside it (view and export read the saved run the same run wrote)", path);
        return {};
    }
    if (!exists(p)) {
        error = fmt::format("{}: {}", path, std::strerror(ENOENT));
        return {};
    }
    return p;
}

std::optional<std::int64_t> parse_view_time(const std::string& text) {
    if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; })) {
        char* end = nullptr;
        const double ms = std::strtod(text.c_str(), &end);
        if (end && *end == '\0' && ms >= 0 && ms < 1e12) return static_cast<std::int64_t>(ms * 1e6);
        return std::nullopt;
    }
    return parse_duration_ns(text);
}

bool parse_seq_range(const std::string& text, std::optional<std::uint64_t>& from, std::optional<std::uint64_t>& to) {
    const std::size_t dots = text.find("..");
    if (dots == std::string::npos) return false;
    auto number = [](const std::string& s, std::optional<std::uint64_t>& out) {
        if (s.empty()) return true;
        if (s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) return false;
        out = std::stoull(s);
        return true;
    };
    return number(text.substr(0, dots), from) && number(text.substr(dots + 2), to) && (!from || !to || *from <= *to) && (from || to);
}

ExitCode view_saved_run(const std::string& path, const ViewOptions& options, std::FILE* to) {
    auto loaded = load(path);
    if (!loaded) return ExitCode::Usage;
    Loaded& l = *loaded;
    ViewOptions o = options;
    if (o.around_failure) {
        // First pass: where the first `always` broke, else the run's end.
        Checker checker(l.plan);
        Counter counter(checker);
        decode(l, {&checker, &counter});
        const std::uint64_t at = counter.broke_ ? counter.broke_ : counter.seq_;
        o.to_seq = at;
        o.from_seq = at >= *o.around_failure ? at - *o.around_failure + 1 : 1;
    }
    Pager pager(to);
    Timeline timeline(l.plan, TerminalStyle{o.color, o.summary ? 0 : o.max_events, false, !o.summary}, pager.out);
    bool sandboxed = true;
    const std::string mode = mode_line_of(l.reader.meta().start_line, sandboxed);
    timeline.header(sandboxed, mode);
    Filter filter(l.plan, o, l.reader.meta().t0, timeline);
    Contention contention(l.plan);  // of every event, whatever the filters show
    const std::uint64_t damaged = decode(l, {&filter, &contention});
    if (damaged) fmt::print(pager.out, " note: {}\n", damaged_note(damaged));
    RunResult run;
    std::vector<ExpectResult> results;
    read_tail(l.plan, l.reader.tail(), l.reader.meta().t0, run, results);  // read with the records
    if (!l.reader.cut().empty()) {
        fmt::print(pager.out, " note: {}\n", l.reader.cut());
        if (l.reader.tail().empty()) return ExitCode::Failed;
    }
    timeline.summary(run, results, l.file);
    if (o.stats) {
        std::vector<Contention::Usage> usage(l.plan.processes.size());
        auto known = [](const JsonValue& v) { return v.is_null() ? std::int64_t{-1} : static_cast<std::int64_t>(v.whole()); };
        for (const auto& line : l.reader.tail())
            if (auto v = parse_json(line); v && v.value()["kind"].str() == "run_end")
                for (const auto& p : v.value()["contention"]["processes"].items())
                    for (std::size_t i = 0; i < l.plan.processes.size(); ++i)
                        if (l.plan.processes[i].name == p["name"].str())
                            usage[i] = {known(p["voluntary_switches"]), known(p["involuntary_switches"]), known(p["cpu_ns"])};
        for (const auto& line : contention.lines(usage)) fmt::print(pager.out, "{}\n", line);
    }
    bool passed = l.reader.cut().empty();
    for (const auto& r : results) passed = passed && r.passed;
    return passed ? ExitCode::Ok : ExitCode::Failed;
}

ExitCode export_saved_run(const std::string& path, const std::string& format, const std::string& out_path) {
    auto loaded = load(path);
    if (!loaded) return ExitCode::Usage;
    Loaded& l = *loaded;
    const bool to_stdout = out_path.empty() || out_path == "-";
    UniqueFd fd(to_stdout ? ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3) : ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) {
        fmt::print(stderr, "simrun: error: cannot write {}: {}\n", to_stdout ? "standard output" : out_path, std::strerror(errno));
        return ExitCode::Internal;
    }
    bool ok = true;
    if (format == "jsonl") {
        auto writer = JsonlWriter::again(std::move(fd), to_stdout ? "standard output" : out_path, l.plan, l.reader.meta().t0, l.reader.meta().start_line);
        if (auto damaged = decode(l, {writer.get()})) fmt::print(stderr, "simrun: note: {}\n", damaged_note(damaged));
        if (auto st = writer->finish_with(l.reader.tail()); !st) {
            fmt::print(stderr, "simrun: error: {}\n", st.error().message);
            return ExitCode::Internal;
        }
    } else if (format == "html") {
        UniqueFile file(::fdopen(fd.release(), "w"));
        Checker checker(l.plan);
        HtmlWriter html(l.plan, l.reader.meta().t0, file.get());
        if (auto damaged = decode(l, {&checker, &html})) fmt::print(stderr, "simrun: note: {}\n", damaged_note(damaged));
        const std::size_t slash = l.file.rfind('/');
        const std::string dir = slash == std::string::npos ? "." : l.file.substr(0, slash);
        if (!html.finish({l.reader.meta().start_line, l.reader.tail(), checker.breaks(), l.reader.deadlock_dot(),
                          replay_command(l.reader.meta().path, dir, l.reader.meta().controlled)})) {
            fmt::print(stderr, "simrun: error: cannot write {}: {}\n", to_stdout ? "standard output" : out_path, std::strerror(errno));
            return ExitCode::Internal;
        }
    } else {
        UniqueFile file(::fdopen(fd.release(), "w"));
        Checker checker(l.plan);
        PerfettoWriter perfetto(l.plan, l.reader.meta().t0, file.get());
        if (auto damaged = decode(l, {&checker, &perfetto})) fmt::print(stderr, "simrun: note: {}\n", damaged_note(damaged));
        ok = perfetto.finish(checker.breaks());
        if (!ok) {
            fmt::print(stderr, "simrun: error: cannot write {}: {}\n", to_stdout ? "standard output" : out_path, std::strerror(errno));
            return ExitCode::Internal;
        }
    }
    if (!l.reader.cut().empty()) {
        fmt::print(stderr, "simrun: note: {}\n", l.reader.cut());
        return ExitCode::Failed;
    }
    return ExitCode::Ok;
}

}  // namespace simrun

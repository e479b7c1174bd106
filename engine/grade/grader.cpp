#include "grade/grader.hpp"

#include "grade/feedback.hpp"
#include "plan/planner.hpp"
#include "session/explore.hpp"
#include "session/session.hpp"
#include "util/duration.hpp"
#include "util/json.hpp"
#include "util/sha256.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace simrun {
namespace fs = std::filesystem;
namespace {

constexpr std::uintmax_t kMaxFileBytes = 16u << 20;  // a submission's file larger than this is not copied
constexpr std::size_t kMaxBuildOutput = 64u << 10;
constexpr const char* kBuildLog = ".simrun-build.log";

// A folder-safe name for a test: letters, digits, '-', '_'.
std::string slug(const std::string& name) {
    std::string out;
    for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
    return out;
}

// A folder name made of letters, digits, '-', '_' and '.' only, distinct for distinct names.
std::string safe_folder(const std::string& name) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    return fmt::format("{}-{:08x}", slug(name), static_cast<std::uint32_t>(h));
}

// A word for sh: quoted when it holds anything but letters, digits and /._-+=:,@
std::string shell_word(const std::string& s) {
    if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == std::string::npos) return s;
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string read_file(const fs::path& p, std::size_t limit) {
    std::ifstream in(p, std::ios::binary);
    std::string s(limit, '\0');
    in.read(s.data(), static_cast<std::streamsize>(limit));
    s.resize(static_cast<std::size_t>(in.gcount()));
    return s;
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

// Copies the submission's regular files and folders; a symlink or a file
// too large is left out and said so: nothing outside the submission is read.
void copy_submission(const fs::path& from, const fs::path& to, std::vector<std::string>& notes) {
    fs::create_directories(to);
    for (auto it = fs::recursive_directory_iterator(from, fs::directory_options::none); it != fs::recursive_directory_iterator(); ++it) {
        const fs::path rel = it->path().lexically_relative(from);  // not fs::relative: it follows links
        const auto st = it->symlink_status();
        if (fs::is_symlink(st)) {
            notes.push_back(fmt::format("{}: a symbolic link, not copied", rel.string()));
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        if (fs::is_directory(st)) {
            fs::create_directories(to / rel);
        } else if (fs::is_regular_file(st)) {
            if (fs::file_size(it->path()) > kMaxFileBytes) {
                notes.push_back(fmt::format("{}: larger than {} MiB, not copied", rel.string(), kMaxFileBytes >> 20));
                continue;
            }
            fs::copy_file(it->path(), to / rel, fs::copy_options::overwrite_existing);
        } else {
            notes.push_back(fmt::format("{}: not a regular file, not copied", rel.string()));
        }
    }
}

// The hash of a folder's regular files: each one's relative path, size and
// bytes, in sorted order of the paths.
std::string tree_sha256(const fs::path& root) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (fs::is_regular_file(e.symlink_status())) files.push_back(e.path().lexically_relative(root));
    std::sort(files.begin(), files.end());
    Sha256 h;
    for (const auto& f : files) {
        const std::string bytes = read_file(root / f, kMaxFileBytes);
        h.update(f.string()), h.update(std::string_view("\0", 1));
        h.update(std::to_string(bytes.size())), h.update(std::string_view("\0", 1));
        h.update(bytes);
    }
    return h.hex();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
    return s;
}

RunOptions run_options(const GradeOptions& options, const fs::path& out) {
    RunOptions o;
    o.out_dir = out.string();
    o.quiet = true;
    o.terminal = false;
    o.namespaces = options.namespaces;
    return o;
}

// The build, in the sandbox: the command through sh in the copy, its output kept in a log there.
bool build(const GradingFile& g, const fs::path& work, const fs::path& out, const GradeOptions& options, std::string& output) {
    const std::string text = fmt::format(R"([scenario]
name = "build"
timeout = "{}ms"
[[process]]
name = "build"
exec = ["/bin/sh", "-c", {}]
workdir = {}
trace = false
[[expect]]
final = "exit(build) == 0"
)",
                                         g.build_timeout_ns / 1'000'000,
                                         json_string(fmt::format("exec > {} 2>&1; {}", kBuildLog, g.build)), json_string(work.string()));
    const fs::path path = out / "build.toml";
    write_file(path, text);
    auto plan = load_plan_source(path.string(), text);
    if (!plan) {
        output = plan.error();
        return false;
    }
    const RunReport r = run_isolated(plan.value(), run_options(options, out));
    output = read_file(work / kBuildLog, kMaxBuildOutput);
    fs::remove(work / kBuildLog);
    if (!r.passed && r.outcome == Outcome::Timeout) output += fmt::format("\n(the build did not finish within {})", format_duration_ns(g.build_timeout_ns));
    return r.passed;
}

// The feedback of a failed run: what failed, the diff of an output test,
// and the trace's lines before the failure.
void describe_failure(const RunReport& r, const std::string& trace_path, RunGrade& run) {
    run.outcome = outcome_name(r.outcome);
    if (r.passed) return;
    run.diagnosis = r.diagnosis;
    std::uint64_t upto = 0;
    for (const auto& e : r.results) {
        if (e.passed || e.implicit) continue;
        if (!run.failed.empty()) continue;
        run.failed = fmt::format("{} ({}){}", e.name, e.text, e.detail.empty() ? "" : ": " + e.detail);
        run.diff = line_diff(e.want, e.seen);
        upto = event_named(e.detail);
    }
    if (run.failed.empty())
        for (const auto& e : r.results)
            if (!e.passed) {
                run.failed = fmt::format("{} ({}){}", e.name, e.text, e.detail.empty() ? "" : ": " + e.detail);
                break;
            }
    constexpr std::size_t kTraceLines = 10;
    auto excerpt = trace_before(trace_path, upto, kTraceLines);
    run.trace = std::move(excerpt.lines);
    run.verdicts = std::move(excerpt.verdicts);
}

RunGrade one_run(const Plan& plan, const GradeTest& t, std::size_t k, const fs::path& scenario, const fs::path& out,
                 const GradeOptions& options, bool& scored) {
    RunGrade run;
    run.controlled = !t.seeds.empty();
    RunOptions o = run_options(options, out / slug(t.name) / std::to_string(k + 1));
    if (run.controlled) {
        run.seed = t.seeds[k];
        o.strategy.seed = run.seed;
    }
    const RunReport r = run_isolated(plan, o);
    run.passed = r.passed;
    run.earned = run_fraction(r.results, r.passed, scored);
    describe_failure(r, o.out_dir + "/" + plan.name + "/trace.jsonl", run);
    if (run.controlled)
        run.again = fmt::format("simrun replay {} {}", shell_word(scenario.string()), shell_word(o.out_dir + "/" + plan.name + "/schedule.toml"));
    else
        run.again = fmt::format("simrun {}", shell_word(scenario.string()));
    return run;
}

// explore = {...}: one "run" that passes when no failing schedule is found.
RunGrade explore_run(const Plan& plan, const GradeTest& t, const fs::path& scenario, const fs::path& out, const GradeOptions& options,
                     bool& scored) {
    const ExploreSpec& x = *t.explore;
    ExploreOptions eo;
    eo.run = run_options(options, out / slug(t.name) / "explore");
    eo.run.strategy.kind = x.strategy == "random" ? StrategyKind::Random : StrategyKind::Pct;
    eo.run.strategy.depth = static_cast<int>(x.depth);
    eo.run.strategy.seed = x.seed;
    eo.runs = static_cast<int>(x.runs);
    eo.exhaustive = x.exhaustive;
    eo.preemptions = static_cast<int>(x.preemptions);
    eo.quiet = true;
    const ExploreResult res = explore(plan, eo);
    RunGrade run;
    run.controlled = true;
    run.explored = res.runs;
    run.seed = res.seed;
    run.passed = res.code == ExitCode::Ok;
    if (res.code == ExitCode::Failed) {
        run.earned = run_fraction(res.failing.results, false, scored);
        describe_failure(res.failing, eo.run.out_dir + "/" + plan.name + "/trace.jsonl", run);
        run.outcome = fmt::format("a failing schedule ({})", outcome_name(res.failing.outcome));
        run.again = fmt::format("simrun replay {} {}", shell_word(scenario.string()), shell_word(res.schedule_path));
    } else if (run.passed) {
        run.earned = 1;
        const bool all = x.exhaustive && res.runs < x.runs;
        run.outcome = fmt::format("no failing schedule in {} schedules{}", res.runs,
                                  all ? " (every one)" : x.exhaustive ? " (the budget ran out before every schedule was tried)" : "");
    } else {
        run.outcome = "explore could not run";
        run.again = fmt::format("simrun explore {}", shell_word(scenario.string()));
    }
    return run;
}

// The scenario a test runs: the teacher's, or the student's (a path in the
// copy), with {submission} filled in and the teacher's [[test.expect]]s appended.
// False, with why in `text`, when the submission lacks it.
bool test_scenario_text(const GradeTest& t, const fs::path& work, std::string& source, std::string& text, std::string& scenario_sha256) {
    source = t.scenario;
    if (t.student_scenario) {
        const std::string rel = t.scenario.substr(std::string(kSubmission).size() + 1);
        const fs::path p = work / rel;
        std::error_code ec;
        if (!fs::is_regular_file(fs::symlink_status(p, ec))) {
            text = fmt::format("the submission has no {}", rel);
            return false;
        }
        source = rel;
    }
    const fs::path from = t.student_scenario ? work / source : fs::path(t.scenario);
    std::ifstream in(from, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = replace_all(ss.str(), kSubmission, work.string());
    scenario_sha256 = t.student_scenario ? sha256_hex(ss.str()) : t.scenario_sha256;
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += t.expects;
    return true;
}

TestGrade grade_test(const GradeTest& t, const fs::path& work, const fs::path& out, const GradeOptions& options) {
    TestGrade tg;
    tg.test = &t;
    std::string source, text;
    const auto start = std::chrono::steady_clock::now();
    if (!test_scenario_text(t, work, source, text, tg.scenario_sha256)) {
        tg.reason = "not run: " + text;
        return tg;
    }
    const fs::path scenario = out / (slug(t.name) + ".toml");
    write_file(scenario, text);  // what the feedback's command runs
    PlanOptions po;
    po.mode = t.seeds.empty() && !t.explore ? SchedMode::Free : SchedMode::Controlled;
    auto plan = load_plan_source(t.student_scenario ? scenario.string() : t.scenario, text, po);
    if (!plan) {
        tg.reason = (t.student_scenario ? "the submission's " + source + " does not load:\n" : "the test's scenario does not load:\n") + plan.error();
        return tg;
    }
    bool scored = false;
    std::vector<double> earned;
    std::size_t passed = 0;
    if (t.explore) {
        tg.runs.push_back(explore_run(plan.value(), t, scenario, out, options, scored));
    } else {
        const std::size_t n = t.seeds.empty() ? static_cast<std::size_t>(t.runs) : t.seeds.size();
        for (std::size_t k = 0; k < n; ++k) tg.runs.push_back(one_run(plan.value(), t, k, scenario, out, options, scored));
    }
    for (const auto& r : tg.runs) passed += r.passed, earned.push_back(r.earned);
    tg.passed = passed == tg.runs.size();
    tg.score = scored ? test_score_by_expect(t.points, earned) : test_score(t.points, passed, tg.runs.size(), t.partial);
    tg.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return tg;
}

}  // namespace

double run_fraction(const std::vector<ExpectResult>& results, bool passed, bool& scored) {
    double total = 0, got = 0;
    for (const auto& e : results) {
        total += e.points;
        if (e.passed) got += e.points;
    }
    if (total <= 0) return passed ? 1 : 0;
    scored = true;
    return got / total;
}

double test_score_by_expect(double points, const std::vector<double>& earned) {
    if (earned.empty()) return 0;
    double sum = 0;
    for (double e : earned) sum += e;
    return points * sum / static_cast<double>(earned.size());
}

double test_score(double points, std::size_t passed, std::size_t runs, bool partial) {
    if (runs == 0) return 0;
    if (passed == runs) return points;
    return partial ? points * static_cast<double>(passed) / static_cast<double>(runs) : 0;
}

std::string TestGrade::feedback() const {
    if (!reason.empty()) return reason;
    std::size_t passed = 0;
    for (const auto& r : runs) passed += r.passed;
    std::string out;
    if (test->explore) {
        const ExploreSpec& x = *test->explore;
        const std::string how = x.exhaustive ? fmt::format("every schedule with at most {} preemptions", x.preemptions)
                                             : fmt::format("up to {} {} schedules", x.runs, x.strategy);
        out = runs.empty() ? "not explored" : fmt::format("explored {}: {}", how, runs[0].outcome);
        if (!runs.empty() && !runs[0].passed) out += fmt::format(" after {} schedule{}", runs[0].explored, runs[0].explored == 1 ? "" : "s");
    } else {
        out = fmt::format("{} of {} {} passed", passed, runs.size(), runs.size() == 1 ? "run" : "runs");
        if (!runs.empty() && runs[0].controlled) out += " (controlled, seeded)";
    }
    for (std::size_t k = 0; k < runs.size(); ++k) {
        const RunGrade& r = runs[k];
        if (r.passed) continue;
        if (!test->explore) out += fmt::format("\nrun {}{}: {}", k + 1, r.controlled ? fmt::format(" (seed {})", r.seed) : "", r.outcome);
        if (!r.failed.empty()) out += fmt::format("\n  failed: {}", r.failed);
        for (const auto& v : r.verdicts) out += "\n  " + v;
        constexpr std::size_t kLines = 12;  // the report's lines on how it ended: who waits for whom, held semaphores
        for (std::size_t i = 0; i < r.diagnosis.size() && i < kLines; ++i) out += "\n  " + r.diagnosis[i];
        if (r.diagnosis.size() > kLines) out += fmt::format("\n  ({} more lines in the run's trace)", r.diagnosis.size() - kLines);
        if (!r.diff.empty()) {
            out += "\n  the output, expected (-) and written (+):";
            for (std::size_t at = 0, nl; at < r.diff.size(); at = nl + 1) {
                nl = r.diff.find('\n', at);
                if (nl == std::string::npos) nl = r.diff.size();
                out += "\n    " + r.diff.substr(at, nl - at);
            }
        }
        if (!r.trace.empty()) {
            out += "\n  the trace before it:";
            for (const auto& line : r.trace) out += "\n    " + line;
        }
        out += fmt::format("\n  run it again: {}", r.again);
        break;  // the first failing run: the others fail alike, mostly
    }
    return out;
}

std::string TestGrade::headline() const {
    if (!reason.empty()) return reason.substr(0, reason.find('\n'));
    for (const auto& r : runs) {
        if (r.passed) continue;
        std::string out = r.outcome == "completed" ? std::string() : r.outcome + (r.failed.empty() ? "" : ": ");
        return out + r.failed.substr(0, r.failed.find(" ("));
    }
    return {};
}

std::string submission_name(const std::string& path) {
    fs::path from = fs::absolute(path).lexically_normal();
    if (from.filename().empty()) from = from.parent_path();
    std::string name = from.filename().string();
    return name.empty() || name == "." || name == ".." ? "submission" : name;
}

SubmissionGrade grade_submission(const GradingFile& g, const std::string& submission, const GradeOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    SubmissionGrade sg;
    // Named by its folder as an absolute path: "." or "sub/.." name the
    // folder they are, never one the output folder's name would climb out by.
    fs::path from = fs::absolute(submission).lexically_normal();
    if (from.filename().empty()) from = from.parent_path();
    sg.name = options.name.empty() ? submission_name(submission) : options.name;
    sg.path = submission;
    sg.max_score = g.points;
    std::error_code ec;
    const fs::path out = fs::absolute(fs::path(options.out_dir) / sg.name);
    // The copy's path goes into the tests' scenarios ({submission}): one a
    // student's folder name cannot break (quotes, brackets, newlines).
    const fs::path work = fs::absolute(fs::path(options.out_dir) / ".work" / safe_folder(sg.name));
    fs::remove_all(work, ec);
    fs::remove_all(out, ec);
    fs::create_directories(out, ec);
    for (const auto& t : g.tests) {
        TestGrade tg;
        tg.test = &t;
        tg.scenario_sha256 = t.scenario_sha256;
        sg.tests.push_back(std::move(tg));
    }
    auto give_up = [&](std::string why) {
        sg.problem = std::move(why);
        const std::string first = sg.problem.substr(0, sg.problem.find('\n'));
        for (auto& t : sg.tests) t.reason = "not run: " + first;
    };
    if (!fs::is_directory(from, ec)) {
        give_up(fmt::format("{} is not a folder", submission));
    } else if (fs::is_empty(from, ec)) {
        give_up(fmt::format("{} is empty", submission));
    } else {
        try {
            copy_submission(from, work, sg.notes);
            sg.sha256 = tree_sha256(work);
        } catch (const fs::filesystem_error& e) {
            give_up(fmt::format("the submission cannot be copied: {}", e.what()));
        }
    }
    if (sg.problem.empty()) {
        std::string missing;
        for (const auto& f : g.required)
            if (!fs::exists(work / f)) missing += (missing.empty() ? "" : ", ") + f;
        if (!missing.empty()) give_up("the submission has no " + missing);
    }
    if (sg.problem.empty() && !g.build.empty() && !build(g, work, out, options, sg.build_output))
        give_up("compile error: " + g.build + " failed:\n" + sg.build_output);
    if (sg.problem.empty()) {
        for (std::size_t i = 0; i < g.tests.size(); ++i) {
            const GradeTest& t = g.tests[i];
            if (!t.needs.empty()) {
                const TestGrade* need = nullptr;
                for (std::size_t j = 0; j < i; ++j)
                    if (g.tests[j].name == t.needs) need = &sg.tests[j];
                if (need && !need->passed) {
                    sg.tests[i].reason = fmt::format("not run: it needs test '{}' to pass first", t.needs);
                    continue;
                }
            }
            sg.tests[i] = grade_test(t, work, out, options);
        }
    }
    for (const auto& t : sg.tests) sg.score += t.score;
    sg.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return sg;
}

}  // namespace simrun

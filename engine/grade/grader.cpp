#include "grade/grader.hpp"

#include "plan/planner.hpp"
#include "session/session.hpp"
#include "util/duration.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

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

RunGrade one_run(const Plan& plan, const GradeTest& t, std::size_t k, const fs::path& scenario, const fs::path& out,
                 const GradeOptions& options) {
    RunGrade run;
    run.controlled = !t.seeds.empty();
    RunOptions o = run_options(options, out / slug(t.name) / std::to_string(k + 1));
    if (run.controlled) {
        run.seed = t.seeds[k];
        o.strategy.seed = run.seed;
    }
    const RunReport r = run_isolated(plan, o);
    run.passed = r.passed;
    run.outcome = outcome_name(r.outcome);
    if (!r.passed) run.diagnosis = r.diagnosis;
    for (const auto& e : r.results) {
        if (e.passed) continue;
        run.failed = fmt::format("{} ({}){}", e.name, e.text, e.detail.empty() ? "" : ": " + e.detail);
        break;
    }
    if (run.controlled)
        run.again = fmt::format("simrun replay {} {}", shell_word(scenario.string()), shell_word(o.out_dir + "/" + plan.name + "/schedule.toml"));
    else
        run.again = fmt::format("simrun {}", shell_word(scenario.string()));
    return run;
}

TestGrade grade_test(const GradeTest& t, const fs::path& work, const fs::path& out, const GradeOptions& options) {
    TestGrade tg;
    tg.test = &t;
    std::ifstream in(t.scenario, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = replace_all(ss.str(), "{submission}", work.string());
    const fs::path scenario = out / (slug(t.name) + ".toml");
    write_file(scenario, text);  // what the feedback's command runs
    PlanOptions po;
    po.mode = t.seeds.empty() ? SchedMode::Free : SchedMode::Controlled;
    auto plan = load_plan_source(t.scenario, text, po);
    if (!plan) {
        tg.reason = "the test's scenario does not load:\n" + plan.error();
        return tg;
    }
    const std::size_t n = t.seeds.empty() ? static_cast<std::size_t>(t.runs) : t.seeds.size();
    std::size_t passed = 0;
    for (std::size_t k = 0; k < n; ++k) {
        tg.runs.push_back(one_run(plan.value(), t, k, scenario, out, options));
        passed += tg.runs.back().passed;
    }
    tg.passed = passed == n;
    tg.score = test_score(t.points, passed, n, t.partial);
    return tg;
}

}  // namespace

double test_score(double points, std::size_t passed, std::size_t runs, bool partial) {
    if (runs == 0) return 0;
    if (passed == runs) return points;
    return partial ? points * static_cast<double>(passed) / static_cast<double>(runs) : 0;
}

std::string TestGrade::feedback() const {
    if (!reason.empty()) return reason;
    std::size_t passed = 0;
    for (const auto& r : runs) passed += r.passed;
    std::string out = fmt::format("{} of {} {} passed", passed, runs.size(), runs.size() == 1 ? "run" : "runs");
    if (!runs.empty() && runs[0].controlled) out += " (controlled, seeded)";
    for (std::size_t k = 0; k < runs.size(); ++k) {
        const RunGrade& r = runs[k];
        if (r.passed) continue;
        out += fmt::format("\nrun {}{}: {}", k + 1, r.controlled ? fmt::format(" (seed {})", r.seed) : "", r.outcome);
        if (!r.failed.empty()) out += fmt::format("\n  failed: {}", r.failed);
        constexpr std::size_t kLines = 12;  // the report's lines on how it ended: who waits for whom, held semaphores
        for (std::size_t i = 0; i < r.diagnosis.size() && i < kLines; ++i) out += "\n  " + r.diagnosis[i];
        if (r.diagnosis.size() > kLines) out += fmt::format("\n  ({} more lines in the run's trace)", r.diagnosis.size() - kLines);
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

SubmissionGrade grade_submission(const GradingFile& g, const std::string& submission, const GradeOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    SubmissionGrade sg;
    // Named by its folder as an absolute path: "." or "sub/.." name the
    // folder they are, never one the output folder's name would climb out by.
    fs::path from = fs::absolute(submission).lexically_normal();
    if (from.filename().empty()) from = from.parent_path();
    sg.name = from.filename().string();
    if (sg.name.empty() || sg.name == "." || sg.name == "..") sg.name = "submission";
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

#include "grade/batch.hpp"

#include "grade/grade_reports.hpp"
#include "util/json.hpp"
#include "util/version.hpp"

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace simrun {
namespace fs = std::filesystem;
namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string points(double p) { return fmt::format("{:g}", p); }

std::string short_time(double seconds) {
    const auto s = static_cast<long>(std::lround(seconds));
    return s >= 60 ? fmt::format("{}m{:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

// The bar: "[#####.....] 3/20 submissions · 45 runs · 2 failed tests · 1m12s left".
class Progress {
public:
    Progress(bool on, std::size_t total) : on_(on), total_(total), start_(std::chrono::steady_clock::now()) {}
    void update(std::size_t running) {
        if (!on_) return;
        constexpr std::size_t kWidth = 20;
        const std::size_t filled = total_ ? done_ * kWidth / total_ : kWidth;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        std::string left = done_ ? short_time(elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_)) + " left" : "…";
        fmt::print(stderr, "\r[{}{}] {}/{} submissions · {} running · {} runs · {} failed test{} · {}\x1b[K", std::string(filled, '#'),
                   std::string(kWidth - filled, '.'), done_, total_, running, runs_, failures_, failures_ == 1 ? "" : "s", left);
    }
    void add(const GradedSubmission& s) {
        ++done_;
        for (const auto& t : s.tests) runs_ += t.runs, failures_ += !t.passed;
    }
    void clear() {
        if (on_) fmt::print(stderr, "\r\x1b[K");
    }
    bool on() const { return on_; }

private:
    bool on_;
    std::size_t total_, done_ = 0, runs_ = 0, failures_ = 0;
    std::chrono::steady_clock::time_point start_;
};

// What the batch knows of a submission whose worker did not leave a report.
GradedSubmission lost(const GradingFile& g, const BatchSubmission& b, const std::string& why) {
    GradedSubmission s;
    s.name = b.name, s.path = b.path, s.max_score = g.points;
    s.problem = "the grader failed on this submission: " + why;
    for (const auto& t : g.tests) s.tests.push_back({t.name, 0, t.points, false, "not graded", 0, 0});
    return s;
}

GradedSubmission read_back(const GradingFile& g, const BatchSubmission& b, const std::string& out_dir, int status) {
    const std::string report = out_dir + "/" + b.name + "/report.json";
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return lost(g, b, WIFSIGNALED(status) ? fmt::format("its worker was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)))
                                              : fmt::format("its worker exited with {}", WEXITSTATUS(status)));
    auto s = read_grade_report(slurp(report));
    if (!s) return lost(g, b, report + ": " + s.error());
    s->report = fs::absolute(report).lexically_normal().string();
    return std::move(s.value());
}

}  // namespace

std::vector<BatchSubmission> batch_order(const std::vector<std::string>& paths, int shard, int shards) {
    std::vector<BatchSubmission> all;
    std::set<std::string> seen;
    for (const auto& p : paths) {
        const std::string key = fs::absolute(p).lexically_normal().string();
        if (seen.insert(key.size() > 1 && key.back() == '/' ? key.substr(0, key.size() - 1) : key).second)
            all.push_back({p, submission_name(p)});
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return std::tie(a.name, a.path) < std::tie(b.name, b.path); });
    std::map<std::string, int> count;
    std::set<std::string> names;
    for (const auto& s : all) names.insert(s.name);
    for (auto& s : all) {
        if (++count[s.name] == 1) continue;
        std::string name;
        for (int k = count[s.name];; ++k)
            if (name = fmt::format("{}-{}", s.name, k); !names.count(name)) break;
        names.insert(name);
        s.name = name;
    }
    std::vector<BatchSubmission> mine;
    for (std::size_t k = 0; k < all.size(); ++k)
        if (static_cast<int>(k % static_cast<std::size_t>(shards)) == shard) mine.push_back(all[k]);
    return mine;
}

void write_submission_reports(const GradingFile& g, const SubmissionGrade& s, const std::string& dir) {
    write_text_file(dir + "/results.json", gradescope_results(s));
    write_text_file(dir + "/junit.xml", junit_xml(g, s));
    write_text_file(dir + "/results.tap", tap_report(s));
    write_text_file(dir + "/prairielearn.json", prairielearn_results(s));
    write_text_file(dir + "/autolab.txt", autolab_output(s));
    write_text_file(dir + "/report.json", grade_report(g, s));  // last: the batch reads it as the sign that all are written
}

std::vector<GradedSubmission> grade_batch(const GradingFile& g, const std::vector<BatchSubmission>& subs, const BatchOptions& options,
                                          const std::function<void(const GradedSubmission&)>& done) {
    std::vector<GradedSubmission> graded(subs.size());
    std::map<pid_t, std::size_t> running;
    Progress progress(options.progress, subs.size());
    std::size_t next = 0;
    auto finish = [&](std::size_t i, const GradedSubmission& s) {
        graded[i] = s;
        progress.add(s);
        progress.clear();
        done(s);
        progress.update(running.size());
    };
    progress.update(0);
    while (next < subs.size() || !running.empty()) {
        while (next < subs.size() && running.size() < static_cast<std::size_t>(std::max(1, options.jobs))) {
            const std::size_t i = next++;
            std::error_code ec;
            fs::remove(options.grade.out_dir + "/" + subs[i].name + "/report.json", ec);
            std::fflush(stdout), std::fflush(stderr);
            const pid_t pid = fork();
            if (pid == 0) {
                // The worker: grades one submission, writes its reports, and is gone.
                GradeOptions o = options.grade;
                o.name = subs[i].name;
                const SubmissionGrade s = grade_submission(g, subs[i].path, o);
                write_submission_reports(g, s, o.out_dir + "/" + s.name);
                std::fflush(nullptr);
                _exit(0);
            }
            if (pid < 0) {
                finish(i, lost(g, subs[i], fmt::format("fork: {}", std::strerror(errno))));
                continue;
            }
            running[pid] = i;
            progress.update(running.size());
        }
        int status = 0;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;  // no children left that we know of
        }
        auto it = running.find(pid);
        if (it == running.end()) continue;
        const std::size_t i = it->second;
        running.erase(it);
        finish(i, read_back(g, subs[i], options.grade.out_dir, status));
    }
    progress.clear();
    return graded;
}

std::string grade_table(const GradedSubmission& s) {
    std::string out = fmt::format("{}: {} of {} points\n", s.name, points(s.score), points(s.max_score));
    if (!s.problem.empty()) out += fmt::format("  {}\n", s.problem.substr(0, s.problem.find('\n')));
    std::size_t width = 4;
    for (const auto& t : s.tests) width = std::max(width, t.name.size());
    for (const auto& t : s.tests) {
        out += fmt::format("  {} {:<{}}  {:>5} / {:<5}", t.passed ? "✔" : "✘", t.name, width, points(t.score), points(t.max_score));
        if (!t.passed) out += "  " + t.headline;
        out += '\n';
    }
    return out;
}

std::string gradebook_csv(const GradedAssignment& a, const std::vector<GradedSubmission>& subs) {
    std::string csv = "submission";
    for (const auto& t : a.tests) csv += "," + csv_field(t.name);
    csv += ",total\n";
    for (const auto& s : subs) {
        csv += csv_field(s.name);
        for (const auto& t : a.tests) {
            double score = 0;
            for (const auto& st : s.tests)
                if (st.name == t.name) score = st.score;
            csv += fmt::format(",{:g}", score);
        }
        csv += fmt::format(",{:g}\n", s.score);
    }
    return csv;
}

std::string class_json(const GradedAssignment& a, const std::vector<GradedSubmission>& subs, int shard, int shards) {
    std::vector<const GradedSubmission*> sorted;
    for (const auto& s : subs) sorted.push_back(&s);
    std::sort(sorted.begin(), sorted.end(), [](auto* x, auto* y) { return x->name < y->name; });
    std::string out = fmt::format("{{\"schema\":\"{}\",\"simrun_version\":\"{}\",\"assignment\":{},\"shard\":", kClassSchema, kSimrunVersion,
                                  assignment_json(a));
    out += shards > 1 ? fmt::format("{{\"index\":{},\"count\":{}}}", shard, shards) : std::string("null");
    out += ",\"submissions\":[";
    std::vector<double> totals;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        out += (i ? "," : "") + submission_json(*sorted[i]);
        totals.push_back(sorted[i]->score);
    }
    std::sort(totals.begin(), totals.end());
    double sum = 0;
    for (double t : totals) sum += t;
    const std::size_t n = totals.size();
    const double median = n == 0 ? 0 : n % 2 ? totals[n / 2] : (totals[n / 2 - 1] + totals[n / 2]) / 2;
    out += fmt::format("],\"totals\":{{\"count\":{},\"mean\":{:.4g},\"median\":{:g},\"min\":{:g},\"max\":{:g}}}}}\n", n, n ? sum / n : 0.0, median,
                       n ? totals.front() : 0.0, n ? totals.back() : 0.0);
    return out;
}

Result<ClassReport, std::string> read_class_json(const std::string& text) {
    auto doc = parse_json(text);
    if (!doc) return "not JSON: " + doc.error();
    const JsonValue& r = doc.value();
    if (r["schema"].str() != kClassSchema) return fmt::format("schema '{}', not {}", r["schema"].str("(none)"), kClassSchema);
    ClassReport c;
    c.assignment = assignment_from(r["assignment"]);
    if (!r["shard"].is_null()) c.shard = static_cast<int>(r["shard"]["index"].num()), c.shards = static_cast<int>(r["shard"]["count"].num());
    for (const auto& s : r["submissions"].items()) {
        GradedSubmission g = submission_from(s);
        g.name = s["name"].str(), g.path = s["path"].str(), g.sha256 = s["sha256"].str();
        c.submissions.push_back(std::move(g));
    }
    return c;
}

Result<ClassReport, std::string> merge_classes(const std::vector<std::string>& dirs) {
    ClassReport merged;
    std::map<std::string, std::string> from;  // submission → the folder it came from
    std::set<int> shards;
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        const std::string path = dirs[i] + "/class.json";
        if (!fs::is_regular_file(path)) return fmt::format("{}: no class.json (is it a `simrun grade` output folder?)", dirs[i]);
        auto c = read_class_json(slurp(path));
        if (!c) return fmt::format("{}: {}", path, c.error());
        if (i == 0) merged.assignment = c->assignment;
        else if (c->assignment.sha256 != merged.assignment.sha256)
            return fmt::format("{} was graded with another grading file ({} sha256 {}) than {} ({} sha256 {})", dirs[i], c->assignment.path,
                               c->assignment.sha256.substr(0, 12), dirs[0], merged.assignment.path, merged.assignment.sha256.substr(0, 12));
        if (c->shard >= 0 && !shards.insert(c->shard).second) return fmt::format("{}: shard {} is given twice", dirs[i], c->shard);
        if (c->shards) merged.shards = c->shards;
        for (auto& s : c->submissions) {
            auto [it, fresh] = from.emplace(s.name, dirs[i]);
            if (!fresh) return fmt::format("submission '{}' is in both {} and {}", s.name, it->second, dirs[i]);
            merged.submissions.push_back(std::move(s));
        }
    }
    if (merged.shards && shards.size() != static_cast<std::size_t>(merged.shards)) {
        std::string missing;
        for (int k = 0; k < merged.shards; ++k)
            if (!shards.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
        const bool one = missing.find(',') == std::string::npos;
        return fmt::format("shard{} {} of {} {} missing", one ? "" : "s", missing, merged.shards, one ? "is" : "are");
    }
    std::sort(merged.submissions.begin(), merged.submissions.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return merged;
}

}  // namespace simrun

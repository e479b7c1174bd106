// Grades one submission against a grading file: a fresh copy of its
// folder, the build, then every test's runs, each in a sandbox of its own
// (session/run_isolated), scored, with feedback a student can act on: the
// expectation that failed and the values it saw, the outcome, and the
// command that runs the failing run again.
#pragma once

#include "check/checker.hpp"
#include "grade/grading_file.hpp"

#include <string>
#include <vector>

namespace simrun {

struct GradeOptions {
    std::string out_dir = "simrun-grade";  // OUT/<submission>/: the runs and reports; OUT/.work/: the copies
    bool namespaces = true;
    std::string name;  // the submission's name in the output folder ("" for its folder's name)
};

// A submission's name: its folder's (an absolute path's last part), "submission" for "/".
std::string submission_name(const std::string& path);

struct RunGrade {
    bool passed = false;
    bool controlled = false;
    std::uint64_t seed = 0;
    std::string outcome;   // completed, deadlock, timeout, ...
    std::string failed;    // the first expectation that failed, with what it saw ("" if none)
    std::string again;     // the command that runs it again
    std::vector<std::string> diagnosis;  // how the run ended: who waited for whom at a deadlock, ...
    std::vector<std::string> trace;      // the trace's lines before the failure
    std::vector<std::string> verdicts;   // the processes' that were not ok: "student: time limit (...)"
    std::string diff;                    // an output test's expected and actual lines
    double earned = 0;                   // the fraction of the points it earned: 1 or 0, or by [[expect]] points
    int explored = 0;                    // explore: schedules tried
};

struct TestGrade {
    const GradeTest* test = nullptr;
    double score = 0;
    bool passed = false;
    std::string reason;  // why it did not run ("" if it ran)
    std::string scenario_sha256;  // of the scenario file it ran (the teacher's or the student's)
    double seconds = 0;
    std::vector<RunGrade> runs;
    std::string feedback() const;  // what a student reads
    std::string headline() const;  // one line of it: the first failed run's outcome and expectation
};

struct SubmissionGrade {
    std::string name, path;
    std::string sha256;        // of the submission as graded: its files' sorted relative paths and contents
    double score = 0, max_score = 0;
    std::string problem;       // why nothing could run: a missing folder or file, a compile error
    std::string build_output;  // the build's output (kept to 64 KiB)
    std::vector<std::string> notes;  // files not copied (symlinks, too large)
    double seconds = 0;
    std::vector<TestGrade> tests;
};

// A test's score: every point when every run passed; with partial credit,
// points in proportion to the runs that passed; else 0.
double test_score(double points, std::size_t passed, std::size_t runs, bool partial);
// With points on the scenario's [[expect]]s: the points times the mean
// fraction the runs earned (each run: its passed expectations' points over all of them).
double test_score_by_expect(double points, const std::vector<double>& earned);
// A run's fraction: the passed expectations' points over all expectations'
// points; when none carries points, 1 if all passed, else 0. scored: whether any carried points.
double run_fraction(const std::vector<ExpectResult>& results, bool passed, bool& scored);

SubmissionGrade grade_submission(const GradingFile& g, const std::string& submission, const GradeOptions& options);

}  // namespace simrun

// Grades one submission against a grading file: a fresh copy of its
// folder, the build, then every test's runs, each in a sandbox of its own
// (session/run_isolated), scored, with feedback a student can act on: the
// expectation that failed and the values it saw, the outcome, and the
// command that runs the failing run again.
#pragma once

#include "grade/grading_file.hpp"

#include <string>
#include <vector>

namespace simrun {

struct GradeOptions {
    std::string out_dir = "simrun-grade";  // OUT/<submission>/: the runs and reports; OUT/.work/: the copies
    bool namespaces = true;
};

struct RunGrade {
    bool passed = false;
    bool controlled = false;
    std::uint64_t seed = 0;
    std::string outcome;   // completed, deadlock, timeout, ...
    std::string failed;    // the first expectation that failed, with what it saw ("" if none)
    std::string again;     // the command that runs it again
    std::vector<std::string> diagnosis;  // how the run ended: who waited for whom at a deadlock, ...
};

struct TestGrade {
    const GradeTest* test = nullptr;
    double score = 0;
    bool passed = false;
    std::string reason;  // why it did not run ("" if it ran)
    std::vector<RunGrade> runs;
    std::string feedback() const;  // what a student reads
    std::string headline() const;  // one line of it: the first failed run's outcome and expectation
};

struct SubmissionGrade {
    std::string name, path;
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

SubmissionGrade grade_submission(const GradingFile& g, const std::string& submission, const GradeOptions& options);

}  // namespace simrun

// report.json read back (schema simrun-grade/2): what the batch's parent
// needs of a worker's submission, and what `grade merge` needs of a
// shard's class.json. Only the summary: the full feedback stays in the file.
#pragma once

#include "util/error.hpp"
#include "util/json_value.hpp"

#include <string>
#include <vector>

namespace simrun {

struct GradedTest {
    std::string name;
    double score = 0, max_score = 0;
    bool passed = false;
    std::string headline;  // the first failure in a line ("" when it passed)
    std::size_t runs = 0, failed_runs = 0;
};

struct GradedSubmission {
    std::string name, path, sha256;
    double score = 0, max_score = 0, seconds = 0;
    std::string problem;
    std::string report;  // where its report.json is
    std::vector<GradedTest> tests;
};

// The grading file as the reports record it.
struct GradedAssignment {
    std::string name, path, sha256;
    double points = 0;
    struct Test {
        std::string name, visibility;
        double points = 0;
    };
    std::vector<Test> tests;
};

struct GradingFile;
GradedAssignment graded_assignment(const GradingFile& g);
// {"name","points","path","sha256","tests":[{"name","points","visibility"}]}
std::string assignment_json(const GradedAssignment& a);

// report.json: its submission and its assignment. An error names what is wrong.
Result<GradedSubmission, std::string> read_grade_report(const std::string& text, GradedAssignment* assignment = nullptr);

// The pieces class.json shares with report.json.
GradedAssignment assignment_from(const JsonValue& a);
GradedSubmission submission_from(const JsonValue& s);

// A submission's JSON in class.json: name, path, sha256, score, max_score, seconds, problem, report, tests.
std::string submission_json(const GradedSubmission& s);

}  // namespace simrun

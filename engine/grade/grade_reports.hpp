// What grading writes: Gradescope's results.json (hidden tests: their name
// and score only, as a student sees them), simrun's own report.json (every
// test's feedback and every run's seed and outcome, for the teacher), and
// the table on the terminal.
#pragma once

#include "grade/grader.hpp"

#include <string>
#include <vector>

namespace simrun {

inline constexpr const char* kGradeReportSchema = "simrun-grade/2";

std::string gradescope_results(const SubmissionGrade& s);
// PrairieLearn's external-grader results.json: gradable, score (0 to 1),
// points, max_points, message, output, tests[] (hidden ones redacted).
std::string prairielearn_results(const SubmissionGrade& s);
// Autolab's autograder output: the feedback, then as its last line
// {"scores": {test: points}, "scoreboard": [total]}.
std::string autolab_output(const SubmissionGrade& s);
// report.json (docs/grading-format.md, schema simrun-grade/2): everything,
// read back by the batch (report_reader.hpp) and by `grade merge`.
std::string grade_report(const GradingFile& g, const SubmissionGrade& s);

// For the teacher's tools (every test's feedback, hidden ones too): JUnit
// XML (a testsuite per submission, a testcase per test, a failure with its
// feedback) and TAP (a test point per test, its feedback as YAML).
std::string junit_xml(const GradingFile& g, const SubmissionGrade& s);
std::string tap_report(const SubmissionGrade& s);

// The class's totals in ten bins of a tenth of the points each, a bar per bin.
std::string histogram(const std::vector<double>& totals, double max_points);

// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s);
// Writes `text` to `path` (the folder must exist); false if it cannot.
bool write_text_file(const std::string& path, const std::string& text);

}  // namespace simrun

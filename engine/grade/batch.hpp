// A class graded: the submissions in a stable order, one slice of them
// for a shard, each graded by a worker process of its own (-j of them at a
// time), its reports written by the worker and read back by the batch;
// then the class's gradebook.csv and class.json. `grade merge` combines
// shards' class.json into one.
#pragma once

#include "grade/grader.hpp"
#include "grade/report_reader.hpp"

#include <functional>
#include <string>
#include <vector>

namespace simrun {

inline constexpr const char* kClassSchema = "simrun-class/1";

struct BatchSubmission {
    std::string path, name;  // name: distinct in the batch ("x", "x-2" for a second folder named x)
};

// Sorted by name, then path; a path given twice is graded once; then the
// shard's slice: the k-th of the order goes to shard k % shards.
std::vector<BatchSubmission> batch_order(const std::vector<std::string>& paths, int shard, int shards);

struct BatchOptions {
    GradeOptions grade;
    int jobs = 1;
    bool progress = false;  // a progress bar on standard error
};

// Writes OUT/<name>/{results.json,report.json,junit.xml,results.tap,prairielearn.json,autolab.txt}.
void write_submission_reports(const GradingFile& g, const SubmissionGrade& s, const std::string& dir);

// Grades each submission in a worker of its own; `done` is called in
// order of completion. A worker that dies is the submission's problem, with score 0.
std::vector<GradedSubmission> grade_batch(const GradingFile& g, const std::vector<BatchSubmission>& subs, const BatchOptions& options,
                                          const std::function<void(const GradedSubmission&)>& done);

// The table a submission prints: test, points, verdict, first failure.
std::string grade_table(const GradedSubmission& s);
// One row per submission, a column per test, the total.
std::string gradebook_csv(const GradedAssignment& a, const std::vector<GradedSubmission>& subs);
// class.json: the assignment, the shard (null when unsharded), the submissions in name order, the totals' statistics.
std::string class_json(const GradedAssignment& a, const std::vector<GradedSubmission>& subs, int shard, int shards);

// class.json read back: the assignment, the shard, the submissions.
struct ClassReport {
    GradedAssignment assignment;
    int shard = -1, shards = 0;  // -1: not a shard
    std::vector<GradedSubmission> submissions;
};
Result<ClassReport, std::string> read_class_json(const std::string& text);

// Combines shards' class.json: the same grading file (sha256) in each, no
// submission twice. On success the merged report (submissions in name order).
Result<ClassReport, std::string> merge_classes(const std::vector<std::string>& dirs);

}  // namespace simrun

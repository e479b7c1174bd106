// The grading file (docs/grading-format.md): an assignment, how a
// submission is built, and the tests that grade it, each a teacher's
// scenario run against the submission. Read once, every error positioned
// like a scenario's.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace simrun {

// Stands for the submission's copy in a test's scenario (and in its path).
inline constexpr const char* kSubmission = "{submission}";

// Who sees a test's result, as Gradescope names it.
enum class Visibility : std::uint8_t { Visible, Hidden, AfterDueDate, AfterPublished };
const char* visibility_name(Visibility v);

// explore = { ... }: the test passes when no failing schedule is found.
struct ExploreSpec {
    std::int64_t runs = 200;         // schedules tried at most (exhaustive: 100000 unless given)
    std::string strategy = "pct";    // random or pct
    bool exhaustive = false;         // every schedule with at most `preemptions` preemptions
    std::int64_t preemptions = 2;
    std::int64_t depth = 3;          // pct's bug depth
    std::uint64_t seed = 1;          // the first schedule's seed, drawn from the master seed
};

struct GradeTest {
    std::string name;
    double points = 0;
    Visibility visibility = Visibility::Visible;
    std::string scenario;              // the teacher's scenario, resolved against the grading file's folder,
                                       // or one in the submission ("{submission}/fix.toml")
    bool student_scenario = false;     // `scenario` starts with {submission}
    std::string expects;               // [[test.expect]]: the teacher's expectations, as [[expect]] TOML appended to the scenario
    std::string needs;                 // another test that must pass first ("" for none)
    std::int64_t runs = 0;             // free-mode runs
    std::vector<std::uint64_t> seeds;  // controlled runs (seeds = N: drawn from the master seed)
    std::string scenario_sha256;       // the teacher's scenario's bytes ("" for a student's: hashed when graded)
    std::optional<ExploreSpec> explore;  // explore instead of runs
    bool partial = false;              // points in proportion to the runs that passed; else all must pass
    int line = 0;                      // where it is declared
};

struct GradingFile {
    std::string path, dir;  // the file, and its folder
    std::string sha256;     // of the file's bytes
    std::string name, description;
    double points = 0;                  // the total: the tests' points add up to it
    std::uint64_t seed = 1;             // the master seed that seeds = N draws from
    std::string build;                  // the build command ("" for none)
    std::int64_t build_timeout_ns = 60'000'000'000;
    std::vector<std::string> required;  // files the submission must hold
    std::vector<GradeTest> tests;
};

// Reads and checks a grading file. On failure: the rendered diagnostic
// ("grade.toml:7:3: error: ...", the line, a caret).
Result<GradingFile, std::string> read_grading_file(const std::string& path);
// The same for the file's text, read from `path` (the scenarios it names
// are found beside it).
Result<GradingFile, std::string> read_grading_source(const std::string& path, const std::string& text);

}  // namespace simrun

// The grading file reader and the scoring rules.
#include "grade/grader.hpp"
#include "grade/grading_file.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace simrun;

namespace {
// A grading file and the scenario it names, in a folder of their own.
struct Files {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("grading_test_" + std::to_string(::getpid()));
    Files() {
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "s.toml") << "[[process]]\nname = \"p\"\nrun = []\n";
    }
    ~Files() { std::filesystem::remove_all(dir); }
    Result<GradingFile, std::string> read(const std::string& text) {
        std::ofstream(dir / "grade.toml") << text;
        return read_grading_file((dir / "grade.toml").string());
    }
};
const std::string kHead = "[assignment]\nname = \"a\"\npoints = 6\nseed = 7\n";
}  // namespace

TEST_CASE("seeds = N draws the same seeds for the same master seed and test, other ones for another test") {
    Files f;
    const std::string tests = "[[test]]\nname = \"x\"\npoints = 3\nscenario = \"s.toml\"\nseeds = 5\n"
                              "[[test]]\nname = \"y\"\npoints = 3\nscenario = \"s.toml\"\nseeds = 5\n";
    auto a = f.read(kHead + tests);
    REQUIRE(a.ok());
    auto b = f.read(kHead + tests);
    REQUIRE(b.ok());
    CHECK(a->tests[0].seeds.size() == 5);
    CHECK(a->tests[0].seeds == b->tests[0].seeds);
    CHECK(a->tests[0].seeds != a->tests[1].seeds);
    auto c = f.read("[assignment]\nname = \"a\"\npoints = 6\nseed = 8\n" + tests);
    REQUIRE(c.ok());
    CHECK(c->tests[0].seeds != a->tests[0].seeds);  // another master seed
    CHECK(a->tests[0].runs == 0);
    CHECK(a->tests[0].scenario == (f.dir / "s.toml").string());  // relative to the grading file
}

TEST_CASE("a test with neither runs nor seeds is one free run; defaults") {
    Files f;
    auto g = f.read(kHead + "[[test]]\nname = \"x\"\npoints = 6\nscenario = \"s.toml\"\n");
    REQUIRE(g.ok());
    CHECK(g->tests[0].runs == 1);
    CHECK(g->tests[0].seeds.empty());
    CHECK(g->tests[0].visibility == Visibility::Visible);
    CHECK(!g->tests[0].partial);
    CHECK(g->build.empty());
    CHECK(g->build_timeout_ns == 60'000'000'000);
}

TEST_CASE("scoring: all or nothing, or in proportion") {
    CHECK(test_score(4, 8, 8, false) == 4);
    CHECK(test_score(4, 7, 8, false) == 0);
    CHECK(test_score(4, 6, 8, true) == 3);
    CHECK(test_score(4, 0, 8, true) == 0);
    CHECK(test_score(4, 0, 0, true) == 0);
}

TEST_CASE("scoring by the expectations' points: each run's passed points over all, averaged over the runs") {
    auto result = [](bool passed, double points) {
        ExpectResult e;
        e.passed = passed, e.points = points;
        return e;
    };
    bool scored = false;
    CHECK(run_fraction({result(true, 3), result(false, 1)}, false, scored) == doctest::Approx(0.75));
    CHECK(scored);
    scored = false;
    CHECK(run_fraction({result(true, 0), result(false, 0)}, false, scored) == 0);  // no points: all or nothing
    CHECK(run_fraction({result(true, 0)}, true, scored) == 1);
    CHECK_FALSE(scored);
    // The implicit "run completed" (0 points) does not dilute the points.
    CHECK(run_fraction({result(true, 2), result(false, 0)}, false, scored) == 1);
    CHECK(test_score_by_expect(4, {1, 0.25, 0.25, 0.5}) == doctest::Approx(2));
    CHECK(test_score_by_expect(4, {}) == 0);
}

TEST_CASE("explore tests, students' scenarios, the teacher's expectations") {
    Files f;
    auto g = f.read(kHead + "[[test]]\nname = \"x\"\npoints = 6\nscenario = \"{submission}/fix.toml\"\n"
                            "explore = { exhaustive = true, preemptions = 1 }\n"
                            "[[test.expect]]\nname = \"done\"\nfinal = \"c.v == 6\"\npoints = 2\n");
    REQUIRE(g.ok());
    const GradeTest& t = g->tests[0];
    CHECK(t.student_scenario);
    CHECK(t.scenario == "{submission}/fix.toml");
    REQUIRE(t.explore);
    CHECK(t.explore->exhaustive);
    CHECK(t.explore->preemptions == 1);
    CHECK(t.explore->runs == 100000);  // an exhaustive search's default budget
    CHECK(t.runs == 0);
    CHECK(t.expects.find("[[expect]]") != std::string::npos);
    CHECK(t.expects.find("final = 'c.v == 6'") != std::string::npos);
    CHECK(t.expects.find("points = 2") != std::string::npos);
    auto h = f.read(kHead + "[[test]]\nname = \"x\"\npoints = 6\nscenario = \"s.toml\"\nexplore = { runs = 50 }\n");
    REQUIRE(h.ok());
    CHECK(h->tests[0].explore->strategy == "pct");
    CHECK(h->tests[0].explore->runs == 50);
    CHECK(h->tests[0].scenario_sha256.size() == 64);
    CHECK(h->sha256.size() == 64);
}

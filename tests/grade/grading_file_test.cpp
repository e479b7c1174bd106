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

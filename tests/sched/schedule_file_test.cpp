// Schedule files round-trip, and refuse a scenario they were not made for.
#include "sched/schedule_file.hpp"

#include "../test_support.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

using namespace simrun;

namespace {
Plan race_plan() {
    Plan p = test::plan_of("[[process]]\nname = \"inc\"\ncount = 2\nrun = [\"sleep 1ms\"]\n");
    p.path = "race.toml";
    p.source_hash = 0x1234;
    return p;
}
std::string temp_path() {
    char name[] = "/tmp/simrun-schedule-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    return name;
}
}  // namespace

TEST_CASE("steps are written run-length encoded and read back") {
    Plan plan = race_plan();
    Schedule s{"pct", 42, 3, {0, 0, 0, 1, 0, 1, 1}, {}};
    std::string text = format_schedule(plan, s);
    CHECK(text.find("\"inc#0 x3\",\n  \"inc#1\",\n  \"inc#0\",\n  \"inc#1 x2\"") != std::string::npos);
    CHECK(text.find("scenario_hash = \"0000000000001234\"") != std::string::npos);
    std::string path = temp_path();
    REQUIRE(write_schedule(path, plan, s).ok());
    auto back = read_schedule(path, plan);
    REQUIRE_MESSAGE(back.ok(), back.error());
    CHECK(back->steps == s.steps);
    CHECK(back->seed == 42);
    CHECK(back->strategy == "pct");
    unlink(path.c_str());
}

TEST_CASE("a schedule for another version of the scenario is refused") {
    Plan plan = race_plan();
    std::string path = temp_path();
    REQUIRE(write_schedule(path, plan, {"random", 1, 3, {0, 1}, {}}).ok());
    plan.source_hash = 0x9999;
    auto back = read_schedule(path, plan);
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().find(":4:17: error: this schedule was recorded for another version of race.toml") != std::string::npos);
    unlink(path.c_str());
}

TEST_CASE("malformed steps are positioned errors") {
    Plan plan = race_plan();
    std::string path = temp_path();
    {
        std::ofstream f(path);
        f << "schedule = 1\nscenario_hash = \"0000000000001234\"\nsteps = [\"inc#0 x0\", \"nobody\"]\n";
    }
    auto back = read_schedule(path, plan);
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().find(":3:10: error: malformed repeat in 'inc#0 x0'") != std::string::npos);
    {
        std::ofstream f(path);
        f << "schedule = 2\n";
    }
    CHECK(read_schedule(path, plan).error().find("not a simrun schedule (version 1)") != std::string::npos);
    unlink(path.c_str());
    CHECK(context_switches({0, 0, 1, 1, 0}) == 2);
}

TEST_CASE("steps of the children programs forked are named as the trace names them, and read back") {
    Plan plan = race_plan();  // 2 declared processes: children are 2, 3, ...
    Schedule s{"random", 7, 3, {0, 2, 2, 3, 1, 2}, {"inc#0/1", "inc#0/1/1"}};
    const std::string text = format_schedule(plan, s);
    CHECK(text.find("\"inc#0\",\n  \"inc#0/1 x2\",\n  \"inc#0/1/1\",\n  \"inc#1\",\n  \"inc#0/1\"") != std::string::npos);
    CHECK(text.find("children = [\n  \"inc#0/1\",\n  \"inc#0/1/1\",\n]") != std::string::npos);
    std::string path = temp_path();
    REQUIRE(write_schedule(path, plan, s).ok());
    auto back = read_schedule(path, plan);
    REQUIRE_MESSAGE(back.ok(), back.error());
    CHECK(back->steps == s.steps);
    CHECK(back->children == s.children);
    unlink(path.c_str());
}

TEST_CASE("a step naming a child the schedule does not list is refused") {
    Plan plan = race_plan();
    std::string path = temp_path();
    {
        std::ofstream f(path);
        f << "schedule = 1\nscenario_hash = \"0000000000001234\"\nsteps = [\"inc#0/1\"]\nchildren = [\"inc#0/2\"]\n";
    }
    auto back = read_schedule(path, plan);
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().find(":3:10: error: unknown process 'inc#0/1' in the schedule") != std::string::npos);
    unlink(path.c_str());
}

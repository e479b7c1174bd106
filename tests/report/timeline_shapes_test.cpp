// The shapes the graphical views draw, worked out from events: a blocked P
// spans its wait, the V that woke it has its arrow, semaphore values are a
// counter, tracks are named and ordered; what is still waiting at the end is
// closed there, and a broken `always` is marked on its process's track.
#include "report/timeline_shapes.hpp"

#include "../test_support.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace simrun;

namespace {

struct Recorded : TimelineShapes {
    using TimelineShapes::TimelineShapes;
    struct Slice {
        int tid;
        std::uint64_t ts, dur;
        std::string name;
        bool blocked;
    };
    std::vector<std::tuple<int, std::string, int>> tracks;
    std::vector<Slice> slices;
    std::vector<std::tuple<int, std::uint64_t, std::string>> instants;
    std::vector<std::tuple<std::string, std::uint64_t, std::int64_t>> counters;
    std::vector<std::tuple<int, std::uint64_t, int, std::uint64_t, std::string>> flows;
    void end(const std::vector<AlwaysBreak>& b) { close(b); }
    void emit_track(int tid, const std::string& name, int order) override { tracks.emplace_back(tid, name, order); }
    void emit_slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked) override {
        slices.push_back({tid, ts, dur, name, blocked});
    }
    void emit_instant(int tid, std::uint64_t ts, const std::string& name) override { instants.emplace_back(tid, ts, name); }
    void emit_counter(std::uint64_t ts, const std::string& name, std::int64_t value) override { counters.emplace_back(name, ts, value); }
    void emit_flow(int a, std::uint64_t at, int b, std::uint64_t bt, const char* cat) override { flows.emplace_back(a, at, b, bt, cat); }
};

const char* kScenario = R"(
[scenario]
name = "shapes"
[ipc.sem.s]
members = { m = 0 }
[[process]]
name = "waiter"
run = ["P s.m", "P s.m"]
[[process]]
name = "poster"
run = ["V s.m"]
)";

Event op(const Plan& plan, std::uint16_t proc, std::uint32_t index, std::uint64_t ts, bool parked, bool woke, std::int64_t value) {
    ev::ScriptOp o{index, &plan.ops[index], parked, woke, ev::ScriptOp::Half::Whole, 0, 0, 0, 0, value, 0, 0, kNoStep, {}};
    return Event{ts, {proc, &plan.processes[proc].name, proc}, o};
}

}  // namespace

TEST_CASE("timeline shapes: a blocked P spans its wait, its V's arrow, the counter, the tracks, the end") {
    const Plan plan = test::plan_of(kScenario);
    const std::uint32_t p1 = plan.processes[0].first_op, p2 = p1 + 1, v = plan.processes[1].first_op;
    Recorded r(plan, 1000);
    r.on_event(op(plan, 0, p1, 2000, true, false, 0));   // waiter blocks in its first P at t = 1000
    r.on_event(op(plan, 1, v, 5000, false, false, 1));   // poster's V at 4000
    r.on_event(op(plan, 0, p1, 6000, false, true, 0));   // the P goes on at 5000
    r.on_event(op(plan, 0, p2, 7000, true, false, 0));   // and blocks again, for good
    r.end({{"small", 6500, "waiter"}});
    REQUIRE(r.tracks.size() == 2);
    CHECK(std::get<1>(r.tracks[0]) == "waiter");
    CHECK(std::get<2>(r.tracks[0]) < std::get<2>(r.tracks[1]));
    const int waiter = std::get<0>(r.tracks[0]), poster = std::get<0>(r.tracks[1]);
    std::vector<Recorded::Slice> blocked;
    for (const auto& s : r.slices)
        if (s.blocked) blocked.push_back(s);
    REQUIRE(blocked.size() == 2);
    CHECK(blocked[0].tid == waiter);
    CHECK(blocked[0].ts == 1000);
    CHECK(blocked[0].dur == 4000);
    CHECK(blocked[1].name == "still waiting when the run ended");
    CHECK(blocked[1].ts == 6000);
    CHECK(blocked[1].dur == 0);  // the last event was its own
    REQUIRE(r.flows.size() == 1);
    CHECK(std::get<0>(r.flows[0]) == poster);
    CHECK(std::get<1>(r.flows[0]) == 4000);
    CHECK(std::get<2>(r.flows[0]) == waiter);
    CHECK(std::get<3>(r.flows[0]) > 1000);  // inside the blocked slice
    CHECK(std::get<3>(r.flows[0]) <= 5000);
    CHECK(std::get<4>(r.flows[0]) == "wake");
    CHECK(r.counters.size() >= 2);
    CHECK(std::get<0>(r.counters[0]) == "s.m");
    REQUIRE(r.instants.size() == 1);
    CHECK(std::get<0>(r.instants[0]) == waiter);
    CHECK(std::get<1>(r.instants[0]) == 5500);
    CHECK(std::get<2>(r.instants[0]).find("'small' first broke") != std::string::npos);
}

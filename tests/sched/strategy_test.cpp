// Scheduling strategies are pure functions of their seed and the calls made.
#include "sched/strategy.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace simrun;

namespace {
StrategyConfig config(StrategyKind kind, std::uint64_t seed = 0, int depth = 3, std::uint64_t k = 1000, int n = 0) {
    StrategyConfig c;
    c.kind = kind, c.seed = seed, c.depth = depth, c.expected_steps = k, c.processes = n;
    return c;
}
std::vector<int> drive(Strategy& s, int steps, const std::vector<int>& runnable = {0, 1, 2}) {
    std::vector<int> picks;
    for (int i = 0; i < steps; ++i) picks.push_back(s.pick(runnable, static_cast<std::uint64_t>(i)));
    return picks;
}
}  // namespace

TEST_CASE("random: the same seed gives the same picks, another seed others") {
    auto a = make_strategy(config(StrategyKind::Random, 42));
    auto b = make_strategy(config(StrategyKind::Random, 42));
    auto c = make_strategy(config(StrategyKind::Random, 43));
    auto pa = drive(*a, 200), pb = drive(*b, 200), pc = drive(*c, 200);
    CHECK(pa == pb);
    CHECK(pa != pc);
    CHECK(std::set<int>(pa.begin(), pa.end()) == std::set<int>{0, 1, 2});  // every process gets picked
}

TEST_CASE("round-robin cycles through the runnable processes in index order") {
    auto rr = make_strategy(config(StrategyKind::RoundRobin));
    CHECK(drive(*rr, 5) == std::vector<int>{0, 1, 2, 0, 1});
    CHECK(rr->pick({0, 2}, 5) == 2);  // after 1 comes 2
    CHECK(rr->pick({0, 2}, 6) == 0);  // then wrap
}

TEST_CASE("PCT: without change points the top-priority process runs while it can") {
    StrategyConfig c = config(StrategyKind::Pct, 7, 1, 100, 3);
    auto pct = make_strategy(c);
    auto picks = drive(*pct, 20);
    CHECK(std::set<int>(picks.begin(), picks.end()).size() == 1);
    int top = picks[0];
    std::vector<int> others;
    for (int p : {0, 1, 2})
        if (p != top) others.push_back(p);
    CHECK((pct->pick(others, 20) == others[0] || pct->pick(others, 20) == others[1]));
}

TEST_CASE("PCT: d-1 change points demote the running process; same seed, same schedule") {
    StrategyConfig c = config(StrategyKind::Pct, 11, 3, 30, 2);
    auto a = make_strategy(c), b = make_strategy(c);
    auto pa = drive(*a, 30, {0, 1}), pb = drive(*b, 30, {0, 1});
    CHECK(pa == pb);
    std::size_t switches = 0;
    for (std::size_t i = 1; i < pa.size(); ++i) switches += pa[i] != pa[i - 1];
    CHECK(switches <= 2);  // at most one switch per change point
}

TEST_CASE("replay follows its steps, then lets the running process go on") {
    StrategyConfig c = config(StrategyKind::Replay);
    c.replay = {2, 2, 1};
    auto r = make_strategy(c);
    CHECK(r->pick({0, 1, 2}, 0) == 2);
    CHECK(r->pick({0, 1, 2}, 1) == 2);
    CHECK(r->pick({0, 2}, 2) == 2);  // 1 cannot run: the running process goes on
    CHECK(r->pick({0, 1}, 3) == 0);  // past the end, 2 cannot run: lowest runnable
    CHECK(r->pick({0, 1}, 4) == 0);  // and then it goes on
}

TEST_CASE("strategy names") {
    CHECK(parse_strategy("pct") == StrategyKind::Pct);
    CHECK(parse_strategy("rr") == StrategyKind::RoundRobin);
    CHECK_FALSE(parse_strategy("fifo").has_value());
    CHECK(std::string(strategy_name(StrategyKind::Random)) == "random");
}

TEST_CASE("pct: a process that sleeps drops below every other, so a retry loop around a sleep cannot starve the one it waits for") {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        StrategyConfig c;
        c.kind = StrategyKind::Pct, c.seed = seed, c.depth = 1, c.processes = 3;
        auto s = make_strategy(c);
        const std::vector<int> all{0, 1, 2};
        const int first = s->pick(all, 0);
        s->slept(first);
        const int second = s->pick(all, 1);
        CHECK(second != first);
        s->slept(second);
        const int third = s->pick(all, 2);
        CHECK(third != first);
        CHECK(third != second);
        // A newcomer (a forked child) that sleeps goes below them too.
        s->slept(5);
        CHECK(s->pick({2, 5}, 3) != 5);
    }
}

TEST_CASE("a clone picks what the strategy itself picks next, and leaves it as it was (runs of steps granted at once)") {
    for (StrategyKind kind : {StrategyKind::Random, StrategyKind::Pct, StrategyKind::RoundRobin, StrategyKind::Replay}) {
        StrategyConfig c;
        c.kind = kind, c.seed = 42, c.processes = 3, c.expected_steps = 200;
        for (int k = 0; k < 200; ++k) c.replay.push_back(k % 7 < 4 ? 0 : k % 3);
        auto one_by_one = make_strategy(c), batched = make_strategy(c);
        std::vector<int> expected, got;
        const std::vector<int> ready{0, 1, 2};
        for (std::uint64_t s = 0; s < 200; ++s) expected.push_back(one_by_one->pick(ready, s));
        // The controller's way: pick, ask a clone how many more it would give
        // the same process, then pick those with the strategy itself.
        for (std::uint64_t s = 0; s < 200;) {
            const int p = batched->pick(ready, s);
            got.push_back(p);
            auto ahead = batched->clone();
            std::uint64_t n = 0;
            while (s + 1 + n < 200 && ahead->pick(ready, s + 1 + n) == p) ++n;
            for (std::uint64_t k = 1; k <= n; ++k) got.push_back(batched->pick(ready, s + k));
            s += n + 1;
        }
        CHECK_MESSAGE(got == expected, strategy_name(kind));
        // Runs of one process: PCT and replay give long ones, random short ones.
        std::size_t switches = 0;
        for (std::size_t k = 1; k < got.size(); ++k) switches += got[k] != got[k - 1];
        if (kind == StrategyKind::Pct) CHECK(switches <= 2);
    }
}

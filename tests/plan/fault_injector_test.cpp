// The fault injector decides, for every trigger, which faults fire.
#include "plan/fault_injector.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace simrun;

namespace {

PlanFault after(int proc, std::vector<std::uint32_t> ops, std::int64_t count, int sig) {
    PlanFault f;
    f.proc = proc, f.trigger = FaultTrigger::AfterOp, f.ops = std::move(ops), f.count = count, f.signal = sig;
    return f;
}

}  // namespace

TEST_CASE("two `after` faults of one process both fire, each at its own count") {
    std::vector<PlanFault> faults{after(0, {4}, 1, 10), after(0, {4}, 2, 12), after(1, {4}, 1, 9)};
    FaultInjector inj(faults);
    CHECK(inj.has_after_op(0));
    CHECK_FALSE(inj.has_after_op(2));
    std::vector<int> fired;
    auto fire = [&](const PlanFault& f) { fired.push_back(f.signal); };
    inj.after_op(0, 3, fire);  // another op: no match
    CHECK(fired.empty());
    inj.after_op(0, 4, fire);
    CHECK(fired == std::vector<int>{10});
    inj.after_op(0, 4, fire);
    CHECK(fired == std::vector<int>{10, 12});
    inj.after_op(0, 4, fire);  // each fires once
    CHECK(fired == std::vector<int>{10, 12});
    inj.after_op(1, 4, fire);  // process 1's own fault
    CHECK(fired == std::vector<int>{10, 12, 9});
}

TEST_CASE("step and time faults fire once, when their moment comes") {
    std::vector<PlanFault> faults(3);
    faults[0].trigger = FaultTrigger::AtStep, faults[0].at = 5, faults[0].signal = 9;
    faults[1].trigger = FaultTrigger::AtTime, faults[1].at = 50'000'000, faults[1].signal = 15;
    faults[2].trigger = FaultTrigger::AtStep, faults[2].at = 5, faults[2].signal = 10;
    FaultInjector inj(faults);
    std::vector<int> fired;
    auto fire = [&](const PlanFault& f) { fired.push_back(f.signal); };
    inj.at_step(4, fire);
    inj.at_time(49'999'999, fire);
    CHECK(fired.empty());
    inj.at_step(5, fire);
    CHECK(fired == std::vector<int>{9, 10});
    inj.at_step(5, fire);
    inj.at_time(60'000'000, fire);
    inj.at_time(70'000'000, fire);
    CHECK(fired == std::vector<int>{9, 10, 15});
}

TEST_CASE("an injector copied before fork counts on its own") {
    std::vector<PlanFault> faults{after(0, {1}, 2, 10)};
    FaultInjector parent(faults);
    int fired = 0;
    parent.after_op(0, 1, [&](const PlanFault&) { ++fired; });
    FaultInjector child = parent;  // what fork gives a child
    child.after_op(0, 1, [&](const PlanFault&) { ++fired; });
    CHECK(fired == 1);
    parent.after_op(0, 1, [&](const PlanFault&) { ++fired; });
    CHECK(fired == 2);
}

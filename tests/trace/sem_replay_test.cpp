// Semaphore values replayed from the stream, and SEM_UNDO applied at exit
// the way the kernel does it (clamped at 0).
#include "trace/sem_replay.hpp"

#include "../test_support.hpp"

#include <doctest/doctest.h>

using namespace simrun;

namespace {
struct Fixture {
    Plan plan = test::plan_of(R"toml(
[ipc.sem.lock]
members = { mutex = 1 }
undo = true
[ipc.sem.slots]
members = { empty = 2, full = 0 }
[[process]]
name = "p"
run = ["P lock.mutex", "V lock.mutex", "V slots.full undo", "semop slots.empty -1, slots.full +1", "P slots.empty nowait"]
[[process]]
name = "q"
run = ["P slots.full"]
)toml");
    SemReplay replay{plan};
    std::vector<Record> undo;

    Record op(std::uint16_t proc, std::uint32_t op_index, std::int64_t result = 0, EventKind kind = EventKind::Op) {
        Record r{};
        r.kind = kind;
        r.proc = proc;
        r.e.op = plan.processes[proc].first_op + op_index;
        r.e.result = result;
        replay.annotate(r, undo);
        return r;
    }
    Record exit(std::uint16_t proc) {
        Record r{};
        r.kind = EventKind::Exit;
        r.proc = proc;
        replay.annotate(r, undo);
        return r;
    }
};
}  // namespace

TEST_CASE("successful ops add their deltas; failed ops and blocks do not") {
    Fixture f;
    CHECK(f.op(0, 0).e.value == 0);  // P lock.mutex
    CHECK((f.op(0, 0).flags & kRecValue) != 0);
    CHECK(f.op(0, 1).e.value == 0);  // V lock.mutex: -1 + 1 (two P's were fed in above)
    Record blocked = f.op(1, 0, 0, EventKind::Block);
    CHECK(blocked.e.value == 0);          // slots.full is 0: q would block
    CHECK(f.op(0, 4, -1).e.value == 2);   // P slots.empty nowait failed (EAGAIN): unchanged
    f.op(0, 3);                            // semop: empty 2 -> 1, full 0 -> 1
    CHECK(f.replay.values() == std::vector<int>{0, 1, 1});
    Record multi = f.op(0, 3);
    CHECK((multi.flags & kRecValue) == 0);  // several members: no single value
}

TEST_CASE("SEM_UNDO adjustments are applied at exit, clamped at 0, and reported") {
    Fixture f;
    f.op(0, 2);  // V slots.full undo: full 1, p's adjustment -1
    f.op(0, 2);  // full 2, adjustment -2
    f.op(1, 0);  // q takes one (no undo): full 1
    f.op(0, 0);  // P lock.mutex (undo): mutex 0, adjustment +1
    f.exit(0);   // p dies holding the mutex, having posted full twice
    REQUIRE(f.undo.size() == 2);
    CHECK(f.undo[0].kind == EventKind::Undo);
    CHECK(f.plan.sem_label(static_cast<int>(f.undo[0].e.arg)) == "lock.mutex");
    CHECK(f.undo[0].e.result == 0);
    CHECK(f.undo[0].e.value == 1);  // the kernel releases the mutex
    CHECK(f.plan.sem_label(static_cast<int>(f.undo[1].e.arg)) == "slots.full");
    CHECK(f.undo[1].e.result == 1);
    CHECK(f.undo[1].e.value == 0);  // 1 - 2 clamped at 0
    CHECK(f.replay.values() == std::vector<int>{1, 2, 0});
    f.undo.clear();
    f.exit(0);  // nothing left to undo
    CHECK(f.undo.empty());
}

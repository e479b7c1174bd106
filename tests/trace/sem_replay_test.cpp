// Semaphore values replayed from the stream, and SEM_UNDO applied at exit
// the way the kernel does it (clamped at 0).
#include "trace/sem_replay.hpp"

#include "trace/call_format.hpp"

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

namespace {
// A program's Call records, as the preload writes them (trace/call_record.hpp's fields).
Record call_record(std::uint16_t proc, CallId c, std::int64_t arg, std::int64_t value, std::int64_t step, std::int64_t result,
            std::uint32_t iter = 0) {
    Record r{};
    r.kind = EventKind::Call;
    r.proc = proc;
    r.e.op = static_cast<std::uint32_t>(c);
    r.e.arg = arg, r.e.value = value, r.e.step = static_cast<std::uint64_t>(step), r.e.result = result, r.e.iter = iter;
    return r;
}
// One sembuf packed in the record, as the preload packs it (value: 1 sembuf, step: it).
Record semop_call(std::uint16_t proc, int semid, int num, int delta, bool undo) {
    Record r = call_record(proc, CallId::Semop, semid, 1, 0, 0);
    r.e.step = pack_sembuf(static_cast<unsigned short>(num), static_cast<short>(delta), static_cast<short>(undo ? SEM_UNDO : 0));
    return r;
}
}  // namespace

TEST_CASE("a program's own set: made at 0, set by SETVAL, its SEM_UNDO adjustments applied at exit with the clamp") {
    Plan plan = test::plan_of("[[process]]\nname = \"student\"\nexec = [\"/bin/true\"]\n");
    SemReplay replay{plan};
    std::vector<Record> undo;
    auto feed = [&](Record r, std::string_view payload = {}) { replay.annotate(r, undo, payload); };
    feed(call_record(0, CallId::Semget, IPC_PRIVATE, 3, IPC_CREAT | 0600, 7));      // semid 7, three members at 0
    feed(call_record(0, CallId::Semctl, 7, 0, SETVAL, 0, 1));                       // member 0 = 1
    std::vector<sembuf> sops;
    Record p = semop_call(1, 7, 0, -1, true);
    read_sembufs(p, {}, sops);
    REQUIRE(sops.size() == 1);  // the record is packed as the preload packs it
    REQUIRE(sops[0].sem_op == -1);
    feed(p);                                    // a child takes member 0 with SEM_UNDO: 0
    feed(semop_call(1, 7, 1, 5, true));         // and posts 5 on member 1: 5
    feed(semop_call(0, 7, 1, -4, false));       // the parent takes 4: 1
    feed(call_record(1, CallId::Exit, 0, 0, 0, 0));    // the child exits
    REQUIRE(undo.size() == 2);
    CHECK(undo[0].kind == EventKind::Undo);
    CHECK(undo[0].e.arg == -1);
    CHECK(undo[0].e.pid == 7);
    CHECK(undo[0].e.op == 0);
    CHECK(undo[0].e.err == 1);  // the adjustment
    CHECK(undo[0].e.result == 0);
    CHECK(undo[0].e.value == 1);
    CHECK(undo[0].e.iter == 1);  // known
    CHECK(undo[1].e.op == 1);
    CHECK(undo[1].e.err == -5);
    CHECK(undo[1].e.result == 1);
    CHECK(undo[1].e.value == 0);  // 1 - 5, clamped at 0
}

TEST_CASE("a set a program opened without setting it: the adjustment alone; SETVAL clears adjustments, IPC_RMID ends the set") {
    Plan plan = test::plan_of("[[process]]\nname = \"student\"\nexec = [\"/bin/true\"]\n");
    SemReplay replay{plan};
    std::vector<Record> undo;
    auto feed = [&](Record r) { replay.annotate(r, undo); };
    feed(call_record(0, CallId::Semget, 1234, 0, 0, 3));  // opened by key: values unknown
    feed(semop_call(0, 3, 2, 1, true));
    feed(semop_call(0, 3, 0, 1, true));
    feed(call_record(0, CallId::Semctl, 3, 0, SETVAL, 0, 4));  // member 0 = 4: its adjustment is gone
    feed(call_record(0, CallId::Exit, 0, 0, 0, 0));
    REQUIRE(undo.size() == 1);
    CHECK(undo[0].e.op == 2);
    CHECK(undo[0].e.err == -1);
    CHECK(undo[0].e.iter == 0);  // before and after not known
    undo.clear();
    feed(semop_call(1, 3, 0, -1, true));
    feed(call_record(1, CallId::Semctl, 3, 0, IPC_RMID, 0));
    feed(call_record(1, CallId::Exit, 0, 0, 0, 0));
    CHECK(undo.empty());  // the set is gone: nothing to undo
}

TEST_CASE("a P woken by a killed holder's undo, recorded before the holder's exit: the undo comes first") {
    // The kernel wakes the waiter as it applies the dead holder's undo; the
    // waiter's P can be stamped before simrun reaps the holder. The replay
    // must not show the mutex at -1: the undo goes ahead of the P.
    Plan plan = test::plan_of(R"toml(
[ipc.sem.lock]
members = { mutex = 1 }
undo = true
[[process]]
name = "holder"
run = ["P lock.mutex", "sleep 3s", "V lock.mutex"]
[[process]]
name = "waiter"
run = ["P lock.mutex", "V lock.mutex"]
)toml");
    SemReplay replay{plan};
    std::vector<Record> undo, before;
    auto feed = [&](std::uint16_t proc, std::uint32_t op, EventKind kind = EventKind::Op) {
        Record r{};
        r.kind = kind;
        r.proc = proc;
        r.e.op = plan.processes[proc].first_op + op;
        replay.annotate(r, undo, {}, &before);
        return r;
    };
    CHECK(feed(0, 0).e.value == 0);                   // holder: P lock.mutex
    CHECK(feed(1, 0, EventKind::Block).e.value == 0);  // waiter blocks
    Record woke = feed(1, 0);                          // woken: the holder was killed
    REQUIRE(before.size() == 1);
    CHECK(before[0].kind == EventKind::Undo);
    CHECK(before[0].proc == 0);
    CHECK(before[0].e.result == 0);  // before the undo
    CHECK(before[0].e.value == 1);   // after it
    CHECK(woke.e.value == 0);        // the waiter's P then takes it: 1 -> 0, never -1
    Record exit{};
    exit.kind = EventKind::Exit;
    exit.proc = 0;
    replay.annotate(exit, undo, {}, &before);
    CHECK(undo.empty());  // applied once, not again at the exit
    CHECK(replay.values() == std::vector<int>{0});
}

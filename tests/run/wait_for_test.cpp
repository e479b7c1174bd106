// The wait-for graph from hand-made snapshots: no process, no kernel object.
#include "run/wait_for.hpp"

#include "../test_support.hpp"
#include "trace/record.hpp"

#include <doctest/doctest.h>

using namespace simrun;

namespace {

const char* kLocks = R"(
[scenario]
name = "locks"
[ipc.sem.locks]
members = { a = 1, b = 1 }
[[process]]
name = "left"
run = ["P locks.a", "P locks.b", "V locks.b", "V locks.a"]
[[process]]
name = "right"
run = ["P locks.b", "P locks.a", "V locks.a", "V locks.b"]
[[process]]
name = "idle"
run = ["sleep 1s"]
)";

// The op index of `text` in process p's script.
std::uint32_t op_of(const Plan& plan, int p, const std::string& text) {
    const PlanProcess& pp = plan.processes[p];
    for (std::uint32_t i = pp.first_op; i < pp.first_op + pp.op_count; ++i)
        if (plan.op_text[i] == text) return i;
    FAIL("no op " << text);
    return 0;
}

WaitSnapshot::Proc waiting_in(std::uint32_t op, ProcState st = ProcState::BlockedSem) {
    WaitSnapshot::Proc p;
    p.alive = true, p.waits = true, p.state = st, p.op = op;
    return p;
}

// left holds a and waits for b, right holds b and waits for a.
WaitSnapshot opposite_locks(const Plan& plan) {
    WaitSnapshot s;
    s.procs = {waiting_in(op_of(plan, 0, "P locks.b")), waiting_in(op_of(plan, 1, "P locks.a")), {}};
    s.procs[2].alive = true, s.procs[2].state = ProcState::Sleeping;
    s.sem_values = {0, 0};
    s.last_taker = {0, 1};
    return s;
}

}  // namespace

TEST_CASE("two locks in opposite orders: each waits for the other's holder, and the cycle is named") {
    const Plan plan = test::plan_of(kLocks);
    const WaitForGraph g = build_wait_for(plan, opposite_locks(plan));
    REQUIRE(g.waits.size() == 2);  // idle sleeps: it is not explained
    CHECK(g.waits[0].proc == 0);
    CHECK(g.waits[0].edges == std::vector<int>{1});
    CHECK(g.waits[0].text == "waits in 'P locks.b' (locks.b = 0; last taken by right; could be released by right)");
    CHECK(g.waits[1].edges == std::vector<int>{0});
    CHECK(g.cycle == std::vector<int>{0, 1, 0});
    CHECK(cycle_text(g) == "left → right → left");
    CHECK(g.dead_holders.empty());
}

TEST_CASE("with no taker known, the edges go to whoever could release: the cycle is still found") {
    const Plan plan = test::plan_of(kLocks);
    WaitSnapshot s = opposite_locks(plan);
    s.last_taker.clear();
    const WaitForGraph g = build_wait_for(plan, s);
    CHECK(g.waits[0].text == "waits in 'P locks.b' (locks.b = 0; last taken by nobody; could be released by right)");
    CHECK(g.waits[0].edges == std::vector<int>{1});
    CHECK(cycle_text(g) == "left → right → left");
}

TEST_CASE("a lock last taken by a process that died: no edge to the dead, and the report names the holder") {
    const Plan plan = test::plan_of(kLocks);
    WaitSnapshot s = opposite_locks(plan);
    s.procs[1] = {};  // right is dead
    s.procs[1].state = ProcState::Exited;
    const WaitForGraph g = build_wait_for(plan, s);
    REQUIRE(g.waits.size() == 1);
    CHECK(g.waits[0].edges.empty());
    CHECK(g.waits[0].text == "waits in 'P locks.b' (locks.b = 0; last taken by right (dead); no live process can release it)");
    CHECK(g.cycle.empty());
    REQUIRE(g.dead_holders.size() == 1);
    CHECK(g.dead_holders[0] == "locks.b = 0: last taken by right, which died (the set has no SEM_UNDO)");
}

TEST_CASE("a semaphore the dead took but someone gave back is not held") {
    const Plan plan = test::plan_of(kLocks);
    WaitSnapshot s = opposite_locks(plan);
    s.procs[1] = {};
    s.sem_values = {0, 1};
    CHECK(build_wait_for(plan, s).dead_holders.empty());
}

TEST_CASE("pipes, children and queues: edges to the other end; a chain without a cycle has none") {
    const Plan plan = test::plan_of(R"(
[scenario]
name = "chain"
[ipc.pipe.chan]
writer = "writer"
reader = "reader"
[ipc.msg.q]
[[process]]
name = "parent"
run = ["sleep 1ms"]
[[process]]
name = "reader"
parent = "parent"
run = ["read chan 4"]
[[process]]
name = "writer"
run = ["recv q", "write chan \"ping\""]
[[process]]
name = "sender"
run = ["send q 1 \"go\""]
)");
    WaitSnapshot s;
    s.procs.resize(4);
    s.procs[0].alive = true, s.procs[0].waits = true, s.procs[0].state = ProcState::WaitingChildren;
    s.procs[1] = waiting_in(op_of(plan, 1, "read chan 4"), ProcState::BlockedPipe);
    s.procs[2] = waiting_in(op_of(plan, 2, "recv q"), ProcState::BlockedQueue);
    s.procs[3].alive = true, s.procs[3].state = ProcState::Running;
    const WaitForGraph g = build_wait_for(plan, s);
    REQUIRE(g.waits.size() == 3);
    CHECK(g.waits[0].text == "waits for its children (reader)");
    CHECK(g.waits[0].edges == std::vector<int>{1});
    CHECK(g.waits[1].edges == std::vector<int>{2});  // the pipe's writer
    CHECK(g.waits[2].edges == std::vector<int>{3});  // the queue's sender
    CHECK(g.cycle.empty());
}

TEST_CASE("first_cycle: none in a DAG, a self-loop, a cycle reached late") {
    CHECK(first_cycle({}).empty());
    CHECK(first_cycle({{1, 2}, {2}, {}}).empty());
    CHECK(first_cycle({{0}}) == std::vector<int>{0, 0});
    CHECK(first_cycle({{1}, {2}, {3}, {1}}) == std::vector<int>{1, 2, 3, 1});
    CHECK(first_cycle({{}, {}, {3}, {2}}) == std::vector<int>{2, 3, 2});
    CHECK(first_cycle({{7, -1}}).empty());  // edges out of range are ignored
}

TEST_CASE("programs' own semaphores: the holder is the edge, else whoever gave it back before") {
    const Plan plan = test::plan_of(R"(
[scenario]
name = "prog"
[[process]]
name = "student"
exec = ["./pc_fork"]
)");
    WaitSnapshot s;
    s.procs.resize(2);
    for (auto& p : s.procs) p.alive = true, p.waits = true, p.state = ProcState::Program, p.call = static_cast<std::uint32_t>(CallId::Semop);
    s.procs[1].name = "student/1";
    s.procs[0].sem_id = 5, s.procs[0].sem_num = 0, s.procs[0].sem_op = -1;  // the parent waits for the mutex
    s.procs[1].sem_id = 5, s.procs[1].sem_num = 1, s.procs[1].sem_op = -1;  // the child for an empty slot
    s.program_takers = {{{5, 0}, 1}, {{5, 1}, 1}};  // the child took both last
    s.program_releasers = {{{5, 1}, {0}}};          // the parent gives empty slots back
    const WaitForGraph g = build_wait_for(plan, s);
    REQUIRE(g.waits.size() == 2);
    CHECK(g.waits[0].text == "waits in its semop(semid 5, sem 0 -1): last taken by student/1");
    CHECK(g.waits[0].edges == std::vector<int>{1});
    CHECK(g.waits[1].text == "waits in its semop(semid 5, sem 1 -1): last taken by itself");
    CHECK(g.waits[1].edges == std::vector<int>{0});
    CHECK(cycle_text(g) == "student → student/1 → student");
}

TEST_CASE("programs' own queues: a receive waits for the live senders, a full send for the live receivers") {
    const Plan plan = test::plan_of(R"(
[scenario]
name = "prog"
[[process]]
name = "student"
exec = ["./msg_server"]
)");
    WaitSnapshot s;
    s.procs.resize(4);
    for (auto& p : s.procs) p.alive = true, p.waits = true, p.state = ProcState::Program;
    s.procs[1].name = "student/1", s.procs[2].name = "student/2", s.procs[3].name = "student/3";
    s.procs[0].call = static_cast<std::uint32_t>(CallId::Wait), s.procs[0].children = {1, 2, 3};
    s.procs[1].call = static_cast<std::uint32_t>(CallId::Msgrcv), s.procs[1].sem_id = 7, s.procs[1].sem_op = 1;
    s.procs[2].alive = false, s.procs[2].waits = false;
    s.procs[3].call = static_cast<std::uint32_t>(CallId::Msgsnd), s.procs[3].sem_id = 8, s.procs[3].sem_op = 2;
    s.program_senders = {{7, {2, 3, 1}}};
    s.program_receivers = {{8, {1}}};
    s.queue_messages = {{7, 0}, {8, 16}};
    const WaitForGraph g = build_wait_for(plan, s);
    REQUIRE(g.waits.size() == 3);
    CHECK(g.waits[0].text == "waits in its wait, for student/1, student/3");
    CHECK(g.waits[0].edges == std::vector<int>{1, 3});
    CHECK(g.waits[1].text == "waits in its msgrcv(msqid 7, type 1); the queue is empty; sent to by student/2 (dead), student/3");
    CHECK(g.waits[1].edges == std::vector<int>{3});  // not the dead, not itself
    CHECK(g.waits[2].text == "waits in its msgsnd(msqid 8, type 2); the queue is full (16 messages); received from by student/1");
    CHECK(g.waits[2].edges == std::vector<int>{1});
    CHECK(cycle_text(g) == "student/1 → student/3 → student/1");
}

TEST_CASE("a program waiting for a signal waits for the live processes that have sent one") {
    const Plan plan = test::plan_of(R"(
[scenario]
name = "prog"
[[process]]
name = "student"
exec = ["./pingpong"]
)");
    WaitSnapshot s;
    s.procs.resize(3);
    for (auto& p : s.procs) p.alive = true, p.waits = true, p.state = ProcState::Program, p.call = static_cast<std::uint32_t>(CallId::Pause);
    s.procs[1].name = "student/1", s.procs[2].name = "student/2";
    s.procs[2].call = static_cast<std::uint32_t>(CallId::Sigsuspend), s.procs[2].alive = false, s.procs[2].waits = false;
    s.program_signalers = {0, 2};
    const WaitForGraph g = build_wait_for(plan, s);
    REQUIRE(g.waits.size() == 2);
    CHECK(g.waits[0].text == "waits for a signal in its pause; signals sent so far by student/2 (dead)");
    CHECK(g.waits[0].edges.empty());
    CHECK(g.waits[1].text == "waits for a signal in its pause; signals sent so far by student, student/2 (dead)");
    CHECK(g.waits[1].edges == std::vector<int>{0});
    CHECK(g.cycle.empty());
}

TEST_CASE("the wait-for graph as DOT: processes, the semaphores they wait on, who holds them, the cycle in red") {
    const Plan plan = test::plan_of(kLocks);
    const WaitForGraph g = build_wait_for(plan, opposite_locks(plan));
    REQUIRE(g.waits[0].objects.size() == 1);
    CHECK(g.waits[0].objects[0].name == "locks.b");
    CHECK(g.waits[0].objects[0].held);
    CHECK(g.waits[0].objects[0].holders == std::vector<int>{1});
    CHECK(g.waits[0].op == "P locks.b");
    const std::string dot = wait_for_dot(g, "deadlock in locks");
    CHECK(dot.rfind("digraph wait_for {", 0) == 0);
    CHECK(dot.find("label=\"deadlock in locks, cycle left → right → left\"") != std::string::npos);
    CHECK(dot.find("p0 [label=\"left\" shape=ellipse color=red") != std::string::npos);
    CHECK(dot.find("idle") == std::string::npos);  // it waits for nothing and nobody waits for it
    CHECK(dot.find("o0 [label=\"locks.b\\n(semaphore)\" shape=box]") != std::string::npos);
    CHECK(dot.find("p0 -> o0 [label=\"P locks.b\" color=red") != std::string::npos);
    CHECK(dot.find("o0 -> p1 [label=\"held by\" color=red") != std::string::npos);
    CHECK(dot.find("o1 -> p0 [label=\"held by\" color=red") != std::string::npos);
}

TEST_CASE("as DOT without a known holder: dashed 'could release' edges, and no red outside the cycle") {
    const Plan plan = test::plan_of(kLocks);
    WaitSnapshot s = opposite_locks(plan);
    s.procs[1] = {};  // right is gone: left waits on locks.b, which nobody can release
    s.last_taker.clear();
    const WaitForGraph g = build_wait_for(plan, s);
    REQUIRE(g.cycle.empty());
    const std::string dot = wait_for_dot(g, "t");
    CHECK(dot.find("color=red") == std::string::npos);
    CHECK(dot.find("p0 -> o0 [label=\"P locks.b\"]") != std::string::npos);
    CHECK(dot.find("o0 ->") == std::string::npos);
}

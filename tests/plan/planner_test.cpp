// Name resolution, the fork tree and pipe ownership: each misuse is a
// positioned error; a valid scenario is planned as the agent needs it.
#include "../test_support.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <sys/ipc.h>

using simrun::test::error_of;
using simrun::test::first_line;
using simrun::test::plan_of;

namespace {
const std::string kObjects =
    "[ipc.sem.slots]\nmembers = { empty = 5, full = 0 }\n"  // lines 1-2
    "[ipc.shm.buf]\ncells = { count = 0, items = [0, 0] }\n"  // lines 3-4
    "[ipc.pipe.data]\nwriter = \"w\"\nreader = \"r\"\n";     // lines 5-7

std::string with(const std::string& rest) {
    return kObjects + "[[process]]\nname = \"w\"\nrun = []\n[[process]]\nname = \"r\"\nrun = []\n" + rest;  // lines 8-13
}
}  // namespace

TEST_CASE("unknown semaphores and cells suggest the closest name") {
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"P slots.emtpy\"]\n"))) ==
          "t.toml:16:11: error: unknown semaphore 'slots.emtpy' (did you mean 'slots.empty'?)");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"P slot.empty\"]\n"))) ==
          "t.toml:16:11: error: unknown semaphore set 'slot' (did you mean 'slots'?)");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"buf.cont += 1\"]\n"))) ==
          "t.toml:16:9: error: unknown cell 'buf.cont' (did you mean 'buf.count'?)");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"P zzz.a\"]\n"))) ==
          "t.toml:16:11: error: unknown semaphore set 'zzz'");
}

TEST_CASE("an object of the wrong kind is named as such") {
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"P buf.count\"]\n"))) ==
          "t.toml:16:11: error: 'buf' is a shared memory segment, not a semaphore set");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"slots.empty += 1\"]\n"))) ==
          "t.toml:16:9: error: 'slots' is a semaphore set, not a shared memory segment");
}

TEST_CASE("array cells need an index in range; scalars take none") {
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"buf.items = 1\"]\n"))) ==
          "t.toml:16:9: error: 'buf.items' is an array of 2; give an index, e.g. buf.items[0]");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"buf.items[2] = 1\"]\n"))) ==
          "t.toml:16:9: error: index 2 is out of range for 'buf.items' (length 2)");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"buf.count[0] = 1\"]\n"))) ==
          "t.toml:16:9: error: 'buf.count' is not an array");
}

TEST_CASE("one semop works on one set") {
    CHECK(first_line(error_of("[ipc.sem.a]\nmembers = { x = 1 }\n[ipc.sem.b]\nmembers = { y = 1 }\n"
                              "[[process]]\nname = \"p\"\nrun = [\"semop a.x -1, b.y -1\"]\n")) ==
          "t.toml:7:23: error: one semop works on one set; 'b' is not in set 'a'");
}

TEST_CASE("duplicate names") {
    CHECK(first_line(error_of(with("[[process]]\nname = \"w\"\nrun = []\n"))) ==
          "t.toml:15:8: error: duplicate process name 'w' (first declared on line 9)");
    CHECK(first_line(error_of("[ipc.sem.x]\nmembers = { a = 1 }\n[ipc.shm.x]\ncells = { a = 1 }\n"
                              "[[process]]\nname = \"p\"\nrun = []\n")) ==
          "t.toml:3:10: error: duplicate object name 'x' (already a semaphore set)");
}

TEST_CASE("the fork tree: unknown parents, ambiguous parents, cycles") {
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nparent = \"ww\"\nrun = []\n"))) ==
          "t.toml:16:10: error: unknown process 'ww' as parent (did you mean 'w'?)");
    CHECK(first_line(error_of("[[process]]\nname = \"a\"\ncount = 2\nrun = []\n"
                              "[[process]]\nname = \"b\"\nparent = \"a\"\nrun = []\n")) ==
          "t.toml:7:10: error: parent 'a' has 2 replicas; name one, e.g. 'a#0'");
    CHECK(first_line(error_of("[[process]]\nname = \"a\"\ncount = 2\nrun = []\n"
                              "[[process]]\nname = \"b\"\nparent = \"a#2\"\nrun = []\n")) ==
          "t.toml:7:10: error: process 'a' has replicas #0 to #1; 'a#2' is not one of them");
    CHECK(first_line(error_of("[[process]]\nname = \"a\"\nparent = \"b\"\nrun = []\n"
                              "[[process]]\nname = \"b\"\nparent = \"a\"\nrun = []\n")) ==
          "t.toml:3:10: error: the fork tree has a cycle through process 'a'");
    CHECK(first_line(error_of("[[process]]\nname = \"a\"\nparent = \"a\"\nrun = []\n")) ==
          "t.toml:3:10: error: the fork tree has a cycle through process 'a'");
    CHECK(first_line(error_of("[[process]]\nname = \"a\"\nexec = [\"true\"]\n"
                              "[[process]]\nname = \"b\"\nparent = \"a\"\nrun = []\n")) ==
          "t.toml:6:10: error: parent 'a' is an exec'd program; only scripted processes fork declared children");
}

TEST_CASE("pipes need both ends, held by the processes that use them") {
    CHECK(first_line(error_of("[ipc.pipe.p]\nwriter = \"a\"\n[[process]]\nname = \"a\"\nrun = []\n")) ==
          "t.toml:1:11: error: [ipc.pipe.p] needs 'reader' (a process name)");
    CHECK(first_line(error_of("[ipc.pipe.p]\nreader = \"a\"\n[[process]]\nname = \"a\"\nrun = []\n")) ==
          "t.toml:1:11: error: [ipc.pipe.p] needs 'writer' (a process name)");
    CHECK(first_line(error_of("[ipc.pipe.p]\nwriter = \"a\"\nreader = \"nobody\"\n[[process]]\nname = \"a\"\nrun = []\n")) ==
          "t.toml:3:10: error: unknown process 'nobody' as reader");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = ['write data \"x\"']\n"))) ==
          "t.toml:16:15: error: process 'p' does not hold the write end of pipe 'data' (its writer is 'w')");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"read data\"]\n"))) ==
          "t.toml:16:14: error: process 'p' does not hold the read end of pipe 'data' (its reader is 'r')");
    CHECK(first_line(error_of(with("[[process]]\nname = \"p\"\nrun = [\"close data\"]\n"))) ==
          "t.toml:16:15: error: process 'p' holds no end of pipe 'data'");
}

TEST_CASE("expressions resolve shm cells, semaphores and processes") {
    CHECK(first_line(error_of(with("[[expect]]\nfinal = \"buf.cout == 0\"\n"))) ==
          "t.toml:15:10: error: unknown cell 'buf.cout' (did you mean 'buf.count'?)");
    CHECK(first_line(error_of(with("[[expect]]\nfinal = \"bfu.count == 0\"\n"))) ==
          "t.toml:15:10: error: unknown object 'bfu' (expressions read shm cells, semaphores and queues) (did you mean 'buf'?)");
    CHECK(first_line(error_of(with("[[expect]]\nfinal = \"exit(x) == 0\"\n"))) ==
          "t.toml:15:15: error: unknown process 'x' in the expression");
}

TEST_CASE("a valid plan: replicas, fork tree, compiled ops, undo defaults") {
    auto plan = plan_of(R"(
[ipc.sem.lock]
members = { mutex = 1 }
undo = true
[ipc.sem.slots]
members = { empty = 5, full = 0 }
[ipc.shm.buf]
cells = { count = 0, items = [7, 8, 9] }
[[process]]
name = "producer"
count = 2
run = ["P slots.empty", "P lock.mutex", "V lock.mutex noundo", "buf.items[2] += 1 atomic"]
[[process]]
name = "child"
parent = "producer#1"
run = ["sleep 1ms"]
[[expect]]
final = "buf.items[2] == 9 && slots.full == 0"
)");
    REQUIRE(plan.processes.size() == 3);
    CHECK(plan.processes[0].name == "producer#0");
    CHECK(plan.processes[1].name == "producer#1");
    CHECK(plan.processes[2].name == "child");
    CHECK(plan.processes[2].parent == 1);
    CHECK(plan.processes[1].children == std::vector<int>{2});
    CHECK(plan.processes[0].first_op == plan.processes[1].first_op);  // replicas share a script
    REQUIRE(plan.ops.size() == 5);
    CHECK(simrun::op_verb(plan, plan.ops[0]) == std::string("P"));
    auto undo = [&](int i) { return (plan.ops[i].flags & simrun::kOpUndo) != 0; };
    CHECK_FALSE(undo(0));  // slots has no undo default
    CHECK(undo(1));        // lock does
    CHECK_FALSE(undo(2));  // unless the op says noundo
    CHECK(simrun::op_target(plan, plan.ops[3]) == "buf.items[2]");
    CHECK(plan.ops[3].slot == 3);
    CHECK(plan.cell_slots == 4);
    CHECK(plan.sem_values == 3);
    CHECK(plan.sem_label(2) == "slots.full");
    const auto& expr = plan.expects[0].expr;
    int refs = 0;
    for (const auto& n : expr.nodes)
        if (n.op == simrun::ExprOp::Ref) {
            ++refs;
            CHECK(n.slot >= 0);
        }
    CHECK(refs == 2);
}

TEST_CASE("faults: process, signal, one trigger, ops that exist, the right mode") {
    const std::string procs = "[ipc.sem.s]\nmembers = { m = 1 }\n[[process]]\nname = \"p\"\ncount = 2\nrun = [\"P s.m\", \"V s.m\"]\n";  // 1-6
    CHECK(first_line(error_of("[scenario]\nmode = \"controlled\"\n" + procs + "[[fault]]\nprocess = \"p\"\nat_step = 3\n")) ==
          "t.toml:10:11: error: 'p' has 2 replicas; name one, e.g. 'p#0'");
    CHECK(first_line(error_of(procs + "[[fault]]\nprocess = \"p#0\"\nat_step = 3\n")) ==
          "t.toml:8:11: error: 'at_step' needs controlled scheduling: mode = \"controlled\" or --controlled");
    CHECK(first_line(error_of("[scenario]\nmode = \"controlled\"\n" + procs + "[[fault]]\nprocess = \"p#0\"\nat = \"5ms\"\n")) ==
          "t.toml:10:11: error: 'at' (a time) needs free scheduling; in controlled mode use 'at_step' or 'after'");
    CHECK(first_line(error_of(procs + "[[fault]]\nprocess = \"p#1\"\nafter = \"P s.n\"\n")) ==
          "t.toml:9:9: error: process 'p#1' has no op 'P s.n' (did you mean 'P s.m'?)");
    CHECK(first_line(error_of(procs + "[[fault]]\nprocess = \"q\"\nafter = \"P s.m\"\n")) ==
          "t.toml:8:11: error: unknown process 'q' in [[fault]]");
    CHECK(first_line(error_of(procs + "[[fault]]\nprocess = \"p#0\"\nsignal = \"SIGFOO\"\nafter = \"P s.m\"\n")) ==
          "t.toml:9:10: error: unknown signal 'SIGFOO' (e.g. \"SIGKILL\", \"SIGTERM\", 9)");
    CHECK(first_line(error_of(procs + "[[fault]]\nprocess = \"p#0\"\nafter = \"P s.m\"\nat = \"1ms\"\n")) ==
          "t.toml:8:11: error: a [[fault]] needs exactly one of 'at_step', 'at' or 'after'");
    CHECK(first_line(error_of(procs + "[[fault]]\nprocess = \"p#0\"\nat = \"1ms\"\ncount = 2\n")) ==
          "t.toml:10:9: error: 'count' goes with 'after' (the n-th such op)");
    CHECK(first_line(error_of("[scenario]\nmode = \"fast\"\n" + procs)) ==
          "t.toml:2:8: error: mode must be \"free\" or \"controlled\", not 'fast'");

    // A count past what the process can complete is refused; with repeat = 2 the second V exists.
    CHECK(first_line(error_of(procs + "[[fault]]\nprocess = \"p#1\"\nsignal = \"TERM\"\nafter = \"V s.m\"\ncount = 2\n")) ==
          "t.toml:11:9: error: this fault can never fire: 'V s.m' completes at most 1 time in 'p#1' (count = 2)");
    auto plan = plan_of(std::string(procs).replace(procs.find("run ="), 0, "repeat = 2\n") +
                        "[[fault]]\nprocess = \"p#1\"\nsignal = \"TERM\"\nafter = \"V s.m\"\ncount = 2\n");
    REQUIRE(plan.faults.size() == 1);
    CHECK(plan.faults[0].proc == 1);
    CHECK(plan.faults[0].signal == SIGTERM);
    CHECK(plan.faults[0].trigger == simrun::FaultTrigger::AfterOp);
    CHECK(plan.faults[0].ops == std::vector<std::uint32_t>{1});
    CHECK(plan.faults[0].count == 2);
    CHECK(plan.mode == simrun::SchedMode::Free);
}

TEST_CASE("the command line's mode is what validation sees") {
    auto decl = simrun::read_scenario("t.toml", "[[process]]\nname = \"p\"\nrun = []\n[[fault]]\nprocess = \"p\"\nat_step = 1\n");
    REQUIRE(decl.ok());
    CHECK_FALSE(simrun::make_plan(decl.value()).ok());
    auto plan = simrun::make_plan(decl.value(), {simrun::SchedMode::Controlled});
    REQUIRE(plan.ok());
    CHECK(plan->mode == simrun::SchedMode::Controlled);
}

TEST_CASE("message queues: kinds, ops and statistics") {
    const std::string objs = "[ipc.msg.q]\n[ipc.mq.m]\nmax_messages = 4\n";  // lines 1-3
    CHECK(first_line(error_of(objs + "[[process]]\nname = \"p\"\nrun = [\"recv m 3\"]\n")) ==
          "t.toml:6:14: error: 'm' is a POSIX queue: it delivers the highest priority first; recv takes no type");
    CHECK(first_line(error_of(objs + "[[process]]\nname = \"p\"\nrun = [\"recv qq\"]\n")) ==
          "t.toml:6:14: error: unknown message queue 'qq' (did you mean 'q'?)");
    CHECK(first_line(error_of(objs + "[[process]]\nname = \"p\"\nrun = ['send q \"x\" undo']\n")) ==
          "t.toml:6:20: error: undo applies to semaphores only");
    CHECK(first_line(error_of(objs + "[[process]]\nname = \"p\"\nrun = [\"send q 2\"]\n")) ==
          "t.toml:6:17: error: expected the quoted message text");
    CHECK(first_line(error_of("[ipc.mq.m]\nmax_messages = 11\n[[process]]\nname = \"p\"\nrun = []\n")) ==
          "t.toml:2:16: error: max_messages must be between 1 and 10, got 11");
    CHECK(first_line(error_of("[ipc.msg.q]\nmax_messages = 3\n[[process]]\nname = \"p\"\nrun = []\n")) ==
          "t.toml:2:1: error: unknown key 'max_messages' in [ipc.msg.q]");
    CHECK(first_line(error_of(objs + "[[process]]\nname = \"p\"\nrun = []\n[[expect]]\nfinal = \"m.bytes == 0\"\n")) ==
          "t.toml:8:10: error: a POSIX queue has 'm.messages'");

    auto plan = plan_of(objs + "[[process]]\nname = \"p\"\nrun = ['send q \"a\"', 'send m 7 \"b\" nowait', \"recv q -3\", \"recv m\"]\n"
                               "[[expect]]\nfinal = \"q.messages + q.bytes + m.messages == 0\"\n");
    REQUIRE(plan.queues.size() == 2);
    CHECK(plan.queues[1].max_messages == 4);
    CHECK(plan.ops[0].value == 1);  // System V: mtype 1 unless given
    CHECK(plan.ops[1].value == 7);
    CHECK((plan.ops[1].flags & simrun::kOpNoWait) != 0);
    CHECK(plan.ops[2].value == -3);  // msgrcv's msgtyp: lowest type <= 3
    CHECK(plan.texts[plan.ops[1].first] == "b");
    CHECK(plan.queue_stat_label(1) == "q.bytes");
}

TEST_CASE("FIFOs: opened by any process; anonymous pipes cannot be opened") {
    CHECK(first_line(error_of("[ipc.pipe.p]\nwriter = \"a\"\nreader = \"a\"\n[[process]]\nname = \"a\"\nrun = [\"open p read\"]\n")) ==
          "t.toml:6:14: error: 'p' is an anonymous pipe: its ends are open from the start (declare [ipc.fifo.p] for a FIFO)");
    CHECK(first_line(error_of("[ipc.fifo.f]\n[[process]]\nname = \"a\"\nrun = [\"open f both\"]\n")) ==
          "t.toml:4:16: error: expected 'read' or 'write', got 'both'");
    CHECK(first_line(error_of("[ipc.fifo.f]\nmode = 1\n[[process]]\nname = \"a\"\nrun = []\n")) ==
          "t.toml:2:1: error: unknown key 'mode' in [ipc.fifo.f]");
    auto plan = plan_of("[ipc.fifo.f]\n[[process]]\nname = \"a\"\nrun = [\"open f write\", 'write f \"x\"', \"read f\", \"close f\"]\n");
    REQUIRE(plan.pipes.size() == 1);
    CHECK(plan.pipes[0].role == simrun::PipeRole::Fifo);
    CHECK(plan.ops[0].kind == simrun::OpKind::FifoOpen);
    CHECK(plan.ops[0].value == 1);
}

TEST_CASE("signals and processes: dispositions, targets, masks, fork and wait") {
    const std::string two = "[[process]]\nname = \"a\"\n";  // lines 1-2
    CHECK(first_line(error_of(two + "signals = { SIGKILL = \"ignore\" }\nrun = []\n")) ==
          "t.toml:3:13: error: SIGKILL cannot be caught or ignored");
    CHECK(first_line(error_of(two + "signals = { SIGFOO = \"count\" }\nrun = []\n")) == "t.toml:3:13: error: unknown signal 'SIGFOO'");
    CHECK(first_line(error_of(two + "signals = { SIGUSR1 = \"catch\" }\nrun = []\n")) ==
          "t.toml:3:23: error: disposition must be default, ignore, count, record or terminate, not 'catch'");
    CHECK(first_line(error_of(two + "run = [\"block SIGSTOP\"]\n")) == "t.toml:3:15: error: SIGSTOP cannot be blocked");
    CHECK(first_line(error_of(two + "run = [\"kill b SIGUSR1\"]\n")) == "t.toml:3:14: error: unknown process 'b' to signal");
    CHECK(first_line(error_of(two + "run = [\"kill a SIGNOPE\"]\n")) == "t.toml:3:16: error: unknown signal 'SIGNOPE'");
    CHECK(first_line(error_of(two + "run = [\"sigqueue a SIGUSR1\"]\n")) == "t.toml:3:27: error: expected an int value to queue");
    CHECK(first_line(error_of(two + "run = [\"fork b\"]\n[[process]]\nname = \"b\"\nrun = []\n")) ==
          "t.toml:3:14: error: 'b' is not a child of 'a' (declare parent = \"a\")");
    CHECK(first_line(error_of(two + "run = [\"wait b\"]\n[[process]]\nname = \"b\"\ncount = 2\nparent = \"a\"\nrun = []\n")) ==
          "t.toml:3:14: error: 'b' has 2 replicas; wait for one, e.g. b#0, or for any child with 'wait'");
    CHECK(first_line(error_of(two + "repeat = 2\nrun = [\"fork b\"]\n[[process]]\nname = \"b\"\nparent = \"a\"\nrun = []\n")) ==
          "t.toml:4:14: error: a process that forks in its run list cannot repeat it (repeat = 1)");
    CHECK(first_line(error_of(two + "run = [\"crash badly\"]\n")) == "t.toml:3:15: error: expected 'segv' or 'abort', got 'badly'");
    CHECK(first_line(error_of(two + "run = []\n[[expect]]\nfinal = \"received(a, SIGWHAT) == 1\"\n")) ==
          "t.toml:5:22: error: unknown signal 'SIGWHAT'");
    CHECK(first_line(error_of(two + "run = [\"raise SIGUSR1\"]\n[[expect]]\nfinal = \"count(raise SIGUSR2) == 1\"\n")) ==
          "t.toml:5:16: error: no process has the op 'raise SIGUSR2' (did you mean 'raise SIGUSR1'?)");
    CHECK(first_line(error_of(two + "run = []\n[[expect]]\nstdout = \"a\"\nequals = \"x\"\n")) ==
          "t.toml:5:10: error: 'a' is scripted: only exec'd programs have their stdout captured");
    CHECK(first_line(error_of("[[process]]\nname = \"a\"\nexec = [\"true\"]\n[[expect]]\nstdout = \"a\"\nmatches = \"(\"\n")).rfind(
              "t.toml:6:11: error: invalid regular expression", 0) == 0);
    CHECK(first_line(error_of(two + "run = []\n[[expect]]\nequals = \"x\"\n")) == "t.toml:5:10: error: 'equals' goes with 'stdout = \"PROCESS\"'");

    auto plan = plan_of(two + "signals = { SIGUSR1 = \"count\", SIGINT = \"ignore\" }\n"
                              "run = [\"fork b\", \"block SIGUSR1 SIGUSR2\", \"sigqueue b SIGRTMIN+1 7\", \"wait\"]\n"
                              "[[process]]\nname = \"b\"\nparent = \"a\"\nrun = []\n");
    CHECK(plan.processes[0].handled == (1ull << (SIGUSR1 - 1)));
    CHECK(plan.processes[0].disposition(SIGINT) == simrun::Disposition::Ignore);
    CHECK(plan.processes[0].forked_by_op == std::vector<int>{1});
    CHECK(plan.ops[1].value == static_cast<std::int64_t>((1ull << (SIGUSR1 - 1)) | (1ull << (SIGUSR2 - 1))));
    CHECK(plan.ops[2].slot == static_cast<std::uint32_t>(SIGRTMIN + 1));
    CHECK(plan.ops[2].value == 7);
    CHECK(std::string(simrun::op_verb(plan, plan.ops[2])) == "sigqueue");
    CHECK(plan.ops[3].object == simrun::kSelf);
}

TEST_CASE("keys, *get and semctl") {
    const std::string set = "[ipc.sem.s]\nmembers = { a = 1 }\n";  // lines 1-2
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = { a = 1 }\nkey = \"public\"\n[[process]]\nname = \"p\"\nrun = []\n")) ==
          "t.toml:3:7: error: key must be a number, \"private\" or { ftok = PATH, proj = N }");
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = { a = 1 }\nmode = 0o1777\n[[process]]\nname = \"p\"\nrun = []\n")) ==
          "t.toml:3:8: error: mode must be between 0 and 511, got 1023");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semget s 2 maybe\"]\n")) ==
          "t.toml:5:20: error: unexpected 'maybe' (flags are create, excl, mode 0640)");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semget s mode 999\"]\n")) ==
          "t.toml:5:23: error: expected an octal mode such as 0640");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s.a SETVAL\"]\n")) ==
          "t.toml:5:26: error: SETVAL needs a value from 0 to 32767");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s.a STAT\"]\n")) ==
          "t.toml:5:20: error: unknown semctl command 'STAT' (SETVAL, GETVAL, GETNCNT, GETZCNT, SETALL, GETALL, IPC_STAT, IPC_SET, IPC_RMID)");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s GETVAL\"]\n")) ==
          "t.toml:5:16: error: GETVAL works on one semaphore: name a member");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s.a IPC_RMID\"]\n")) ==
          "t.toml:5:16: error: IPC_RMID works on the whole set: name the set, not a member");
    CHECK(first_line(error_of(set + "[ipc.pshm.m]\ncells = { x = 0 }\n[[process]]\nname = \"p\"\nrun = [\"shmget m\"]\n")) ==
          "t.toml:7:16: error: 'm' is a shared memory segment, not a System V shared memory segment");

    auto plan = plan_of("[ipc.sem.s]\nmembers = { a = 1, b = 2 }\nkey = { ftok = \"/\", proj = 9 }\n"
                        "[[process]]\nname = \"p\"\nrun = [\"semget s create excl mode 0640\", \"semctl s.b SETVAL 5\"]\n"
                        "[[expect]]\nfinal = \"errno(semget s create excl mode 0640) == EEXIST && SIGUSR1 == 10\"\n");
    CHECK(plan.sems[0].key.kind == simrun::KeyDecl::Ftok);
    CHECK(plan.sems[0].key.proj == 9);
    CHECK(plan.ops[0].value == 2);  // nsems: the declared size unless given
    CHECK(plan.ops[0].slot == static_cast<std::uint32_t>(IPC_CREAT | IPC_EXCL | 0640));
    CHECK(plan.ops[1].count == simrun::kSetval);
    CHECK(plan.ops[1].slot == 1);
    CHECK(plan.ops[1].value == 5);
}

TEST_CASE("shmctl and before()") {
    const std::string seg = "[ipc.shm.m]\ncells = { x = 0 }\n[ipc.msg.q]\n";  // lines 1-3
    CHECK(first_line(error_of(seg + "[[process]]\nname = \"p\"\nrun = [\"shmctl m IPC_INFO\"]\n")) ==
          "t.toml:6:18: error: unknown shmctl command 'IPC_INFO' (IPC_STAT, IPC_SET, IPC_RMID)");
    CHECK(first_line(error_of(seg + "[[process]]\nname = \"p\"\nrun = [\"shmctl m IPC_SET\"]\n")) ==
          "t.toml:6:25: error: usage: IPC_SET [uid N] [gid N] [mode 0640]");
    CHECK(first_line(error_of(seg + "[[process]]\nname = \"p\"\nrun = [\"msgctl q IPC_STAT now\"]\n")) ==
          "t.toml:6:27: error: unexpected 'now' (usage: msgctl OBJECT IPC_STAT)");
    CHECK(first_line(error_of(seg + "[[process]]\nname = \"p\"\nrun = [\"shmctl q IPC_STAT\"]\n")) ==
          "t.toml:6:16: error: 'q' is a System V message queue, not a System V shared memory segment");
    CHECK(first_line(error_of(seg + "[[process]]\nname = \"p\"\nrun = ['send q \"x\"']\n[[expect]]\nfinal = \"before(send q, recv q)\"\n")) ==
          "t.toml:8:25: error: no process has the op 'recv q'");
    CHECK(first_line(error_of(seg + "[[process]]\nname = \"p\"\nrun = []\n[[expect]]\nfinal = \"before(send q)\"\n")) ==
          "t.toml:8:17: error: expected before(OP, OP), e.g. before(send q, recv q)");
    auto plan = plan_of(seg + "[[process]]\nname = \"p\"\nrun = ['send q \"x\"', \"recv q\", \"shmctl m IPC_STAT\"]\n"
                              "[[expect]]\nfinal = \"before(send q, recv q)\"\n");
    const auto& before = plan.expects[0].expr.nodes[plan.expects[0].expr.root];
    CHECK(before.ops == std::vector<std::uint32_t>{0});
    CHECK(before.ops2 == std::vector<std::uint32_t>{1});
    CHECK(plan.ops[2].count == simrun::kIpcStat);
}

TEST_CASE("semctl on the whole set") {
    const std::string set = "[ipc.sem.s]\nmembers = { a = 1, b = 2 }\n";  // lines 1-2
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s SETALL 1\"]\n")) ==
          "t.toml:5:16: error: SETALL on 's' needs 2 values, one per member; got 1");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s.a GETALL\"]\n")) ==
          "t.toml:5:16: error: GETALL works on the whole set: name the set, not a member");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s IPC_SET 0600\"]\n")) ==
          "t.toml:5:26: error: unexpected '0600' (usage: IPC_SET [uid N] [gid N] [mode 0640])");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s IPC_SET mode 0600 mode 0644\"]\n")) ==
          "t.toml:5:36: error: mode given twice");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s IPC_SET uid\"]\n")) ==
          "t.toml:5:29: error: missing value after uid");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s IPC_SET gid -1\"]\n")) ==
          "t.toml:5:30: error: expected a numeric gid from 0 to 2147483647");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s IPC_SET mode 0999\"]\n")) ==
          "t.toml:5:31: error: expected an octal mode such as 0640");
    CHECK(first_line(error_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s SETALL 1 40000\"]\n")) ==
          "t.toml:5:27: error: SETALL values are 0 to 32767");
    auto plan = plan_of(set + "[[process]]\nname = \"p\"\nrun = [\"semctl s SETALL 7 8\", \"semctl s IPC_SET mode 0644\", \"semctl s IPC_SET gid 5 uid 7\"]\n");
    CHECK(plan.ops[0].count == simrun::kSetall);
    CHECK(plan.sem_terms[plan.ops[0].first].delta == 7);
    CHECK(plan.sem_terms[plan.ops[0].first + 1].delta == 8);
    CHECK(plan.ops[1].value == 0644);
    CHECK(plan.ops[1].slot == simrun::kUnchanged);
    CHECK(plan.ops[1].first == simrun::kUnchanged);
    CHECK(plan.ops[2].value == -1);
    CHECK(plan.ops[2].slot == 7);
    CHECK(plan.ops[2].first == 5);
}

TEST_CASE("msgctl") {
    CHECK(first_line(error_of("[ipc.mq.m]\n[[process]]\nname = \"p\"\nrun = [\"msgctl m IPC_STAT\"]\n")) ==
          "t.toml:4:16: error: 'm' is a POSIX message queue, not a System V message queue");
    CHECK(first_line(error_of("[ipc.msg.q]\n[[process]]\nname = \"p\"\nrun = [\"msgctl q IPC_INFO\"]\n")) ==
          "t.toml:4:18: error: unknown msgctl command 'IPC_INFO' (IPC_STAT, IPC_SET, IPC_RMID)");
    auto plan = plan_of("[ipc.msg.q]\n[[process]]\nname = \"p\"\nrun = [\"msgctl q IPC_RMID\"]\n");
    CHECK(plan.ops[0].kind == simrun::OpKind::Msgctl);
    CHECK(plan.ops[0].count == simrun::kIpcRmid);
}

// Every kind of bad scenario input gets one positioned error with an exact
// message. Valid input is read completely.
#include "../test_support.hpp"

#include <doctest/doctest.h>

#include <csignal>

using simrun::test::error_of;
using simrun::test::first_line;

namespace {
const std::string kProc = "[[process]]\nname = \"p\"\nrun = [\"sleep 1ms\"]\n";
}

TEST_CASE("an error renders as path:line:col, the line, and a caret") {
    CHECK(error_of("[scenario]\nnmae = \"x\"\n" + kProc) ==
          "t.toml:2:1: error: unknown key 'nmae' in [scenario] (did you mean 'name'?)\n"
          "nmae = \"x\"\n"
          "^\n");
}

TEST_CASE("TOML syntax errors keep toml++'s position") {
    CHECK(first_line(error_of("[scenario\n")).rfind("t.toml:1:", 0) == 0);
    CHECK(first_line(error_of("x = = 1\n")).rfind("t.toml:1:", 0) == 0);
}

TEST_CASE("unknown keys, with a suggestion when one is close") {
    CHECK(first_line(error_of("[senario]\n" + kProc)) ==
          "t.toml:1:2: error: unknown key 'senario' in the scenario file (did you mean 'scenario'?)");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\ncont = 2\nrun = []\n")) ==
          "t.toml:3:1: error: unknown key 'cont' in [[process]] (did you mean 'count'?)");
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = { a = 1 }\nundoo = true\n" + kProc)) ==
          "t.toml:3:1: error: unknown key 'undoo' in [ipc.sem.s] (did you mean 'undo'?)");
    CHECK(first_line(error_of("[ipc.queue.q]\n" + kProc)) == "t.toml:1:6: error: unknown key 'queue' in [ipc]");
    CHECK(first_line(error_of(kProc + "[[expect]]\nfinall = \"1\"\n")) ==
          "t.toml:5:1: error: unknown key 'finall' in [[expect]] (did you mean 'final'?)");
}

TEST_CASE("wrong types") {
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\ncount = \"2\"\nrun = []\n")) ==
          "t.toml:3:9: error: count must be an integer, not a string");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = \"P s.a\"\n")) ==
          "t.toml:3:7: error: 'run' must be an array of op strings, not a string");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [1]\n")) ==
          "t.toml:3:8: error: an op must be a string, not an integer");
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = { a = 1 }\nundo = 1\n" + kProc)) ==
          "t.toml:3:8: error: undo must be true or false, not an integer");
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = [1]\n" + kProc)) ==
          "t.toml:2:11: error: members must be a table, not an array");
    CHECK(first_line(error_of("[ipc.shm.b]\ncells = { x = 1.5 }\n" + kProc)) ==
          "t.toml:2:15: error: cell value must be an integer, not a float");
    CHECK(first_line(error_of("[scenario]\ntimeout = 10\n" + kProc)) ==
          "t.toml:2:11: error: timeout must be a string, not an integer");
    CHECK(first_line(error_of("process = 3\n")) == "t.toml:1:11: error: process must be an array of tables ([[process]])");
}

TEST_CASE("values out of range") {
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = { a = 40000 }\n" + kProc)) ==
          "t.toml:2:17: error: semaphore value must be between 0 and 32767, got 40000");
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = { a = -1 }\n" + kProc)) ==
          "t.toml:2:17: error: semaphore value must be between 0 and 32767, got -1");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\ncount = 0\nrun = []\n")) ==
          "t.toml:3:9: error: count must be between 1 and 100000, got 0");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrepeat = -3\nrun = []\n")) ==
          "t.toml:3:10: error: repeat must be between 0 and 1000000000, got -3");
    CHECK(first_line(error_of("[scenario]\ntimeout = \"soon\"\n" + kProc)) ==
          "t.toml:2:11: error: timeout must be a duration such as \"10s\" or \"500ms\"");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"exit 300\"]\n")) ==
          "t.toml:3:14: error: exit code must be 0..255");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"P s.a 0\"]\n")) ==
          "t.toml:3:15: error: count must be between 1 and 32767");
}

TEST_CASE("required pieces") {
    CHECK(first_line(error_of("[scenario]\nname = \"x\"\n")) == "t.toml:1:1: error: the scenario declares no [[process]]");
    CHECK(first_line(error_of("[[process]]\nrun = []\n")) == "t.toml:1:1: error: [[process]] needs a 'name'");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\n")) ==
          "t.toml:2:8: error: process 'p' needs 'run' (a list of ops) or 'exec' (argv of a program)");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = []\nexec = [\"ls\"]\n")) ==
          "t.toml:4:8: error: process 'p' has both 'run' and 'exec'; give one");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nexec = []\n")) ==
          "t.toml:3:8: error: 'exec' must be a non-empty array: the program and its arguments");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = []\nstdin = \"x\"\n")) ==
          "t.toml:4:9: error: 'stdin' applies to 'exec' processes only");
    CHECK(first_line(error_of("[ipc.sem.s]\nundo = true\n" + kProc)) ==
          "t.toml:1:10: error: [ipc.sem.s] needs 'members', e.g. members = { mutex = 1 }");
    CHECK(first_line(error_of("[ipc.sem.s]\nmembers = {}\n" + kProc)) ==
          "t.toml:2:11: error: a semaphore set needs at least one member");
    CHECK(first_line(error_of("[ipc.shm.b]\ncells = { a = [] }\n" + kProc)) ==
          "t.toml:2:15: error: an array cell holds 1 to 65536 integers");
    CHECK(first_line(error_of(kProc + "[[expect]]\nname = \"x\"\n")) ==
          "t.toml:5:8: error: [[expect]] needs one of 'final', 'always', 'outcome' or 'stdout'");
    CHECK(first_line(error_of(kProc + "[[expect]]\nfinal = \"1\"\nalways = \"1\"\n")) ==
          "t.toml:6:10: error: an [[expect]] takes one of 'final', 'always', 'outcome'");
    CHECK(first_line(error_of(kProc + "[[expect]]\noutcome = \"crashed\"\n")) ==
          "t.toml:5:11: error: outcome must be completed, deadlock, livelock, timeout or \"trace limit\", not 'crashed'");
}

TEST_CASE("malformed names") {
    CHECK(first_line(error_of("[[process]]\nname = \"a b\"\nrun = []\n")) ==
          "t.toml:2:8: error: process name 'a b' must start with a letter or '_' and hold only letters, digits and '_'");
    CHECK(first_line(error_of("[ipc.sem.\"9x\"]\nmembers = { a = 1 }\n" + kProc)) ==
          "t.toml:1:10: error: object name '9x' must start with a letter or '_' and hold only letters, digits and '_'");
}

TEST_CASE("malformed ops point inside the op string") {
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"sned q \\\"x\\\"\"]\n")) ==
          "t.toml:3:9: error: unknown op 'sned' (did you mean 'send'?) (the ops are listed in docs/scenario-format.md)");
    CHECK(error_of("[[process]]\nname = \"p\"\nrun = [\"sleep 1ms\", \"Q s.a\"]\n") ==
          "t.toml:3:22: error: unknown op 'Q' (the ops are listed in docs/scenario-format.md)\n"
          "run = [\"sleep 1ms\", \"Q s.a\"]\n"
          "                     ^\n");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"sleep soon\"]\n")) ==
          "t.toml:3:15: error: expected a duration such as 10ms, got 'soon'");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"P\"]\n")) ==
          "t.toml:3:10: error: expected a semaphore after P");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"P mutex\"]\n")) ==
          "t.toml:3:11: error: unknown POSIX semaphore 'mutex'");
    CHECK(first_line(error_of("[ipc.sem.lock]\nmembers = { m = 1 }\n[[process]]\nname = \"p\"\nrun = [\"P lock\"]\n")) ==
          "t.toml:5:11: error: 'lock' is a System V semaphore set: name a member, e.g. lock.m");
    CHECK(first_line(error_of("[ipc.psem.s]\n[[process]]\nname = \"p\"\nrun = [\"P s undo\"]\n")) ==
          "t.toml:4:11: error: SEM_UNDO exists for System V semaphores only");
    CHECK(first_line(error_of("[ipc.psem.s]\n[[process]]\nname = \"p\"\nrun = [\"V s timeout 1ms\"]\n")) ==
          "t.toml:4:11: error: only P waits: a timeout goes with P");
    CHECK(first_line(error_of("[ipc.psem.s]\nvalue = -1\n[[process]]\nname = \"p\"\nrun = []\n")) ==
          "t.toml:2:9: error: value must be between 0 and 32767, got -1");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"P s.a undo later\"]\n")) ==
          "t.toml:3:20: error: unexpected 'later' (flags are undo, noundo, nowait)");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"b.x += many\"]\n")) ==
          "t.toml:3:16: error: expected a number, got 'many'");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = ['write p hello']\n")) ==
          "t.toml:3:17: error: expected a quoted string");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = ['write p \"hello']\n")) ==
          "t.toml:3:17: error: unterminated string");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = [\"\"]\n")) == "t.toml:3:9: error: empty op");
}

TEST_CASE("malformed expressions point inside the expression") {
    CHECK(error_of(kProc + "[[expect]]\nfinal = \"b.x == \"\n") ==
          "t.toml:5:17: error: expression ends too early\n"
          "final = \"b.x == \"\n"
          "                ^\n");
    CHECK(first_line(error_of(kProc + "[[expect]]\nfinal = \"(b.x == 1\"\n")) == "t.toml:5:19: error: expected ')'");
    CHECK(first_line(error_of(kProc + "[[expect]]\nalways = \"count > 1\"\n")) ==
          "t.toml:5:11: error: expected 'object.member' (a shm cell, a semaphore or a queue), got 'count'");
    CHECK(first_line(error_of(kProc + "[[expect]]\nfinal = \"b.x = 1\"\n")) == "t.toml:5:14: error: unexpected '='");
}

TEST_CASE("a valid scenario is read completely") {
    auto decl = simrun::read_scenario("t.toml", R"(
[scenario]
name = "demo"
description = "d"
timeout = "2s"
[ipc.sem.s]
members = { a = 1, b = 0 }
undo = true
[ipc.shm.b]
cells = { x = 3, arr = [1, 2] }
[ipc.pipe.p]
writer = "w"
reader = "r"
[[process]]
name = "w"
count = 2
repeat = 4
run = ["P s.a", "V s.b 2 noundo", "semop s.a -1, s.b +1 nowait", "b.x += 1 atomic", "b.arr[1] = 5", 'write p "hi\n"']
[[process]]
name = "r"
parent = "w#1"
run = ["read p all", "exit 3"]
[[expect]]
name = "e"
always = "0 <= b.x <= 9"
)");
    REQUIRE(decl.ok());
    const auto& d = decl.value();
    CHECK(d.name == "demo");
    CHECK(d.timeout_ns == 2'000'000'000);
    REQUIRE(d.sems.size() == 1);
    CHECK(d.sems[0].undo);
    CHECK(d.sems[0].members[1].name == "b");
    REQUIRE(d.shms[0].cells.size() == 2);
    CHECK(d.shms[0].cells[1].is_array);
    CHECK(d.shms[0].cells[1].initial == std::vector<std::int64_t>{1, 2});
    REQUIRE(d.processes.size() == 2);
    CHECK(d.processes[0].count == 2);
    CHECK(d.processes[0].repeat == 4);
    CHECK(d.processes[0].run.size() == 6);
    CHECK(d.processes[1].parent->name == "w#1");
    CHECK(d.expects[0].kind == simrun::ExpectKind::Always);
}

TEST_CASE("signal names") {
    CHECK(simrun::parse_signal("SIGUSR1") == SIGUSR1);
    CHECK(simrun::parse_signal("USR2") == SIGUSR2);
    CHECK(simrun::parse_signal("9") == SIGKILL);
    CHECK(simrun::parse_signal("SIGRTMIN") == SIGRTMIN);
    CHECK(simrun::parse_signal("SIGRTMIN+2") == SIGRTMIN + 2);
    CHECK(simrun::parse_signal("RTMAX-1") == SIGRTMAX - 1);
    CHECK(simrun::parse_signal("SIGRTMIN+99") == 0);
    CHECK(simrun::parse_signal("SIGFOO") == 0);
    CHECK(simrun::parse_signal("0") == 0);
    CHECK(simrun::signal_name(SIGTERM) == "SIGTERM");
    CHECK(simrun::signal_name(SIGRTMIN + 3) == "SIGRTMIN+3");
    CHECK(simrun::parse_signal(simrun::signal_name(SIGRTMIN + 3)) == SIGRTMIN + 3);
}

TEST_CASE("exec'd programs: stdin_file and env") {
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = []\nenv = { A = \"1\" }\n")) ==
          "t.toml:4:7: error: 'env' applies to 'exec' processes only");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nexec = [\"cat\"]\nstdin = \"x\"\nstdin_file = \"f\"\n")) ==
          "t.toml:5:14: error: give 'stdin' or 'stdin_file', not both");
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nexec = [\"cat\"]\nenv = { A = 1 }\n")) ==
          "t.toml:4:13: error: an environment value must be a string, not an integer");
    auto plan = simrun::test::plan_of("[[process]]\nname = \"p\"\nexec = [\"cat\"]\nstdin_file = \"in.txt\"\nenv = { A = \"1\" }\n");
    CHECK(plan.processes[0].stdin_file == "./in.txt");  // t.toml has no folder: relative to "."
    CHECK(plan.processes[0].env == std::vector<std::pair<std::string, std::string>>{{"A", "1"}});
}

TEST_CASE("limits: what is written, checked; the rest from [limits] and the defaults") {
    const std::string prog = "[[process]]\nname = \"p\"\nexec = [\"true\"]\n";  // lines 1-3
    CHECK(first_line(error_of(prog + "limits = { cpu = \"fast\" }\n")) ==
          "t.toml:4:18: error: cpu must be a duration such as \"2s\" or \"500ms\"");
    CHECK(first_line(error_of(prog + "limits = { memory = \"12 parsecs\" }\n")) ==
          "t.toml:4:21: error: memory must be a size such as \"64MiB\", \"512KiB\" or a number of bytes");
    CHECK(first_line(error_of(prog + "limits = { memory = 0 }\n")) ==
          "t.toml:4:21: error: memory must be a size such as \"64MiB\", \"512KiB\" or a number of bytes");
    CHECK(first_line(error_of(prog + "limits = { processes = 0 }\n")).rfind("t.toml:4:24: error: processes", 0) == 0);
    CHECK(first_line(error_of(prog + "limits = { open_files = 8 }\n")).rfind("t.toml:4:25: error: open_files", 0) == 0);
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = []\ntrace = false\n")) ==
          "t.toml:4:9: error: 'trace' applies to 'exec' processes only (scripted ones are always traced)");
    CHECK(first_line(error_of(prog + "limits = { cpus = \"1s\" }\n")).rfind("t.toml:4:12: error: unknown key 'cpus' in limits", 0) == 0);
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = []\nlimits = { cpu = \"1s\" }\n")) ==
          "t.toml:4:10: error: 'limits' apply to 'exec' processes only");
    CHECK(first_line(error_of("[limits]\nwall = \"never\"\n" + prog)) == "t.toml:2:8: error: wall must be a duration such as \"2s\" or \"500ms\"");
    auto plan = simrun::test::plan_of("[scenario]\ntimeout = \"3s\"\n[limits]\nmemory = \"64MiB\"\noutput = 1000\n" + prog +
                                      "limits = { memory = \"2GiB\", file_size = \"10kB\" }\n" + "[[process]]\nname = \"q\"\nexec = [\"true\"]\n");
    const auto& p = plan.processes[0].limits;
    const auto& q = plan.processes[1].limits;
    CHECK(p.memory == (2LL << 30));
    CHECK(p.file_size == 10000);
    CHECK(p.output == 1000);
    CHECK(q.memory == (64LL << 20));
    CHECK(q.cpu_ns == 3'000'000'000);
    CHECK(q.wall_ns == 3'000'000'000);
    CHECK(q.processes == 256);
    CHECK(q.open_files == 256);
}

TEST_CASE("workdir must be a folder that exists") {
    CHECK(first_line(error_of("[[process]]\nname = \"p\"\nrun = []\nworkdir = \"/tmp\"\n")) ==
          "t.toml:4:11: error: 'workdir' applies to 'exec' processes only");
    auto decl = simrun::read_scenario("t.toml", "[[process]]\nname = \"p\"\nexec = [\"true\"]\nworkdir = \"/nonexistent/dir\"\n");
    REQUIRE(decl);
    auto plan = simrun::make_plan(decl.value());
    REQUIRE(plan);
    CHECK(plan->processes[0].workdir == "/nonexistent/dir");
}

TEST_CASE("more than max_processes processes (1000 unless [scenario] raises it) is an error at the count that crosses it") {
    const std::string two = "[[process]]\nname = \"a\"\ncount = 600\nrun = []\n[[process]]\nname = \"b\"\ncount = 500\nrun = []\n";
    CHECK(first_line(error_of(two)) ==
          "t.toml:7:9: error: the scenario declares 1100 processes (replicas counted), more than its max_processes, 1000; raise it in "
          "[scenario]: max_processes = 1100 (at most 100000)");
    CHECK(first_line(error_of("[scenario]\nmax_processes = 1100\n" + two)).empty());
    CHECK(first_line(error_of("[scenario]\nmax_processes = 200000\n" + two)) ==
          "t.toml:2:17: error: max_processes must be between 1 and 100000, got 200000");
}

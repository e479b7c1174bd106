// count(call ...), errors(call ...), errno(call ...): a program's calls in
// expressions, each misuse a positioned error; and suggestions that keep
// the verb an op was written with.
#include "../test_support.hpp"

#include "util/call_names.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>

using simrun::test::error_of;
using simrun::test::first_line;
using simrun::test::plan_of;

namespace {
// Lines 1-7; an expectation written on line 9 starts its text at column 10.
const std::string kProgram =
    "[ipc.sem.lock]\nmembers = { mutex = 1 }\n[ipc.msg.q]\n"
    "[[process]]\nname = \"student\"\nexec = [\"/bin/true\"]\n[[process]]\nname = \"s\"\nrun = ['send q \"x\"']\n";

std::string expect(const std::string& final_text) { return kProgram + "[[expect]]\nfinal = \"" + final_text + "\"\n"; }
}  // namespace

TEST_CASE("a call filter is planned with every part resolved") {
    auto plan = plan_of(expect("count(call semop on lock by student returning 0) == 2 && errno(call msgrcv on q by student/1/2 failing EINTR) == 0 "
                               "&& errors(call kill on SIGUSR1) == 0"));
    REQUIRE(plan.call_filters.size() == 3);
    const auto& a = plan.call_filters[0];
    CHECK(a.call == simrun::call_index("semop"));
    CHECK(a.object == "lock");
    CHECK(a.procs == std::vector<int>{0});
    CHECK(a.result == 0);
    CHECK(a.text == "semop on lock by student returning 0");
    const auto& b = plan.call_filters[1];
    CHECK(b.child == "student/1/2");
    CHECK(b.procs.empty());
    CHECK(b.err == EINTR);
    CHECK(plan.call_filters[2].signal == SIGUSR1);
    int calls = 0;
    for (const auto& n : plan.expects[0].expr.nodes)
        if (n.ref == simrun::RefKind::Calls) CHECK(n.slot == calls++);
    CHECK(calls == 3);
}

TEST_CASE("each misuse of a call filter is a positioned error") {
    auto err = [](const std::string& text) { return first_line(error_of(expect(text))); };
    CHECK(err("count(call) == 1") == "t.toml:11:16: error: name the call: count(call NAME [on OBJECT] [by PROCESS] [returning N] [failing ERRNO])");
    CHECK(err("count(call semtimedop) == 1") == "t.toml:11:21: error: the trace records semtimedop as 'semop': count(call semop ...)");
    CHECK(err("count(call semopp) == 1") == "t.toml:11:21: error: simrun does not trace a call 'semopp' (did you mean 'semop'?)");
    CHECK(err("count(call semop on lok) == 1") ==
          "t.toml:11:30: error: unknown object 'lok' (a declared object, or a name a program opens, such as '/mutex') (did you mean 'lock'?)");
    CHECK(err("count(call read on lock) == 1") == "t.toml:11:29: error: the trace names no object of a read call; count it without 'on'");
    CHECK(err("count(call semop on SIGINT) == 1") ==
          "t.toml:11:30: error: a semop call has no signal; 'on SIGNAL' counts kill, sigqueue, raise, sigaction and handler");
    CHECK(err("count(call kill on SIGFOO) == 1") == "t.toml:11:29: error: unknown signal 'SIGFOO'");
    CHECK(err("count(call semop by studnt) == 1") == "t.toml:11:30: error: unknown process 'studnt' in the expression (did you mean 'student'?)");
    CHECK(err("count(call semop by s) == 1") == "t.toml:11:30: error: 's' is scripted (count its ops): its calls are not traced");
    CHECK(err("count(call semop by student/x) == 1") ==
          "t.toml:11:30: error: 'student/x' is not a child's name: children are named as the trace names them, student/1, student/1/2");
    CHECK(err("count(call semop failing EINTR) == 1") ==
          "t.toml:11:27: error: count() counts calls that succeeded: errors(call semop failing EINTR) counts those failures");
    CHECK(err("errors(call semop returning 0) == 1") == "t.toml:11:28: error: a failed call returns -1; 'returning' counts calls in count()");
    CHECK(err("errors(call semop failing EFOO) == 1") == "t.toml:11:36: error: unknown errno 'EFOO' (EINTR, EAGAIN, EIDRM, ...)");
    CHECK(err("count(call semop returning) == 1") ==
          "t.toml:11:27: error: 'returning' needs a value: count(call NAME [on OBJECT] [by PROCESS] [returning N] [failing ERRNO])");
    CHECK(err("count(call semop returning x) == 1") == "t.toml:11:37: error: 'returning' takes an integer, not 'x'");
    CHECK(err("count(call semop with 3) == 1") ==
          "t.toml:11:27: error: expected 'on', 'by', 'returning' or 'failing' here: count(call NAME [on OBJECT] [by PROCESS] [returning N] [failing ERRNO])");
}

TEST_CASE("an op no process has: a suggestion keeps the verb, and programs' calls are pointed to") {
    // Only 'send q "x"' is declared: no recv is suggested for it.
    CHECK(first_line(error_of(expect("count(recv q) == 1"))) ==
          "t.toml:11:16: error: no process has the op 'recv q' (a program's calls are counted as count(call NAME ...), e.g. count(call recv))");
    CHECK(first_line(error_of(expect("count(semop lock) == 1"))) ==
          "t.toml:11:16: error: no process has the op 'semop lock' (a program's calls are counted as count(call NAME ...), e.g. count(call semop))");
    const std::string scripted = "[ipc.msg.requests]\n[[process]]\nname = \"server\"\nrun = [\"recv requests 1\"]\n"
                                 "[[process]]\nname = \"client\"\nrun = ['send requests \"x\"']\n";
    CHECK(first_line(error_of(scripted + "[[expect]]\nfinal = \"count(send requests 1) == 1\"\n")) ==
          "t.toml:9:16: error: no process has the op 'send requests 1' (did you mean 'send requests \"x\"'?)");
    CHECK(first_line(error_of(scripted + "[[expect]]\nfinal = \"count(recv requets 1) == 1\"\n")) ==
          "t.toml:9:16: error: no process has the op 'recv requets 1' (did you mean 'recv requests 1'?)");
    CHECK(first_line(error_of(scripted + "[[fault]]\nprocess = \"server\"\nafter = \"send requests 1\"\n")) ==
          "t.toml:10:9: error: process 'server' has no op 'send requests 1'");
}

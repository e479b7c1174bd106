// The run loop's one decision: when a free-mode run ends, and how.
#include "run/run_end.hpp"

#include <doctest/doctest.h>

#include <csignal>

using namespace simrun;

TEST_CASE("a turn with nothing new goes on") {
    CHECK_FALSE(decide_end(LoopFacts{}).has_value());
}

TEST_CASE("a stop request ends the run as interrupted, before anything else") {
    LoopFacts f;
    f.stop_signal = SIGINT;
    f.no_children = true;
    f.past_deadline = true;
    f.deadlock = true;
    auto e = decide_end(f);
    REQUIRE(e);
    CHECK(e->outcome == Outcome::Interrupted);
    CHECK(e->live == "still alive when simrun was stopped by SIGINT");
    f.stop_signal = SIGTERM;
    CHECK(decide_end(f)->live == "still alive when simrun was stopped by SIGTERM");
}

TEST_CASE("no child left: completed, even past the deadline or stalled") {
    LoopFacts f;
    f.no_children = true;
    f.past_deadline = true;
    f.deadlock = true;
    auto e = decide_end(f);
    REQUIRE(e);
    CHECK(e->outcome == Outcome::Completed);
    CHECK(e->note.empty());
    CHECK(e->live.empty());
}

TEST_CASE("only processes a program left behind: completed; the note counts those simrun killed, and only them") {
    LoopFacts f;
    f.only_strays = true;
    f.past_deadline = true;
    auto e = decide_end(f);
    REQUIRE(e);
    CHECK(e->outcome == Outcome::Completed);
    CHECK(e->strays_left);
    CHECK(e->note.empty());  // not yet known: some may end by themselves before the kill
    CHECK(strays_killed_note(0).empty());
    CHECK(strays_killed_note(1) == "1 process a program started was still running after every declared process had ended; simrun killed it");
    CHECK(strays_killed_note(3).rfind("3 processes a program started were still running", 0) == 0);
}

TEST_CASE("the timeout wins over a stall seen in the same turn") {
    LoopFacts f;
    f.past_deadline = true;
    f.deadlock = true;
    auto e = decide_end(f);
    REQUIRE(e);
    CHECK(e->outcome == Outcome::Timeout);
    CHECK(e->live == "still alive at the timeout");
}

TEST_CASE("a stall is a deadlock, or a completed run when every blocked process may end blocked") {
    LoopFacts f;
    f.deadlock = true;
    auto e = decide_end(f);
    REQUIRE(e);
    CHECK(e->outcome == Outcome::Deadlock);
    CHECK(e->live == "every live process waits and none can proceed");
    f.deadlock = false;
    f.allowed_blocked = true;
    e = decide_end(f);
    REQUIRE(e);
    CHECK(e->outcome == Outcome::Completed);
    CHECK(e->live == "ended blocked, as they may");
}

TEST_CASE("a full trace ends the run as trace limit, before the timeout and a stall; a run that ended anyway completed") {
    LoopFacts f;
    f.trace_full = true;
    f.past_deadline = true;
    f.deadlock = true;
    auto e = decide_end(f);
    REQUIRE(e);
    CHECK(e->outcome == Outcome::TraceLimit);
    CHECK(e->live == "still alive when the trace reached its limit");
    f.no_children = true;
    CHECK(decide_end(f)->outcome == Outcome::Completed);
    f.no_children = false;
    f.stop_signal = SIGINT;
    CHECK(decide_end(f)->outcome == Outcome::Interrupted);
}

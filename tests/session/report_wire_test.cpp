// A run's report, out of its sandbox and back: every field survives; a
// cut or damaged report is refused.
#include "session/report_wire.hpp"

#include <doctest/doctest.h>

using namespace simrun;

namespace {

RunReport sample() {
    RunReport r;
    r.exit_code = ExitCode::Failed;
    r.outcome = Outcome::Deadlock;
    r.passed = false;
    r.schedule = {0, 1, 1, 2, -1};
    r.choices = {{0, 1}, {1}, {}, {1, 2}};
    r.divergence = "at step 3 the schedule names student/1";
    r.children = {"student/1", "student/1/1"};
    r.results.push_back({"the count", ExpectKind::Final, "buf.count == 2", false, "buf.count = 1", false, 2.5, {}, {}});
    r.results.push_back({"the output", ExpectKind::Stdout, "stdout of p equals \"a\"", false, "p wrote \"b\"", false, 0, "a\n", "b\n"});
    r.results.push_back({"run completed", ExpectKind::Outcome, "completed", false, "outcome: deadlock", true, 0, {}, {}});
    r.diagnosis = {"every live process waits:", "cycle: student → student/1 → student"};
    return r;
}

}  // namespace

TEST_CASE("report wire: every field comes back") {
    const RunReport r = sample();
    const auto back = decode_report(encode_report(r));
    REQUIRE(back);
    CHECK(back->exit_code == ExitCode::Failed);
    CHECK(back->outcome == Outcome::Deadlock);
    CHECK_FALSE(back->passed);
    CHECK(back->schedule == r.schedule);
    CHECK(back->choices == r.choices);
    CHECK(back->divergence == r.divergence);
    CHECK(back->children == r.children);
    REQUIRE(back->results.size() == 3);
    CHECK(back->results[0].name == "the count");
    CHECK(back->results[0].kind == ExpectKind::Final);
    CHECK(back->results[0].text == "buf.count == 2");
    CHECK(back->results[0].detail == "buf.count = 1");
    CHECK(back->results[0].points == 2.5);
    CHECK(back->results[1].want == "a\n");
    CHECK(back->results[1].seen == "b\n");
    CHECK(back->results[2].implicit);
    CHECK(back->diagnosis == r.diagnosis);
}

TEST_CASE("report wire: a cut, empty or lengthened report is refused") {
    const std::string bytes = encode_report(sample());
    CHECK_FALSE(decode_report(""));
    CHECK_FALSE(decode_report(bytes.substr(0, bytes.size() - 1)));
    CHECK_FALSE(decode_report(bytes.substr(0, 20)));
    CHECK_FALSE(decode_report(bytes + "x"));
    std::string damaged = bytes;
    damaged[0] ^= 1;  // the magic
    CHECK_FALSE(decode_report(damaged));
}

// The checker over decoded events (built here as the decoder delivers
// them), with the results it gives: golden names, verdicts and details.
#include "check/checker.hpp"

#include "../test_support.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/wait.h>

using namespace simrun;

namespace {

const char* kScenario = R"toml(
[scenario]
name = "chk"
[ipc.sem.lock]
members = { mutex = 1 }
[ipc.shm.buf]
cells = { count = 0 }
[[process]]
name = "worker"
run = ["P lock.mutex", "buf.count += 1", "V lock.mutex"]
[[process]]
name = "prog"
exec = ["./a.out"]
[[expect]]
name = "the count stays small"
always = "buf.count <= 1"
[[expect]]
name = "one increment"
final = "buf.count == 1 && lock.mutex == 1"
[[expect]]
name = "P before V"
final = "before(P lock.mutex, V lock.mutex)"
[[expect]]
name = "worker exits 0"
final = "exit(worker) == 0"
[[expect]]
name = "greets"
stdout = "prog"
equals_words = "hello world"
[[expect]]
name = "ends"
outcome = "completed"
)toml";

struct Feed {
    Plan plan = test::plan_of(kScenario);
    Checker checker{plan};
    std::uint64_t ts = 1000;

    void send(std::uint16_t proc, EventBody body) {
        static const std::string names[] = {"worker", "prog"};
        checker.on_event(Event{ts++, ProcRef{proc, proc < 2 ? &names[proc] : nullptr, proc < 2 ? proc : -1}, std::move(body)});
    }
    std::uint32_t op(const std::string& text) {
        for (std::uint32_t i = 0; i < plan.op_text.size(); ++i)
            if (plan.op_text[i] == text) return i;
        FAIL("no op " << text);
        return 0;
    }
    void script(const std::string& text, std::optional<std::int64_t> value) {
        const std::uint32_t i = op(text);
        send(0, ev::ScriptOp{i, &plan.ops[i], false, false, ev::ScriptOp::Half::Whole, 0, 0, 0, 0, value, 0, 0, kNoStep, {}});
    }
    // A worker that runs its script, a program that prints `out`, both exit 0.
    void normal_run(const std::string& out, std::int64_t count_after) {
        send(kRunProc, ev::RunStart{});
        script("P lock.mutex", 0);
        script("buf.count += 1", count_after);
        script("V lock.mutex", 1);
        send(1, ev::Output{false, out});
        send(0, ev::Exit{100, WaitStatus::exited_with(0), false, false});
        send(1, ev::Exit{101, WaitStatus::exited_with(0), false, false});
        send(kRunProc, ev::RunEnd{});
    }
    RunResult result(std::int64_t count, int mutex, Outcome outcome = Outcome::Completed) {
        RunResult r;
        r.outcome = outcome;
        r.cells = {count};
        r.sems = {mutex};
        r.procs.resize(2);
        for (auto& p : r.procs) p.exited = true, p.wait_status = WaitStatus::exited_with(0);
        return r;
    }
};

std::string line(const ExpectResult& e) { return fmt::format("{} {} | {} | {}", e.passed ? "✔" : "✘", e.name, e.text, e.detail); }

}  // namespace

TEST_CASE("checker: a run where every expectation holds") {
    Feed f;
    f.normal_run("hello\n  world\n", 1);
    const auto results = f.checker.finish(f.result(1, 1));
    REQUIRE(results.size() == 6);
    std::vector<std::string> lines;
    for (const auto& e : results) lines.push_back(line(e));
    CHECK(lines[0] == "✔ the count stays small | buf.count <= 1 | ");
    CHECK(lines[1] == "✔ one increment | buf.count == 1 && lock.mutex == 1 | buf.count = 1, lock.mutex = 1");
    CHECK(lines[2] == "✔ P before V | before(P lock.mutex, V lock.mutex) | before(P lock.mutex, V lock.mutex) = true");
    CHECK(lines[3] == "✔ worker exits 0 | exit(worker) == 0 | exit(worker) = 0");
    CHECK(lines[4] == "✔ greets | stdout of prog equals, in words, \"hello world\" | prog wrote \"hello\\n  world\\n\"");
    CHECK(lines[5] == "✔ ends | completed | outcome: completed");
}

TEST_CASE("checker: an `always` broken at one event says where; final, stdout and outcome fail with what they saw") {
    Feed f;
    f.normal_run("hello there\n", 2);
    const auto results = f.checker.finish(f.result(2, 1, Outcome::Deadlock));
    REQUIRE(results.size() == 6);
    CHECK_FALSE(results[0].passed);
    CHECK(results[0].detail.find("buf.count = 2") != std::string::npos);
    CHECK(results[0].detail.find("worker") != std::string::npos);  // who broke it
    CHECK_FALSE(results[1].passed);
    CHECK(results[1].detail == "buf.count = 2, lock.mutex = 1");
    CHECK(results[2].passed);
    CHECK(results[3].passed);
    CHECK_FALSE(results[4].passed);
    CHECK(results[4].detail.find("hello there") != std::string::npos);
    CHECK_FALSE(results[5].passed);
    CHECK(results[5].detail.find("deadlock") != std::string::npos);
}

TEST_CASE("checker: P never before V when only V ran; exit() in `final` reads the run's end") {
    Feed f;
    f.send(kRunProc, ev::RunStart{});
    f.script("V lock.mutex", 2);
    f.send(0, ev::Exit{100, WaitStatus::exited_with(3), false, false});
    RunResult end = f.result(0, 2);
    end.procs[0].wait_status = WaitStatus::exited_with(3);
    const auto results = f.checker.finish(end);
    CHECK_FALSE(results[2].passed);
    CHECK_FALSE(results[3].passed);
    CHECK(results[3].detail == "exit(worker) = 3");
}

TEST_CASE("checker: with no outcome stated, the implicit check is that the run completed") {
    const Plan plan = test::plan_of(R"(
[scenario]
name = "plain"
[[process]]
name = "a"
run = ["sleep 1ms"]
)");
    Checker c(plan);
    RunResult r;
    r.outcome = Outcome::Timeout;
    r.procs.resize(1);
    auto results = c.finish(r);
    REQUIRE(results.size() == 1);
    CHECK(results[0].implicit);
    CHECK_FALSE(results[0].passed);
    r.outcome = Outcome::Completed;
    Checker c2(plan);
    results = c2.finish(r);
    CHECK(results[0].passed);
}

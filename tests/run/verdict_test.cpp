// judge(): the verdict on one process from how it ended, golden.
#include "run/verdict.hpp"

#include "../test_support.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <string>

using namespace simrun;

namespace {

const Plan& plan() {
    static const Plan p = test::plan_of(R"(
[scenario]
name = "v"
timeout = "10s"
[[process]]
name = "prog"
exec = ["./student"]
limits = { cpu = "1s", wall = "2s", memory = "100MiB", processes = 16, output = "64KiB", file_size = "1MiB" }
[[process]]
name = "script"
run = ["sleep 1ms"]
)");
    return p;
}

ProcessEnd ended(WaitStatus st) {
    ProcessEnd e;
    e.pid = 42, e.exited = true, e.wait_status = st, e.state = ProcState::Exited;
    return e;
}

std::string verdict_of(int proc, ProcessEnd e, Outcome outcome = Outcome::Completed) {
    judge(plan().processes[proc], outcome, e);
    return std::string(verdict_name(e.verdict)) + ": " + e.verdict_detail;
}

}  // namespace

TEST_CASE("judge: exits and signals") {
    CHECK(verdict_of(0, ended(WaitStatus::exited_with(0))) == "ok: exit 0");
    CHECK(verdict_of(0, ended(WaitStatus::exited_with(3))) == "runtime error: exit 3");
    CHECK(verdict_of(0, ended(WaitStatus::killed_by(SIGSEGV, true))) == "killed by a signal: SIGSEGV (core dumped)");
    CHECK(verdict_of(1, ended(WaitStatus::killed_by(SIGTERM))) == "killed by a signal: SIGTERM");
    CHECK(verdict_of(0, ended(WaitStatus::killed_by(SIGXFSZ))) == "killed by a signal: SIGXFSZ: file size limit 1 MiB");
}

TEST_CASE("judge: limits simrun enforced") {
    ProcessEnd e = ended(WaitStatus::killed_by(SIGKILL));
    e.hit = LimitHit::Wall;
    CHECK(verdict_of(0, e) == "time limit: wall time limit 2.00 s");
    e.hit = LimitHit::Output;
    CHECK(verdict_of(0, e) == "output limit: more than 64 KiB of output");
    e.hit = LimitHit::Processes;
    CHECK(verdict_of(0, e) == "process limit: more than 16 processes");
}

TEST_CASE("judge: CPU time, by SIGXCPU or by the SIGKILL after it") {
    CHECK(verdict_of(0, ended(WaitStatus::killed_by(SIGXCPU))).rfind("time limit: cpu ", 0) == 0);
    ProcessEnd e = ended(WaitStatus::killed_by(SIGKILL));
    e.cpu_ns = 1'200'000'000;
    CHECK(verdict_of(0, e) == "time limit: cpu 1.20 s (limit 1.00 s)");
    e.cpu_ns = 300'000'000;  // killed by someone else, well inside its CPU time
    CHECK(verdict_of(0, e) == "killed by a signal: SIGKILL");
}

TEST_CASE("judge: near the memory limit, a crash or a failed exit is the memory limit") {
    ProcessEnd e = ended(WaitStatus::killed_by(SIGSEGV));
    e.vm_peak_kb = 95 * 1024;
    CHECK(verdict_of(0, e) == "memory limit: 95 MiB at its peak, limit 100 MiB, then SIGSEGV");
    e = ended(WaitStatus::exited_with(1));
    e.maxrss_kb = 90 * 1024;
    CHECK(verdict_of(0, e) == "memory limit: 90 MiB at its peak, limit 100 MiB, then exit 1");
    e.maxrss_kb = 10 * 1024;
    CHECK(verdict_of(0, e) == "runtime error: exit 1");
}

TEST_CASE("judge: stopped at the run's end: a timeout is a time limit, a deadlock is stopped") {
    ProcessEnd e;
    e.pid = 42, e.state = ProcState::BlockedSem, e.hit = LimitHit::RunEnd;
    CHECK(verdict_of(1, e, Outcome::Timeout) == "time limit: still running at the run's timeout");
    CHECK(verdict_of(1, e, Outcome::Deadlock) == "stopped: the run deadlocked");
    CHECK(verdict_of(1, e, Outcome::Completed) == "stopped: the run ended");
    e.hit = LimitHit::None;
    CHECK(verdict_of(1, e) == "stopped: not reaped");
}

TEST_CASE("judge: exec failed") {
    ProcessEnd e;
    e.exec_errno = ENOENT;
    CHECK(verdict_of(0, e) == "could not start: exec ./student: ENOENT");
}

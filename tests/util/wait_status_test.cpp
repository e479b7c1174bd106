// A wait status decoded and said in words in one place.
#include "util/wait_status.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

using namespace simrun;

namespace {

// The status the kernel gives for a real child that ends as `end` says.
template <typename End>
WaitStatus status_of(End end) {
    pid_t pid = fork();
    if (pid == 0) end();
    int st = 0;
    waitpid(pid, &st, 0);
    return WaitStatus(st);
}

}  // namespace

TEST_CASE("exit codes and signals, as the kernel reports them") {
    WaitStatus exited = status_of([] { _exit(3); });
    CHECK(exited.exited());
    CHECK(exited.code() == 3);
    CHECK_FALSE(exited.signaled());
    CHECK(exited.describe() == "exited 3");
    CHECK(exited == WaitStatus::exited_with(3));

    WaitStatus killed = status_of([] {
        ::kill(getpid(), SIGKILL);
        _exit(0);
    });
    CHECK(killed.signaled());
    CHECK(killed.signal() == SIGKILL);
    CHECK_FALSE(killed.core_dumped());
    CHECK(killed.describe() == "killed by SIGKILL");
    CHECK(killed.signal_text() == "SIGKILL");
    CHECK(killed == WaitStatus::killed_by(SIGKILL));
}

TEST_CASE("a core dump is said the same way everywhere") {
    WaitStatus core = WaitStatus::killed_by(SIGSEGV, true);
    CHECK(core.core_dumped());
    CHECK(core.describe() == "killed by SIGSEGV (core dumped)");
    CHECK(core.signal_text() == "SIGSEGV (core dumped)");
    CHECK(WaitStatus::killed_by(64).signal_text() == "64");  // a real-time signal has no abbreviation
}

// Errors keep the failed call and its errno beside the message.
#include "util/error.hpp"

#include <doctest/doctest.h>

#include <cerrno>

using namespace simrun;

TEST_CASE("sys_error keeps the call, the errno and says both") {
    Error e = sys_error("semget(key=0x3e8, nsems=3)", EEXIST);
    CHECK(e.message == "semget(key=0x3e8, nsems=3): File exists");
    CHECK(e.err == EEXIST);
    CHECK(e.call == "semget(key=0x3e8, nsems=3)");
}

TEST_CASE("sys_error reads errno when none is given") {
    errno = ENOENT;
    Error e = sys_error("open(/nowhere)");
    CHECK(e.err == ENOENT);
    CHECK(e.message == "open(/nowhere): No such file or directory");
}

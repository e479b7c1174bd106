// Starting the inner supervisor. With namespaces it is PID 1 of fresh user,
// PID, IPC and mount namespaces with a private /dev/shm: when it dies, the
// kernel kills every process of the run and destroys every System V object.
// Without (not permitted here, or --no-sandbox) it is a plain child that is
// a subreaper and removes what it created at exit.
//
// Steps in the child, each checked; a failure is reported to the parent as
// a stage byte plus errno on a CLOEXEC pipe and the parent falls back.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <functional>
#include <string>

namespace simrun {

enum class SandboxMode { Namespaces, None };

struct Inner {
    pid_t pid = -1;
    SandboxMode mode = SandboxMode::None;
};

// body(mode, note) runs in the child; note says why there is no sandbox.
using InnerBody = std::function<int(SandboxMode, const std::string& note)>;

// Forks the inner supervisor; in the child, runs body and exits with its
// return value. In the parent, returns once the child is set up.
Result<Inner> start_inner(bool want_namespaces, const InnerBody& body);

}  // namespace simrun

// Starting the inner supervisor. With namespaces it is PID 1 of fresh user,
// PID, IPC, mount and network namespaces (no network: only a loopback
// device that is down): when it dies, the kernel kills every process of
// the run and destroys every System V object. The files it sees: the
// host's, read-only, with a private /dev/shm (a fresh tmpfs) and /tmp (an
// overlay of the host's whose changes go to that /dev/shm), and
// only the folders the run is given (SandboxSpec::writable: the output
// folder, declared workdirs) writable where they are. The run's uid is
// kSandboxUid (the user who started simrun outside), or 0 with
// SandboxSpec::root.
// simrun forks a relay that unshare()s the namespaces and forks the
// supervisor (an ordinary fork, so glibc's per-process state is right); the
// relay passes stop requests on and exits with the supervisor's code.
// Without namespaces (not permitted here, or --no-sandbox) the supervisor is
// a plain child that is a subreaper and removes what it created at exit.
//
// Set-up steps are checked; a failure is reported to simrun as a stage byte
// plus errno on a CLOEXEC pipe, and simrun falls back to no namespaces.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace simrun {

enum class SandboxMode { Namespaces, None };

// In the sandbox: the mqueue file system of the run's IPC namespace, mounted
// inside its private /dev/shm (a dot name, so it is no shm object).
inline constexpr const char* kRunMqueueDir = "/dev/shm/.mqueue";

// The uid and gid of a sandboxed run: an ordinary user's, whoever started
// simrun (root included).
inline constexpr unsigned kSandboxUid = 1000;

struct SandboxSpec {
    std::string out_dir;                // existing: where the supervisor writes
    std::vector<std::string> writable;  // other existing folders the programs may change
    bool root = false;                  // the run is uid 0 inside ([scenario] root = true)
};

struct Inner {
    pid_t pid = -1;  // the relay with namespaces, the supervisor without
    SandboxMode mode = SandboxMode::None;
};

// body(mode, note) runs in the child; note says why there is no sandbox.
using InnerBody = std::function<int(SandboxMode, const std::string& note)>;

// Forks the inner supervisor; in the child, runs body and exits with its
// return value. In the parent, returns once the child is set up. The
// spec's folders are bound writable at the same paths (inside /tmp or
// /dev/shm too: made in the private copy first).
Result<Inner> start_inner(bool want_namespaces, const SandboxSpec& spec, const InnerBody& body);

}  // namespace simrun

// What the child of a fork applies to itself before its script or exec:
// capabilities and (later) resource limits. Called between fork and exec,
// so everything here is a raw system call: async-signal-safe, no
// allocation, errors ignored where the process is already as contained as
// the caller could make it.
#pragma once

#include "plan/plan.hpp"

namespace simrun {

// Drops every capability and keeps them dropped across exec, so uid 0 in
// the sandbox meets permission modes like an ordinary user: a semaphore
// set with mode 0400 refuses semop with EACCES. Without CAP_SETPCAP (an
// unprivileged run without a sandbox) there is nothing to drop.
void drop_capabilities() noexcept;

// An exec'd program in the sandbox, just before its exec: without
// capabilities and unable to gain any (no_new_privs: no setuid bit or file
// capability grants them), so it can neither remount the read-only host
// nor leave its folders. With [scenario] root it keeps uid 0's
// capabilities but CAP_SYS_ADMIN (no mount, umount or remount).
void contain_program(bool root) noexcept;

// The program's resource limits as rlimits: CPU (SIGXCPU at the limit,
// SIGKILL a second later), address space, open files, file size
// (SIGXFSZ), and the number of processes: RLIMIT_NPROC counts every
// process of the user, so `others` is how many besides the program's own
// there may be (-1: do not set it). A real root ignores RLIMIT_NPROC; the
// supervisor counts the program's process group for that case.
// `tracer_bytes` is added to the address space: what the preload tracer
// maps (the trace arena, its own code) is not the program's to pay for.
void apply_limits(const Limits& limits, std::int64_t others, std::int64_t tracer_bytes) noexcept;

}  // namespace simrun

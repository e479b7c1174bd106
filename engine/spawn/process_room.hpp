// Before a run spawns anything: can this machine start that many processes?
// The limits that would stop a fork halfway through a run (EAGAIN): the
// user's RLIMIT_NPROC (not for root), the kernel's pid_max and threads-max,
// less what already runs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace simrun {

// Why `wanted` more processes cannot start here ("" when they can).
std::string process_room_problem(std::size_t wanted);

}  // namespace simrun

// Who holds the other end of the pipe or FIFO a stuck program waits on,
// read from /proc at a deadlock: the object its descriptor names
// ("pipe:[4711]", a FIFO's path) and, among the given processes, those
// with a descriptor on it open for writing (for a blocked read) or for
// reading (for a blocked write). A process that forgot to close its own
// write end is among them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace simrun {

// What /proc/PID/fd/FD points at; "" if it cannot be read.
std::string fd_target(pid_t pid, int fd);

// The indices in `pids` (0: not running) of the processes holding `target`
// open for writing (`write_end`) or for reading.
std::vector<int> ends_held(const std::vector<pid_t>& pids, const std::string& target, bool write_end);

}  // namespace simrun

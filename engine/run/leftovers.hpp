// IPC objects a run's processes leave behind: System V objects (from
// /proc/sysvipc, which shows the reader's IPC namespace) and names in
// /dev/shm (POSIX shared memory and named semaphores). A snapshot is taken
// before simrun creates anything; after it has removed its own objects,
// what is new was left by the processes. POSIX message queues are seen
// where an mqueue file system is mounted: the sandbox's own (kRunMqueueDir),
// or /dev/mqueue without one.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace simrun {

struct IpcSnapshot {
    std::set<std::string> objects;  // "sem 3", "shm 7", "msg 1", "/dev/shm/name", "mqueue /name"
};

IpcSnapshot take_ipc_snapshot();

struct LeftObject {
    std::string what;  // for a report: "msg id=1 key=0x0", "/dev/shm/sem.mutex", "mqueue /requests"
    bool removed = false;
};

// What is there now and was not in `before`. Those named in `removable`
// (IpcSnapshot's spelling; run/program_objects.hpp: what the run's own
// processes made) and owned by this user are removed. Where no mqueue file
// system is mounted, the queues in `removable` that are still there are
// removed and listed.
std::vector<LeftObject> ipc_left_since(const IpcSnapshot& before, const std::set<std::string>& removable);

}  // namespace simrun

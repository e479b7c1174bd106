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

// What is there now and was not in `before`, described for a report
// ("msg id=1 key=0x0"). With remove, those owned by this user are removed
// too; only safe where nothing else can have made them (a namespace).
std::vector<std::string> ipc_left_since(const IpcSnapshot& before, bool remove);

}  // namespace simrun

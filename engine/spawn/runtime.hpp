// Runtime: what exists in a run, as seen by every process in it. Built by
// the supervisor before the first fork from the objects it owns (it borrows
// ids, addresses and fds; it owns nothing). After fork a child may update
// its own copy (closed pipe ends become -1) without allocating.
#pragma once

#include "plan/fault_injector.hpp"
#include "plan/plan.hpp"
#include "ipc/fifo_dir.hpp"
#include "trace/arena.hpp"

#include <semaphore.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace simrun {

// A message queue as every process of the run reaches it.
struct QueueHandle {
    int msqid = -1;                  // System V
    int blocking = -1, nonblocking = -1;  // POSIX mqd_t (descriptors)
};

struct Runtime {
    const Plan* plan = nullptr;
    const Arena* arena = nullptr;
    int wake_fd = -1;
    std::vector<int> semids;                   // per Plan::sems
    std::vector<int> shmids;                   // per Plan::shms (-1 for POSIX shared memory)
    std::vector<key_t> sem_keys, shm_keys, msg_keys;  // per object: the key semget/shmget/msgget ops use
    std::vector<std::int64_t*> shm;            // per Plan::shms
    std::vector<std::array<int, 2>> pipe_fds;  // per Plan::pipes: {read, write}; -1 when closed here
    std::vector<QueueHandle> queues;           // per Plan::queues
    std::vector<sem_t*> psems;                 // per Plan::psems
    std::vector<std::string> fifo_paths;       // per Plan::pipes: the FIFO's path ("" for a pipe)
    FifoCounters* fifo_counters = nullptr;     // per Plan::pipes index, shared by the run
    std::vector<std::string> exec_path;        // per process: resolved program path ("" if scripted)
    std::vector<std::vector<char*>> argv;      // per process: null-terminated argv for execve
    std::vector<std::vector<std::string>> env_strings;  // per process: "NAME=value" for its environment
    std::vector<std::vector<char*>> envp;      // per process: null-terminated envp for execve
    std::vector<int> stdin_fds;                // per process: an open stdin_file, or -1
    int dev_null = -1;                         // stdin of exec'd programs without stdin text
    std::vector<std::string> workdir;          // per process: where an exec'd program runs
    bool namespaces = false;                   // the run has its own namespaces
    std::int64_t nproc_others = -1;            // RLIMIT_NPROC room for the user's other processes (-1: unset)
    std::string preload;                       // the preload tracer's path; "" when exec'd programs run untraced
    std::vector<bool> stepped;                 // per process: an exec'd program the controller schedules call by call
    FaultInjector faults;                      // free mode: each scripted process counts its `after` faults in its own copy
};

// Fills exec_path and argv for every exec'd process (PATH lookup happens here,
// before any fork, because execvp may allocate).
// Programs without a workdir of their own run in `scratch`. With
// rt.preload set, each program's environment gets LD_PRELOAD and
// SIMRUN_TRACE (where its ring is in the arena, see engine/preload).
// A non-empty `tmpdir` becomes each program's TMPDIR unless its scenario
// sets one.
void prepare_exec(Runtime& rt, const std::string& scratch, const std::string& tmpdir);

// Where an exec'd program finds the trace arena and the supervisor's wake-up
// eventfd: the two highest numbers its open-files limit allows, out of the
// way of the descriptors it opens itself.
inline int trace_fd(const Limits& l) { return static_cast<int>(l.open_files) - 2; }
inline int wake_fd(const Limits& l) { return static_cast<int>(l.open_files) - 1; }

// libsimrun_preload.so beside the running simrun binary, or "".
std::string find_preload();

}  // namespace simrun

// RunObjects owns the run's kernel objects from before the first fork until
// the report: System V semaphore sets, shared memory and message queues,
// POSIX semaphores, shared memory and message queues, pipes, the FIFO
// directory, and files opened as stdin. create() makes them all and fills
// the Runtime's view of them (ids, keys, fds, addresses) that every process
// inherits; the destructor removes them.
#pragma once

#include "ipc/fifo_dir.hpp"
#include "ipc/msg_queue.hpp"
#include "ipc/pipe.hpp"
#include "ipc/posix_sem.hpp"
#include "ipc/sem_set.hpp"
#include "ipc/shm_segment.hpp"
#include "plan/plan.hpp"
#include "trace/run_result.hpp"
#include "spawn/runtime.hpp"

#include <memory>
#include <vector>

namespace simrun {

class RunObjects {
public:
    static Result<std::unique_ptr<RunObjects>> create(const Plan& plan, Runtime& rt);
    ~RunObjects();

    std::vector<Pipe>& pipes() { return pipes_; }
    // Semaphore values, queue statistics, POSIX semaphore values, as the kernel has them now.
    void read_final(const Plan& plan, RunResult& run) const;
    // One line per object, for the crash registry (see run/registry.hpp).
    std::vector<std::string> inventory() const;

private:
    RunObjects(const Runtime& rt) : rt_(rt) {}
    // One kind each, filling its part of the Runtime.
    Status make_sems(const Plan& plan, Runtime& rt);
    Status make_shms(const Plan& plan, Runtime& rt);
    Status make_psems(const Plan& plan, Runtime& rt);
    Status make_pipes(const Plan& plan, Runtime& rt);
    Status make_queues(const Plan& plan, Runtime& rt);
    Status open_stdin_files(const Plan& plan, Runtime& rt);
    const Runtime& rt_;
    std::vector<SemSet> sems_;
    std::vector<ShmSegment> shms_;
    std::vector<Pipe> pipes_;
    std::vector<MsgQueue> msgs_;  // System V queues, in order
    std::vector<PosixMq> mqs_;    // POSIX queues, in order
    std::vector<PosixSem> psems_;
    std::vector<PosixShm> pshms_;
    FifoDir fifos_;
    std::vector<UniqueFd> stdin_files_;
};

}  // namespace simrun

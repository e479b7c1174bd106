// Message queues, one RAII owner each.
//  MsgQueue: a System V queue (msgget); the destructor removes it (IPC_RMID).
//  PosixMq:  a POSIX queue (mq_open O_CREAT|O_EXCL) opened twice, blocking
//            and O_NONBLOCK, so a step can try without blocking and get the
//            kernel's own EAGAIN without changing flags every process
//            shares; the destructor closes both and unlinks the name.
// Both are created before the first fork; children inherit id and fds.
#pragma once

#include "util/error.hpp"

#include <mqueue.h>
#include <sys/ipc.h>

#include <string>

namespace simrun {

struct QueueStats {
    long messages = 0;
    long bytes = 0;  // System V only (msg_cbytes)
};

class MsgQueue {
public:
    static Result<MsgQueue> create(key_t key = IPC_PRIVATE, int mode = 0600);
    MsgQueue(MsgQueue&& o) noexcept : id_(o.id_) { o.id_ = -1; }
    MsgQueue& operator=(MsgQueue&&) = delete;
    ~MsgQueue() { (void)remove(); }
    int id() const { return id_; }
    Result<QueueStats> stats() const;  // IPC_STAT
    Status remove();

private:
    explicit MsgQueue(int id) : id_(id) {}
    int id_ = -1;
};

class PosixMq {
public:
    // name: "/simrun-<pid>-<queue>"
    static Result<PosixMq> create(const std::string& name, long max_messages, long message_size);
    PosixMq(PosixMq&& o) noexcept;
    PosixMq& operator=(PosixMq&&) = delete;
    ~PosixMq() { (void)remove(); }
    mqd_t blocking() const { return blocking_; }
    const std::string& name() const { return name_; }
    mqd_t nonblocking() const { return nonblocking_; }
    Result<QueueStats> stats() const;  // mq_getattr
    Status remove();

private:
    PosixMq(std::string name, mqd_t b, mqd_t nb) : name_(std::move(name)), blocking_(b), nonblocking_(nb) {}
    std::string name_;
    mqd_t blocking_ = -1, nonblocking_ = -1;
};

}  // namespace simrun

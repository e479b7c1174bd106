#include "ipc/msg_queue.hpp"

#include <fcntl.h>
#include <sys/msg.h>

#include <fmt/format.h>

#include <utility>

namespace simrun {

Result<MsgQueue> MsgQueue::create(key_t key, int mode) {
    int id = msgget(key, IPC_CREAT | IPC_EXCL | mode);
    if (id < 0) return sys_error(fmt::format("msgget(key={:#x}, IPC_CREAT|IPC_EXCL|{:o})", key, mode));
    return MsgQueue(id);
}

Result<QueueStats> MsgQueue::stats() const {
    msqid_ds ds{};
    if (msgctl(id_, IPC_STAT, &ds) != 0) return sys_error(fmt::format("msgctl(msqid={}, IPC_STAT)", id_));
    return QueueStats{static_cast<long>(ds.msg_qnum), static_cast<long>(ds.msg_cbytes)};
}

Status MsgQueue::remove() {
    if (id_ < 0) return ok_status();
    int id = std::exchange(id_, -1);
    if (msgctl(id, IPC_RMID, nullptr) != 0) return sys_error(fmt::format("msgctl(msqid={}, IPC_RMID)", id));
    return ok_status();
}

Result<PosixMq> PosixMq::create(const std::string& name, long max_messages, long message_size) {
    mq_attr attr{};
    attr.mq_maxmsg = max_messages;
    attr.mq_msgsize = message_size;
    mqd_t b = mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (b == static_cast<mqd_t>(-1))
        return sys_error(fmt::format("mq_open({}, O_CREAT|O_EXCL, maxmsg={}, msgsize={})", name, max_messages, message_size));
    mqd_t nb = mq_open(name.c_str(), O_RDWR | O_NONBLOCK);
    if (nb == static_cast<mqd_t>(-1)) {
        Error e = sys_error(fmt::format("mq_open({}, O_NONBLOCK)", name));
        mq_close(b);
        mq_unlink(name.c_str());
        return e;
    }
    return PosixMq(name, b, nb);
}

PosixMq::PosixMq(PosixMq&& o) noexcept
    : name_(std::move(o.name_)), blocking_(std::exchange(o.blocking_, -1)), nonblocking_(std::exchange(o.nonblocking_, -1)) {}

Result<QueueStats> PosixMq::stats() const {
    mq_attr attr{};
    if (mq_getattr(blocking_, &attr) != 0) return sys_error(fmt::format("mq_getattr({})", name_));
    return QueueStats{attr.mq_curmsgs, 0};
}

Status PosixMq::remove() {
    if (blocking_ == static_cast<mqd_t>(-1)) return ok_status();
    mq_close(std::exchange(blocking_, -1));
    mq_close(std::exchange(nonblocking_, -1));
    if (mq_unlink(name_.c_str()) != 0) return sys_error(fmt::format("mq_unlink({})", name_));
    return ok_status();
}

}  // namespace simrun

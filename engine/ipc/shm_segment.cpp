#include "ipc/shm_segment.hpp"

#include <fmt/format.h>
#include <sys/shm.h>

#include <algorithm>
#include <utility>

namespace simrun {

Result<ShmSegment> ShmSegment::create(const std::vector<std::int64_t>& initial, key_t key, int mode) {
    std::size_t bytes = initial.size() * sizeof(std::int64_t);
    int id = shmget(key, bytes, IPC_CREAT | IPC_EXCL | mode);
    if (id < 0) return sys_error(fmt::format("shmget(key={:#x}, size={}, IPC_CREAT|IPC_EXCL|{:o})", key, bytes, mode));
    void* at = shmat(id, nullptr, 0);
    if (at == reinterpret_cast<void*>(-1)) {
        Error e = sys_error(fmt::format("shmat(shmid={})", id));
        shmctl(id, IPC_RMID, nullptr);
        return e;
    }
    ShmSegment seg(id, static_cast<std::int64_t*>(at), initial.size());
    std::copy(initial.begin(), initial.end(), seg.cells_);
    return seg;
}

Status ShmSegment::remove() {
    if (id_ < 0) return ok_status();
    int id = std::exchange(id_, -1);
    if (cells_) shmdt(std::exchange(cells_, nullptr));
    if (shmctl(id, IPC_RMID, nullptr) != 0) return sys_error(fmt::format("shmctl(shmid={}, IPC_RMID)", id));
    return ok_status();
}

}  // namespace simrun

// ShmSegment owns one System V shared memory segment of 8-byte cells
// (shmget + shmat). The destructor detaches and removes it. Children forked
// after create() inherit the attachment at the same address.
#pragma once

#include "util/error.hpp"

#include <sys/ipc.h>

#include <cstdint>
#include <vector>

namespace simrun {

class ShmSegment {
public:
    static Result<ShmSegment> create(const std::vector<std::int64_t>& initial, key_t key = IPC_PRIVATE, int mode = 0600);
    ShmSegment(ShmSegment&& o) noexcept : id_(o.id_), cells_(o.cells_), n_(o.n_) { o.id_ = -1, o.cells_ = nullptr; }
    ShmSegment& operator=(ShmSegment&&) = delete;
    ShmSegment(const ShmSegment&) = delete;
    ~ShmSegment() { (void)remove(); }

    int id() const { return id_; }
    std::int64_t* cells() const { return cells_; }
    std::size_t size() const { return n_; }
    Status remove();

private:
    ShmSegment(int id, std::int64_t* cells, std::size_t n) : id_(id), cells_(cells), n_(n) {}
    int id_ = -1;
    std::int64_t* cells_ = nullptr;
    std::size_t n_ = 0;
};

}  // namespace simrun

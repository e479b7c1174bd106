// SemSet owns one System V semaphore set (semget + SETALL); the destructor
// removes it (IPC_RMID). Move-only. Fork-safe to read id() in a child.
#pragma once

#include "util/error.hpp"

#include <sys/ipc.h>

#include <vector>

namespace simrun {

class SemSet {
public:
    // key IPC_PRIVATE, or a key created with IPC_EXCL: never an object that was already there.
    static Result<SemSet> create(const std::vector<int>& initial, key_t key = IPC_PRIVATE, int mode = 0600);
    SemSet(SemSet&& o) noexcept : id_(o.id_), n_(o.n_) { o.id_ = -1; }
    SemSet& operator=(SemSet&&) = delete;
    SemSet(const SemSet&) = delete;
    ~SemSet() { (void)remove(); }

    int id() const { return id_; }
    Result<int> value(int member) const;  // GETVAL
    Status remove();

private:
    SemSet(int id, int n) : id_(id), n_(n) {}
    int id_ = -1;
    int n_ = 0;
};

}  // namespace simrun

// FifoDir owns the run's FIFOs: a private directory (mkdtemp under
// /dev/shm, the run's own tmpfs when sandboxed) with one mkfifo per FIFO,
// and a small shared mapping of counters the processes keep: how many have
// a FIFO open for writing or are waiting to. Controlled scheduling needs
// them because a read-open blocks until a writer comes, which no system
// call can ask without blocking. The destructor removes the FIFOs, the
// directory and the mapping.
#pragma once

#include "util/error.hpp"

#include <atomic>
#include <string>
#include <vector>

namespace simrun {

struct FifoCounters {
    std::atomic<int> writers_open;
    std::atomic<int> writers_waiting;
};

class FifoDir {
public:
    // One FIFO per name; counters() has `counter_slots` entries (the caller
    // indexes them as it likes: simrun uses its pipe numbers).
    static Result<FifoDir> create(const std::vector<std::string>& names, std::size_t counter_slots);
    FifoDir() = default;
    FifoDir(FifoDir&& o) noexcept;
    FifoDir& operator=(FifoDir&& o) noexcept;
    ~FifoDir() { (void)remove(); }
    const std::vector<std::string>& paths() const { return paths_; }
    const std::string& dir() const { return dir_; }
    FifoCounters* counters() const { return counters_; }
    Status remove();

private:
    std::string dir_;
    std::vector<std::string> paths_;
    FifoCounters* counters_ = nullptr;
    std::size_t bytes_ = 0;
};

}  // namespace simrun

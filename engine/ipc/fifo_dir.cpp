#include "ipc/fifo_dir.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <utility>

namespace simrun {

Result<FifoDir> FifoDir::create(const std::vector<std::string>& names, std::size_t counter_slots) {
    FifoDir d;
    if (names.empty()) return d;
    char dir[] = "/dev/shm/simrun-fifo-XXXXXX";
    if (!mkdtemp(dir)) return sys_error("mkdtemp(/dev/shm/simrun-fifo-XXXXXX)");
    d.dir_ = dir;
    for (const auto& n : names) {
        std::string path = d.dir_ + "/" + n;
        if (mkfifo(path.c_str(), 0600) != 0) return sys_error(fmt::format("mkfifo({})", path));
        d.paths_.push_back(path);
    }
    d.bytes_ = sizeof(FifoCounters) * counter_slots;
    void* at = mmap(nullptr, d.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) return sys_error("mmap(FIFO counters)");
    d.counters_ = static_cast<FifoCounters*>(at);  // zero-filled: every counter starts at 0
    return d;
}

FifoDir::FifoDir(FifoDir&& o) noexcept
    : dir_(std::move(o.dir_)), paths_(std::move(o.paths_)), counters_(std::exchange(o.counters_, nullptr)), bytes_(o.bytes_) {
    o.dir_.clear();
    o.paths_.clear();
}

FifoDir& FifoDir::operator=(FifoDir&& o) noexcept {
    if (this != &o) {
        (void)remove();
        dir_ = std::exchange(o.dir_, {});
        paths_ = std::exchange(o.paths_, {});
        counters_ = std::exchange(o.counters_, nullptr);
        bytes_ = o.bytes_;
    }
    return *this;
}

Status FifoDir::remove() {
    Status st = ok_status();
    for (const auto& p : paths_)
        if (unlink(p.c_str()) != 0 && st.ok()) st = sys_error(fmt::format("unlink({})", p));
    paths_.clear();
    if (!dir_.empty() && rmdir(dir_.c_str()) != 0 && st.ok()) st = sys_error(fmt::format("rmdir({})", dir_));
    dir_.clear();
    if (counters_) munmap(std::exchange(counters_, nullptr), bytes_);
    return st;
}

}  // namespace simrun

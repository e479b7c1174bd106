#include "ipc/posix_sem.hpp"

#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdint>
#include <utility>

namespace simrun {

Result<PosixSem> PosixSem::create_named(const std::string& name, unsigned value) {
    sem_t* s = sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, value);
    if (s == SEM_FAILED) return sys_error(fmt::format("sem_open({}, O_CREAT|O_EXCL, value={})", name, value));
    return PosixSem(name, s);
}

Result<PosixSem> PosixSem::create_unnamed(unsigned value) {
    void* at = mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) return sys_error("mmap(unnamed semaphore)");
    auto* s = static_cast<sem_t*>(at);
    if (sem_init(s, 1, value) != 0) {
        Error e = sys_error(fmt::format("sem_init(pshared=1, value={})", value));
        munmap(at, sizeof(sem_t));
        return e;
    }
    return PosixSem({}, s);
}

PosixSem::PosixSem(PosixSem&& o) noexcept : name_(std::move(o.name_)), sem_(std::exchange(o.sem_, nullptr)) {}

int PosixSem::value() const {
    int v = -1;
    if (sem_) sem_getvalue(sem_, &v);
    return v;
}

Status PosixSem::remove() {
    if (!sem_) return ok_status();
    sem_t* s = std::exchange(sem_, nullptr);
    if (name_.empty()) {
        sem_destroy(s);
        munmap(s, sizeof(sem_t));
        return ok_status();
    }
    sem_close(s);
    if (sem_unlink(name_.c_str()) != 0) return sys_error(fmt::format("sem_unlink({})", name_));
    return ok_status();
}

Result<std::int64_t*> PosixShm::map(int fd, std::size_t cells, const std::string& name) {
    std::size_t bytes = cells * sizeof(std::int64_t);
    void* at = MAP_FAILED;
    if (ftruncate(fd, static_cast<off_t>(bytes)) == 0) at = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (at == MAP_FAILED) return sys_error(fmt::format("ftruncate/mmap({}, {} bytes)", name, bytes));
    return static_cast<std::int64_t*>(at);
}

Result<PosixShm> PosixShm::create(const std::string& name, std::size_t cells) {
    UniqueFd fd(shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return sys_error(fmt::format("shm_open({}, O_CREAT|O_EXCL)", name));
    auto at = map(fd.get(), cells, name);
    if (!at) {
        shm_unlink(name.c_str());
        return at.error();
    }
    return PosixShm(name, *at, cells);
}

Result<PosixShm> PosixShm::create_file(std::string pattern, std::size_t cells) {
    UniqueFd fd(mkostemp(pattern.data(), O_CLOEXEC));
    if (!fd.valid()) return sys_error(fmt::format("mkstemp({})", pattern));
    auto at = map(fd.get(), cells, pattern);
    if (!at) {
        unlink(pattern.c_str());
        return at.error();
    }
    return PosixShm(pattern, *at, cells, true);
}

PosixShm::PosixShm(PosixShm&& o) noexcept
    : name_(std::move(o.name_)), cells_(std::exchange(o.cells_, nullptr)), n_(o.n_), file_(o.file_) {}

Status PosixShm::remove() {
    if (!cells_) return ok_status();
    munmap(std::exchange(cells_, nullptr), n_ * sizeof(std::int64_t));
    if ((file_ ? unlink(name_.c_str()) : shm_unlink(name_.c_str())) != 0) return sys_error(fmt::format("unlink({})", name_));
    return ok_status();
}

}  // namespace simrun

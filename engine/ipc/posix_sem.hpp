// PosixSem owns one POSIX semaphore made before the first fork:
//  named:   sem_open(O_CREAT|O_EXCL); the destructor closes and unlinks it;
//  unnamed: sem_init(pshared = 1) in a shared anonymous mapping; the
//           destructor destroys it and unmaps.
// Children inherit the mapping, so sem() is valid in every process.
#pragma once

#include "util/error.hpp"

#include <semaphore.h>

#include <string>

namespace simrun {

class PosixSem {
public:
    static Result<PosixSem> create_named(const std::string& name, unsigned value);
    static Result<PosixSem> create_unnamed(unsigned value);
    PosixSem(PosixSem&& o) noexcept;
    PosixSem& operator=(PosixSem&&) = delete;
    ~PosixSem() { (void)remove(); }
    sem_t* sem() const { return sem_; }
    // Where it lives in the file system ("/dev/shm/sem.NAME"); "" if unnamed.
    std::string path() const { return name_.empty() ? "" : "/dev/shm/sem." + name_.substr(1); }
    int value() const;  // sem_getvalue
    Status remove();

private:
    PosixSem(std::string name, sem_t* sem) : name_(std::move(name)), sem_(sem) {}
    std::string name_;  // empty for unnamed
    sem_t* sem_ = nullptr;
};

// PosixShm owns one POSIX shared memory object of 8-byte cells: shm_open,
// ftruncate, mmap(MAP_SHARED); the destructor unmaps and unlinks it.
class PosixShm {
public:
    static Result<PosixShm> create(const std::string& name, std::size_t cells);
    // A memory-mapped file: mkstemp from `pattern` ("/dev/shm/simrun-map-XXXXXX"),
    // ftruncate, mmap(MAP_SHARED); the destructor unmaps and unlinks it.
    static Result<PosixShm> create_file(std::string pattern, std::size_t cells);
    PosixShm(PosixShm&& o) noexcept;
    PosixShm& operator=(PosixShm&&) = delete;
    ~PosixShm() { (void)remove(); }
    std::int64_t* cells() const { return cells_; }
    std::size_t size() const { return n_; }
    std::string path() const { return file_ ? name_ : "/dev/shm" + name_; }
    Status remove();

private:
    PosixShm(std::string name, std::int64_t* cells, std::size_t n, bool file = false)
        : name_(std::move(name)), cells_(cells), n_(n), file_(file) {}
    static Result<std::int64_t*> map(int fd, std::size_t cells, const std::string& name);
    std::string name_;
    std::int64_t* cells_ = nullptr;
    std::size_t n_ = 0;
    bool file_ = false;  // a path to unlink rather than a shm_open name
};

}  // namespace simrun

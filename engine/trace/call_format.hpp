// How a program's call (decoded from the preload tracer's Call record)
// reads: as trace.jsonl fields and as a line of the timeline; and the names
// the decoder learns for them (SysvNames, ChildNames).
#pragma once

#include "trace/event.hpp"
#include "trace/record.hpp"

#include <sys/sem.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace simrun {

// System V ids the run declared, to name them ("lock" for semid 3).
struct SysvNames {
    std::vector<std::pair<int, std::string>> sets, queues;
    const std::string* set(std::int64_t id) const;
    const std::string* queue(std::int64_t id) const;
};

// Names for the children traced programs fork (spare slots, process numbers
// from P up): "student/1", "student/1/2", learned from their parents' fork
// records as the stream goes by.
class ChildNames {
public:
    explicit ChildNames(std::vector<std::string> declared) : names_(std::move(declared)), declared_(names_.size()) {}
    void on_event(const Record& r);
    const std::string* name(std::uint16_t proc) const;
    // The declared process a child descends from (its timeline column); -1 if unknown.
    int root(std::uint16_t proc) const;

private:
    struct Parent {
        std::string name;
        int root;
    };
    void add(std::size_t child, const Parent& parent, std::int64_t pid);
    std::vector<std::string> names_;  // declared first, then by spare number
    std::vector<int> roots_;
    std::vector<std::int64_t> pids_;  // per spare slot: the pid its current name is for
    std::unordered_map<std::string, int> children_;  // children named after each name so far
    // Children started without fork (vfork, posix_spawn), by pid: who
    // started them, as that parent was named then. The child names itself
    // by its parent's slot as it attaches, and by then the parent may have
    // ended and its slot passed on.
    std::unordered_map<std::int64_t, Parent> started_;
    std::size_t declared_;
};

// Names for POSIX semaphores by address, learned as the stream goes by: a
// sem_open's name ("/mutex"), else the semaphore's place in a mapping a
// program made ("shm 3 +16", "mmap fd 4 +0", "mmap +8": shmat, mmap).
class PsemNames {
public:
    void on_event(const Record& r, std::string_view payload);
    const std::string* name(std::int64_t addr);

private:
    struct Region {
        std::int64_t start, length;
        std::string what;
    };
    std::unordered_map<std::int64_t, std::string> named_;
    std::unordered_map<std::int64_t, std::int64_t> shm_sizes_;  // shmid → bytes, from shmget
    std::vector<Region> regions_;
};

// A semop Call record's operations (one packed in the record, more as its
// Data payload), into `out` (reused by the caller: no allocation per call).
void read_sembufs(const Record& r, std::string_view payload, std::vector<struct sembuf>& out);

// A SETALL's or GETALL's values (from call::Semctl::values).
std::vector<int> semctl_values(std::string_view raw);

// ,"call":"semop","semid":3,"obj":"lock","sops":[...] (no result fields).
void append_call_json(std::string& line, const ev::Call& call);

// The object a call names, as the trace does: a declared set or queue
// ("lock"), a name a program opened ("/mutex", a FIFO's path), a POSIX
// semaphore's place ("shm 3 +16"); "" if it names none.
std::string_view call_object(const ev::Call& call);
// The signal a kill, sigqueue, raise, sigaction or handler is about; 0 for other calls.
int call_signal(const ev::Call& call);

// "semop(lock: 0 -1 undo) → 0", "msgsnd(q, type 2, \"hi\")", "fork → pid 12".
std::string describe_call(const ev::Call& call);

}  // namespace simrun

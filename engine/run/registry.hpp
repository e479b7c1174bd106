// Without namespaces nothing removes a run's objects if simrun is killed,
// so a run keeps a registry: one file per run under
// ${XDG_RUNTIME_DIR:-/tmp}/simrun-UID/, listing what it made (System V ids
// with their keys, /dev/shm files, POSIX queue names, folders) and the tag
// exec'd programs carry in their environment (SIMRUN_RUN=tag, inherited by
// whatever they start), and each process simrun forks (pid and start time:
// forked, not exec'd, they show simrun's own environment). The live run
// holds a write lock (fcntl) on its file; `simrun clean` takes the files
// nobody holds, i.e. of runs that died, and removes what they list: it kills
// the tagged processes of this user, then removes each object if it is
// still the one recorded (same key, this user's).
//
// File format, one entry per line:  tag T | pid PID STARTTIME | sysv sem|shm|msg ID KEY |
// file PATH | mq NAME | dir PATH
#pragma once

#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <string>
#include <vector>

namespace simrun {

class RunRegistry {
public:
    static Result<RunRegistry> create();  // a fresh file, locked, with its tag line
    RunRegistry() = default;
    RunRegistry(RunRegistry&&) noexcept = default;
    RunRegistry& operator=(RunRegistry&&) noexcept = default;
    ~RunRegistry();  // the run ended normally: its own clean-up ran; drop the file
    const std::string& tag() const { return tag_; }
    Status add(const std::vector<std::string>& lines);

private:
    std::string path_, tag_;
    UniqueFd fd_;
};

struct CleanReport {
    int runs = 0;                      // registries of dead runs
    std::vector<std::string> removed;  // "sem id=3", "/dev/shm/simrun-12-buf", "process 4242", ...
    std::vector<std::string> failed;   // with the reason
};

// Cleans up after every run of this user that died without doing it itself.
CleanReport clean_crashed_runs();

std::string registry_dir();

}  // namespace simrun

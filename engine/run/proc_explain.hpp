// Why is this program stuck? Read from /proc without touching it: its state
// letter, the system call it is blocked in with its arguments
// (/proc/PID/syscall), and for IPC calls what the kernel says about the
// object: a semaphore's value and waiters, a queue's length, what a file
// descriptor is. Used at a timeout or deadlock for exec'd programs, whose
// steps simrun does not see itself.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace simrun {

// Names for System V ids the run declared, so the explanation can say
// "lock.mutex" rather than "semid 3, semaphore 0".
struct IdNames {
    std::vector<std::pair<int, std::string>> semids;  // id → set name
    std::vector<std::vector<std::string>> members;     // per entry of semids: member names
    std::vector<std::pair<int, std::string>> msqids;   // id → queue name
};

// "sleeping in semtimedop(semid 3 = lock, [mutex -1]): lock.mutex = 0,
// 1 waiting" or "running" or "" when /proc cannot be read.
std::string explain_process(pid_t pid, const IdNames& names);

// For free-mode deadlock detection: what an exec'd program is doing.
enum class ProgramWait {
    Unknown,   // running, or in a call simrun cannot judge (a read, a sleep)
    Semop,     // blocked in semop/semtimedop whose operations cannot proceed with today's values
    Children,  // in wait4/waitid
    PipeRead,  // in read(2) on a pipe or FIFO with nothing in it (who could write to it: pipe_ends.hpp); fd in *fd
};
ProgramWait program_wait(pid_t pid, int* fd = nullptr);

}  // namespace simrun

// The names of the library calls the preload tracer records, in the order
// of trace/record.hpp's CallId: one list for the trace, the timeline and
// the expressions that count a program's calls (plan/, which sees no trace).
#pragma once

#include <cstddef>
#include <string_view>

namespace simrun {

inline constexpr const char* kCallNames[] = {
    "attach", "semget", "semop", "semctl", "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
    "mq_open", "mq_send", "mq_receive", "mq_unlink", "sem_open", "sem_wait", "sem_trywait", "sem_timedwait", "sem_post",
    "sem_unlink", "sem_init", "shm_open", "shm_unlink", "mmap", "pipe", "mkfifo", "read", "write", "kill", "sigqueue",
    "raise", "sigaction", "handler", "sigprocmask", "fork", "exec", "wait", "exit", "pause", "sigsuspend", "sleep", "sigwait", "alarm",
    "longjmp"};
inline constexpr std::size_t kCallNameCount = sizeof kCallNames / sizeof kCallNames[0];

// The index of a call's name, -1 if it is none.
inline int call_index(std::string_view name) {
    for (std::size_t i = 0; i < kCallNameCount; ++i)
        if (name == kCallNames[i]) return static_cast<int>(i);
    return -1;
}

}  // namespace simrun

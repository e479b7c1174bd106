// Futex wait and wake on a 32-bit word in memory shared between processes
// (not FUTEX_PRIVATE). Async-signal-safe: one system call each.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace simrun {

// Sleeps while *word == expected, at most timeout_ns (< 0: no limit).
inline void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, long timeout_ns = -1) {
    timespec ts{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected, timeout_ns < 0 ? nullptr : &ts,
            nullptr, 0);
}

inline void futex_wake(std::atomic<std::uint32_t>* word) {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace simrun

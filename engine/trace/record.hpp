// The binary trace record: 64 bytes, fixed size, written by one process into
// its own ring. Field meanings per kind are in docs/trace-format.md.
#pragma once

#include <cstdint>

namespace simrun {

enum class EventKind : std::uint8_t {
    RunStart = 1,
    RunEnd,
    Spawn,       // proc was forked: pid, arg = parent pid
    Exec,        // proc is about to exec its program
    ExecFailed,  // err = errno of execve
    Exit,        // proc was reaped: arg = wait status
    Block,       // op would block; the process now waits (value = current value when known)
    Op,          // op done: result, err, value
    Data,        // payload continuing the previous record of this ring
    Output,      // supervisor captured stdout of proc; Data records follow
    Fault,       // a fault sent signal arg to proc (e.op: the op it followed, if any)
    Signal,      // proc's handler ran for signal arg: pid = sender, result = si_code, value = si_value
    Zombie,      // proc has exited; its parent has not reaped it yet (its exit event comes then)
    Orphan,      // proc's parent died first: it is re-parented to the supervisor (arg = new parent pid)
    Undo,        // derived at proc's exit: the kernel applied its SEM_UNDO adjustment
                 // (arg = flat semaphore index, result = value before, value = after)
    Reaped,      // a process the scenario does not declare (a program's child) ended
                 // without its parent waiting for it; simrun reaped it (pid, arg = wait status)
};

enum RecordFlag : std::uint8_t {
    kRecBlocked = 1,     // Op: it had to wait before completing
    kRecValue = 2,       // value is known
    kRecLoadStep = 4,    // ShmAdd: the load half of a racy +=
    kRecStoreStep = 8,   // ShmAdd: the store half of a racy +=
    kRecAdopted = 16,    // Exit: reaped by simrun, not by the declared parent that should have
    kRecStderr = 32,     // Output: from the program's stderr
};

constexpr std::uint16_t kRunProc = 0xFFFF;  // proc of run-level events

struct Record {
    std::uint64_t ts;   // CLOCK_MONOTONIC ns
    std::uint32_t seq;  // per-ring sequence number
    std::uint16_t proc;
    EventKind kind;
    std::uint8_t flags;
    union {
        struct {
            std::uint32_t op;    // index into Plan::ops
            std::uint32_t iter;  // repeat iteration
            std::int32_t pid;
            std::int32_t err;
            std::int64_t result;
            std::int64_t value;
            std::int64_t arg;
            std::uint64_t step;  // controlled mode: the scheduling step (~0 otherwise)
        } e;
        struct {
            char bytes[47];
            std::uint8_t len;
        } data;
    };
};
static_assert(sizeof(Record) == 64, "trace records are 64 bytes");

constexpr std::uint64_t kNoStep = ~0ull;  // Record::e.step outside controlled mode

constexpr std::size_t kDataBytes = sizeof(Record::data.bytes);

}  // namespace simrun

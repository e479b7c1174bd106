// The binary trace record: 64 bytes, fixed size, written by one process into
// its own ring. Field meanings per kind are in docs/trace-format.md.
#pragma once

#include "util/call_names.hpp"

#include <cstddef>
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
    Call,        // an exec'd program's library call, recorded by the preload tracer:
                 // op = CallId, arg/value/step = its arguments (see CallId), result, err;
                 // Data records may follow (sembufs, message text, bytes, a name)
};

// The calls the preload tracer records. Arguments by call:
//   semget: arg key, value nsems, step flags      semop/semtimedop: arg semid, value nsops; one sembuf
//                                                 packed in step (pack_sembuf), more as Data sembufs
//   semctl: arg semid, value semnum, step cmd     shmget: arg key, value size   shmat: arg shmid
//   shmdt: arg addr    shmctl/msgctl: arg id, value cmd                        msgget: arg key
//   msgsnd: arg msqid, value mtype; Data text     msgrcv: arg msqid, value msgtyp, step got type; Data text
//   mq_open/mq_unlink/sem_open/sem_unlink/shm_open/shm_unlink/mkfifo/exec: Data the name
//   mq_send/mq_receive: arg mqd, value priority; Data text
//   sem_wait/trywait/timedwait/post: arg the sem_t address; value the value after, when known
//   sem_init: arg address, value initial, step pshared   mmap: arg fd, value length
//   pipe: arg read fd, value write fd     read/write (pipes, FIFOs): arg fd; Data the bytes
//   kill/sigqueue: arg pid, value signal, step sigqueue value     raise: value signal
//   sigaction/signal: value signal, step 0 default, 1 ignore, 2 a handler   handler: value signal, arg sender pid
//   sigprocmask: arg how, value the set (signals 1-64 as bits)
//   fork: arg the child's spare slot (-1: its image claims one), value how
//     (ForkHow), result the child's pid (system: the wait status); Data the
//     path (posix_spawn) or command (system)
//   wait: arg pid asked, value status     exit: value the code     attach: the tracer is in place
enum class CallId : std::uint16_t {
    Attach, Semget, Semop, Semctl, Shmget, Shmat, Shmdt, Shmctl, Msgget, Msgsnd, Msgrcv, Msgctl,
    MqOpen, MqSend, MqReceive, MqUnlink, SemOpen, SemWait, SemTrywait, SemTimedwait, SemPost, SemUnlink, SemInit,
    ShmOpen, ShmUnlink, Mmap, Pipe, Mkfifo, Read, Write, Kill, Sigqueue, Raise, Sigaction, Handler, Sigprocmask,
    Fork, Exec, Wait, Exit, Pause, Sigsuspend, Sleep, Sigwait, Alarm, Longjmp, Count
};

// How a Fork call started its child.
enum ForkHow : std::int64_t { kForkFork = 0, kForkVfork = 1, kForkSpawn = 2, kForkSystem = 3, kForkPopen = 4 };
// An Exit call record's third field: how the program ended.
enum ExitHow : std::int64_t { kExitCall = 0, kExitImmediate = 1, kExitFromMain = 2 };  // exit(), _exit/_Exit, return from main
// A Wait record's options field for the wait pclose makes.
constexpr std::int64_t kWaitPclose = -1;

// A single sembuf inside a Call record's step.
inline std::uint64_t pack_sembuf(unsigned short num, short op, short flg) {
    return static_cast<std::uint64_t>(num) | static_cast<std::uint64_t>(static_cast<std::uint16_t>(op)) << 16 |
           static_cast<std::uint64_t>(static_cast<std::uint16_t>(flg)) << 32;
}
struct SemBuf {
    unsigned short num;
    short op, flg;
};
inline SemBuf unpack_sembuf(std::uint64_t v) {
    return {static_cast<unsigned short>(v & 0xffff), static_cast<short>((v >> 16) & 0xffff), static_cast<short>((v >> 32) & 0xffff)};
}

static_assert(kCallNameCount == static_cast<std::size_t>(CallId::Count), "util/call_names.hpp lists every CallId, in order");
inline const char* call_name(CallId c) { return static_cast<std::size_t>(c) < kCallNameCount ? kCallNames[static_cast<std::size_t>(c)] : "?"; }

enum RecordFlag : std::uint8_t {
    kRecBlocked = 1,     // Op, Call: it had to wait before completing
    kRecValue = 2,       // value is known
    kRecLoadStep = 4,    // ShmAdd: the load half of a racy +=
    kRecStoreStep = 8,   // ShmAdd: the store half of a racy +=
    kRecAdopted = 16,    // Exit: reaped by simrun, not by the declared parent that should have
    kRecStderr = 32,     // Output: from the program's stderr
    kRecEndKill = 64,    // Reaped: simrun killed it at the end of the run (a deadlock, a timeout): not a zombie the program left
    kRecCallStart = 128, // Call: the call has started and waits (its arguments as known then); its completion comes later, kRecBlocked
};

constexpr std::uint16_t kRunProc = 0xFFFF;  // proc of run-level events

struct Record {
    std::uint64_t ts;   // in a ring: a stamp (trace/trace_clock.hpp, TSC where it can); merged: CLOCK_MONOTONIC ns
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

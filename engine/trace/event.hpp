// A decoded event: what one merged record (with the Data records that
// followed it) means, with names resolved and values typed. The decoder
// (trace/decoder.hpp) makes them once; every output (the trace file, the
// terminal timeline, the checker) visits the variant, so an output that
// forgets a new kind does not compile.
//
// An Event and everything it points to (names, payload, sembufs) live only
// for the on_event call that receives it.
#pragma once

#include "trace/record.hpp"
#include "util/disposition.hpp"
#include "util/wait_status.hpp"

#include <sys/sem.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace simrun {

struct Op;

// Who an event is about.
struct ProcRef {
    std::uint16_t index = kRunProc;     // process number: declared first, then the spare slots of programs' children
    const std::string* name = nullptr;  // "producer#0", "student/1"; null for run-level events
    int column = -1;                    // the declared process it descends from (its timeline column); -1 if unknown
};

namespace ev {

struct RunStart {};
struct RunEnd {};
struct Spawn {
    std::int32_t pid, parent_pid;  // pid 0 and err: the fork failed
    int err;
};
struct Exec {
    std::int32_t pid;
};
struct ExecFailed {
    std::int32_t pid;
    int err;
};
// A declared process was reaped (adopted: by simrun, because the parent that
// should have never waited), or an undeclared one (a program's child) that
// nobody waited for was reaped by simrun (reaped_stray).
struct Exit {
    std::int32_t pid;
    WaitStatus status;
    bool adopted, reaped_stray;
    bool end_kill = false;  // a stray simrun killed as the run ended: not a zombie the program left
};
struct Fault {
    int signal;
    std::uint64_t step;  // kNoStep outside controlled mode
};
// A scripted process's handler ran.
struct Signal {
    int signal;
    std::int32_t from_pid;
    int code;                            // si_code
    std::optional<std::int64_t> value;  // sigqueue's value (SI_QUEUE)
};
struct Zombie {
    std::int32_t pid;
};
struct Orphan {
    std::int32_t pid, new_parent_pid;
};
// The kernel applied a process's SEM_UNDO adjustment at its exit.
struct Undo {
    int sem;  // flat semaphore index (Plan::sem_label); -1 for a set a program made or opened
    int before, after;
    int adj;             // the adjustment; after is before + adj clamped to 0..SEMVMX
    int semid = -1;      // a program's set: its id and the member
    int num = 0;
    bool known = true;   // before and after are known (a program's set it opened without setting: not)
    bool clamped() const { return known && after != before + adj; }
};
struct Output {
    bool stderr;
    std::string_view data;
};

// A scripted op finished (Done), or found it must wait (Parked).
struct ScriptOp {
    std::uint32_t index;  // into Plan::ops
    const Op* op;
    bool parked;          // a Block record: the process now waits
    bool woke;            // done after waiting
    enum class Half : std::uint8_t { Whole, Load, Store } half;  // a racy += is two steps
    std::uint32_t iter;
    std::int32_t pid;     // kill: the target's pid; sigwait: the sender's
    std::int64_t result;
    int err;
    std::optional<std::int64_t> value;  // the value after, when known (semaphore, cell, pending set)
    std::int64_t arg;     // per op kind: wait status, got type/priority, si_code, IPC_STAT qbytes/segsz
    std::int64_t extra;   // per op kind: sigwait's si_value, IPC_STAT qnum/nattch
    std::uint64_t step;   // kNoStep outside controlled mode
    std::string_view payload;  // the bytes read or received; semctl GETALL/IPC_STAT ints
};

}  // namespace ev

struct Plan;
// The text a write, print or send carried: as written, or for a text with
// {values} the one it formatted, which the trace keeps as its payload.
std::string_view sent_text(const Plan& plan, const ev::ScriptOp& o);

// The arguments of a program's call, per family (trace/record.hpp says how
// the preload packs them).
namespace call {

struct None {};  // attach, pause
struct IpcGet {
    std::int64_t key;
    std::optional<std::int64_t> size;  // semget nsems, shmget bytes
};
struct Semop {
    std::int64_t semid;
    const std::string* set;  // the declared set, when it is one
    std::span<const sembuf> sops;
    std::optional<std::int64_t> timeout_ms;  // semtimedop
};
struct Semctl {
    std::int64_t semid;
    const std::string* set;
    std::int64_t semnum, cmd;
    std::optional<std::int64_t> setval;  // SETVAL: the value set
    std::string_view values;             // SETALL, GETALL: the values, nsems unsigned shorts (semctl_values())
};
struct IdCtl {  // shmctl, msgctl
    std::int64_t id, cmd;
};
struct Shmat {
    std::int64_t shmid;
};
struct Shmdt {
    std::int64_t addr;
};
struct SysvMsg {  // msgsnd, msgrcv
    std::int64_t msqid;
    const std::string* queue;
    std::int64_t type;
    std::optional<std::int64_t> got_type;  // msgrcv that received
    std::string_view text;
};
struct MqMsg {  // mq_send, mq_receive
    std::int64_t mqd, prio;
    std::string_view text;
};
struct Named {  // mq_open, sem_open, shm_open and their unlinks, mkfifo, exec
    std::string_view name;
};
struct Psem {  // sem_wait, sem_trywait, sem_timedwait, sem_post
    std::int64_t addr, value;      // value: after the call (-1 unknown)
    const std::string* name;       // PsemNames: "/mutex", "shm 3 +16"; null if unknown
};
struct PsemInit {
    std::int64_t addr, value, pshared;
    const std::string* name;
};
struct Mmap {
    std::int64_t fd, length;
};
struct Pipe {
    std::int64_t read_fd, write_fd;
};
struct Io {  // read, write (pipes, FIFOs)
    std::int64_t fd, count;
    std::string_view data;
};
struct SendSignal {  // kill, sigqueue
    std::int64_t pid;
    int signal;
    std::optional<std::int64_t> value;  // sigqueue
};
struct Raise {
    int signal;
};
struct Sigaction {
    int signal;
    Disposition disposition;
};
struct Handler {
    int signal;
    std::int64_t from_pid;
};
struct Sigprocmask {
    std::int64_t how;
    std::uint64_t set;  // signals 1-64 as bits sig-1
};
struct SigSet {  // sigsuspend
    std::uint64_t set;
};
struct Sigwait {
    std::uint64_t set;
    int got;  // the signal taken, 0 if none
};
struct Sleep {
    std::int64_t ns;
};
struct Alarm {
    std::int64_t seconds;
};
struct Longjmp {
    std::int64_t value, handlers;
    std::optional<CallId> abandoned;
};
struct Wait {
    std::int64_t for_pid;
    std::optional<WaitStatus> status;  // a child was reaped
    bool pclose = false;               // the wait pclose makes for popen's child
};
struct Exit {
    std::int64_t code;
    ExitHow how = kExitCall;
};
struct Fork {
    ForkHow how;
    std::string_view name;             // posix_spawn's path, system's command
    std::optional<WaitStatus> status;  // system: the command's
};

using Args = std::variant<None, IpcGet, Semop, Semctl, IdCtl, Shmat, Shmdt, SysvMsg, MqMsg, Named, Psem, PsemInit, Mmap, Pipe, Io, SendSignal,
                          Raise, Sigaction, Handler, Sigprocmask, SigSet, Sigwait, Sleep, Alarm, Longjmp, Wait, Exit, Fork>;

}  // namespace call

namespace ev {
// A program's library call, recorded by the preload tracer.
struct Call {
    CallId id;
    std::int32_t pid;
    std::int64_t result;
    int err;
    call::Args args;
    bool started = false;  // the call has started and waits (no result yet): trace kind "block"
    bool waited = false;   // it completed after waiting (its start came before)
};
}  // namespace ev

using EventBody = std::variant<ev::RunStart, ev::RunEnd, ev::Spawn, ev::Exec, ev::ExecFailed, ev::Exit, ev::Fault, ev::Signal, ev::Zombie,
                               ev::Orphan, ev::Undo, ev::Output, ev::ScriptOp, ev::Call>;

struct Event {
    std::uint64_t ts;  // CLOCK_MONOTONIC ns
    ProcRef proc;
    EventBody body;
};

// For std::visit over a set of lambdas.
template <typename... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace simrun

// How a run ended, as the trace's run_end line records it: the outcome, the
// final kernel state and each process's end. The run loop (run/) fills it;
// the checker and the outputs (check/, report/) read it.
#pragma once

#include "scenario/model.hpp"
#include "trace/arena.hpp"
#include "trace/call_format.hpp"
#include "util/wait_status.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace simrun {

// How a process ended, as a grader sees it (judged by run/verdict.hpp).
enum class Verdict : std::uint8_t {
    Ok,            // exit 0
    RuntimeError,  // exit code other than 0
    Signaled,      // killed by a signal (its own crash, a fault, another process)
    TimeLimit,     // CPU limit (SIGXCPU), wall limit, or alive at the run's timeout
    MemoryLimit,   // died near its address-space limit
    OutputLimit,   // wrote more to stdout than simrun keeps
    ProcessLimit,  // its process group grew past its limit (a fork bomb)
    NotStarted,    // exec failed (errno)
    Stopped,       // still running when the run ended otherwise (deadlock, or allowed to end blocked)
};

// Why the supervisor killed a process, if it did.
enum class LimitHit : std::uint8_t { None, Wall, Output, Processes, RunEnd };

const char* verdict_name(Verdict v);  // "ok", "runtime error", "time limit", ...

struct ProcessEnd {
    std::int32_t pid = 0;
    ProcState state = ProcState::Unborn;  // when the run ended, before any kill
    std::uint32_t op = 0, iter = 0;       // where it was then
    bool exited = false;                  // reaped (after the end-of-run kill too)
    WaitStatus wait_status;
    LimitHit hit = LimitHit::None;
    std::uint64_t cpu_ns = 0;       // from wait4, when simrun or a scripted parent reaped it
    std::int64_t maxrss_kb = 0;
    std::int64_t nvcsw = -1, nivcsw = -1;  // context switches from wait4 (-1: not reaped with its rusage)
    std::int64_t vm_peak_kb = 0;    // the largest VmPeak simrun saw while it ran
    int exec_errno = 0;
    Verdict verdict = Verdict::Ok;
    std::string verdict_detail;     // "exit 3", "SIGSEGV (core)", "cpu 1.00 s of 1 s", ...
};

struct RunResult {
    Outcome outcome = Outcome::Completed;
    std::uint64_t t0 = 0, t_end = 0;  // CLOCK_MONOTONIC ns
    bool sandboxed = false;
    std::string contention_json;  // report/contention.hpp: written in run_end
    std::string wait_for_dot;   // a deadlock's wait-for graph in Graphviz DOT ("" for none): written as deadlock.dot
    std::string schedule_info;  // controlled mode: "\"strategy\":\"pct\",\"seed\":3,..." fields for run_start
    std::vector<std::int64_t> cells;  // final, flat (Plan::cell_slots)
    std::vector<int> sems;            // final, flat (Plan::sem_values)
    std::vector<std::int64_t> queue_stats;  // final, 2 per queue (Plan::queue_stats)
    std::vector<std::int64_t> psem_values;  // final, per Plan::psems
    std::vector<ProcessEnd> procs;
    std::vector<std::string> diagnosis;  // deadlock: who waits on what; timeout: who was where
    std::vector<std::string> ipc_left;   // objects the processes left behind: "sem key=0x... id=3", "/dev/shm/x"
    std::uint64_t events = 0;
    std::string trace_cut;  // why the trace lacks records (a failed drain or merge); empty when complete
    SysvNames sysv_names;  // the run's System V ids by declared name, to show a program's calls
};

}  // namespace simrun

// What the run loop hands to the checkers and reports: how the run ended,
// the final kernel state, and each process's end.
#pragma once

#include "scenario/model.hpp"
#include "trace/arena.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace simrun {

struct ProcessEnd {
    std::int32_t pid = 0;
    ProcState state = ProcState::Unborn;  // when the run ended, before any kill
    std::uint32_t op = 0, iter = 0;       // where it was then
    bool exited = false;                  // reaped (after the end-of-run kill too)
    int wait_status = 0;
};

struct RunResult {
    Outcome outcome = Outcome::Completed;
    std::uint64_t t0 = 0, t_end = 0;  // CLOCK_MONOTONIC ns
    bool sandboxed = false;
    std::string schedule_info;  // controlled mode: "\"strategy\":\"pct\",\"seed\":3,..." fields for run_start
    std::vector<std::int64_t> cells;  // final, flat (Plan::cell_slots)
    std::vector<int> sems;            // final, flat (Plan::sem_values)
    std::vector<std::int64_t> queue_stats;  // final, 2 per queue (Plan::queue_stats)
    std::vector<std::int64_t> psem_values;  // final, per Plan::psems
    std::vector<ProcessEnd> procs;
    std::vector<std::string> diagnosis;  // deadlock: who waits on what; timeout: who was where
    std::vector<std::string> ipc_left;   // objects the processes left behind: "sem key=0x... id=3", "/dev/shm/x"
    std::uint64_t events = 0;
};

}  // namespace simrun

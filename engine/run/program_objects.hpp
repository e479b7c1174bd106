// The IPC objects the run's traced programs made or opened, read from their
// calls as the trace will decode them: the ids semget, shmget and msgget
// returned, the names shm_open, sem_open and mq_open succeeded on. Without a
// sandbox these are what simrun may remove at the end of a run (a program
// killed at a deadlock cannot clean up); anything else new on the machine
// was made by someone else and is only reported. Names as IpcSnapshot
// spells them ("sem 3", "/dev/shm/sem.mutex", "mqueue /requests"); and the
// FIFOs mkfifo made at absolute paths ("fifo /tmp/2").
#pragma once

#include "plan/plan.hpp"
#include "trace/call_format.hpp"
#include "trace/collector.hpp"

#include <set>
#include <string>
#include <vector>

namespace simrun {

std::set<std::string> program_objects(const Plan& plan, const Collector& records, const SysvNames& names, const std::vector<int>& semids);

}  // namespace simrun

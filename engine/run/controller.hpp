// Controlled scheduling: one step of one scripted process at a time. Every
// scripted process waits at its gate (trace/arena.hpp); the controller picks
// one of those that can take a step with a Strategy, grants it one step,
// and waits until it is back at its gate (or dead) before picking again.
// A process whose op would block is parked until some other step has
// changed something. Process deaths and faults happen between steps. So
// the sequence of events is a function of the scenario and the strategy's
// seed.
//
// Exec'd programs are gated too, call by call, through the preload tracer
// (Runtime::stepped): each traced call is a step at the same gate, and so
// are the calls of the children they fork (identities from P on, found
// right after the fork step; see discover_children). A program that cannot
// be traced (a static binary, trace = false) runs free beside the scheduled
// processes, and the report says the run is not reproducible.
#pragma once

#include "plan/plan.hpp"
#include "run/parking.hpp"
#include "run/wait_for.hpp"
#include "sandbox/sandbox.hpp"
#include "sched/strategy.hpp"
#include "spawn/runtime.hpp"
#include "util/unique_fd.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace simrun {

struct ControlResult {
    Outcome outcome = Outcome::Completed;
    std::vector<int> schedule;           // the process of every step
    std::uint64_t handoffs = 0;          // grants of the gate (a run of steps granted at once counts once) taken
    std::vector<std::vector<int>> choices;  // if asked: who could have taken each step
    std::vector<std::string> diagnosis;  // the wait-for graph at a deadlock
    std::string wait_for_dot;            // and as a picture (run/wait_for.hpp)
    std::string divergence;              // strict replay: where the schedule stopped fitting
    std::vector<std::string> children;   // the scheduled children of programs, by identity from P on ("student/1")
};

struct ControlHooks {
    std::function<void()> idle;             // while waiting: drain rings, pump stdio
    std::function<bool()> stop_requested;   // SIGINT/SIGTERM arrived
    std::function<bool()> trace_full;       // the trace reached the scenario's trace_limit
};

class Controller {
public:
    Controller(const Plan& plan, Runtime& rt, RingWriter& supervisor_ring, SandboxMode mode, ControlHooks hooks);
    ~Controller();

    // Runs steps until no scheduled process is left alive or none can run.
    // strict: the replay schedule every step must follow (nullptr: any).
    ControlResult run(Strategy& strategy, std::uint64_t deadline_ns, const std::vector<int>* strict, bool record_choices = false);
    // Names of the children of programs scheduled so far, from identity P on.
    std::vector<std::string> children() const;
    // What the report must say about the run's reproducibility (processes that ran free).
    const std::vector<std::string>& notes() const { return notes_; }
    // "  student/1 waits in its semop", one line per live child of a program.
    std::vector<std::string> describe_children() const;

private:
    struct Proc;
    enum class Wait { AtGate, Died, Timeout, Stopped, RunningFree };

    void discover(bool after_fork = true);                          // new processes: open pidfds, wait for their first gate
    Wait wait_at_gate(int p);
    void on_death(int p);                     // reap it if it is ours; everyone may retry
    bool wait_death(int p, long timeout_ms);
    void fire(const PlanFault& f, std::uint64_t step);
    void after_step(int p, std::uint64_t step);
    void settle_signals();
    bool ring_alarm();
    std::vector<int> runnable() const;
    std::uint32_t run_ahead(const Strategy& strategy, const std::vector<int>& ready, std::uint64_t step, int p,
                            const std::vector<int>* strict) const;
    bool alive_scheduled() const;
    bool wait_free_running();
    void run_free(int p, std::uint64_t step);
    void rejoin(std::uint64_t step);
    bool wait_running_free();
    bool expire_timed_wait();
    void explain_deadlock(ControlResult& out) const;
    bool spinning() const;
    void end_blocked(ControlResult& out);
    WaitForGraph wait_for_graph() const;
    void discover_children();
    ProcSlot& slot(int p) const;
    bool declared(int p) const;
    bool scheduled(int p) const;
    bool program(int p) const;
    const std::string& name(int p) const;

    const Plan& plan_;
    Runtime& rt_;
    RingWriter& ring_;
    SandboxMode mode_;
    ControlHooks hooks_;
    std::vector<Proc> procs_;
    std::vector<int> last_taker_;  // per flat semaphore: who last decremented it
    FaultInjector faults_;         // step faults, and `after` faults (the agents fire none in controlled mode)
    std::unordered_set<pid_t> announced_zombies_;  // programs' own children seen dead (wait_free_running)
    std::unordered_map<std::string, int> children_of_;
    std::vector<int> holder_;  // per arena slot from P on: the child identity that last held it (-1: none)  // children named after each process so far
    Strategy* strategy_ = nullptr;  // during run()
    Parking parking_;              // who is parked, and whether anything changed since
    std::map<std::pair<int, int>, int> program_takers_;  // programs' semaphores (semid, member): who last took each
    std::map<std::pair<int, int>, std::vector<int>> program_releasers_;  // and who has given each back
    std::map<int, std::vector<int>> program_senders_, program_receivers_;  // programs' queues (msqid): who has sent to, received from each
    std::vector<int> program_signalers_;  // programs that have sent a signal (kill, sigqueue)
    std::uint64_t deadline_ = 0;
    std::vector<std::string> notes_;  // said once in the report: processes that ran free
};

}  // namespace simrun

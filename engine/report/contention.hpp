// Where the time went: a consumer of the decoded events that measures
// contention per object (the P's and receives that blocked, their total and
// longest wait, hand-offs: a semaphore taken by another process than the one
// that took it before) and per process (its waits, time blocked, its life).
// The course's comparison of a protected and an unprotected counter is
// explained by these figures (scenarios/counter_cost.toml).
#pragma once

#include "plan/plan.hpp"
#include "trace/event_sink.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace simrun {

struct ObjectContention {
    std::string name;               // "lock.mutex", "requests"
    std::uint64_t ops = 0;          // P's / receives / reads that completed
    std::uint64_t blocked = 0;      // of them, how many waited
    std::uint64_t wait_ns = 0, longest_ns = 0;
    std::uint64_t handoffs = 0;     // taken by another process than the one before
    int last = -1;
};

struct ProcContention {
    std::string name;
    int index = -1;                       // its process number (a spare slot passes from child to child)
    const std::string* seen = nullptr;    // the name as the decoder last gave it
    std::uint64_t waits = 0, blocked_ns = 0, longest_ns = 0;
    std::uint64_t first_ts = 0, last_ts = 0;  // its first and last event
};

class Contention : public EventSink {
public:
    explicit Contention(const Plan& plan) : plan_(plan) {}
    void on_event(const Event& e) override;
    // Objects in first-use order; processes in order of their first event.
    std::vector<ObjectContention> objects() const;
    std::vector<ProcContention> processes() const;
    // {"objects":[...],"processes":[...]} for run_end.
    // What the kernel says of a declared process (its rusage when reaped;
    // -1: unknown), by process index.
    struct Usage {
        std::int64_t voluntary = -1, involuntary = -1;  // context switches
        std::int64_t cpu_ns = -1;                       // user + system time
    };
    // run_end's "contention", with each process's usage where known.
    std::string json(const std::vector<Usage>& usage = {}) const;
    // Lines for the terminal (--stats); voluntary/involuntary context
    // switches per exec'd or scripted process from `switches` (by index).
    // A process's span splits into running (its CPU time), blocked (in a
    // wait simrun saw) and the rest: runnable, waiting for its turn on a CPU
    // (or in calls simrun does not see as waits).
    std::vector<std::string> lines(const std::vector<Usage>& usage) const;

private:
    void took(std::size_t object, int proc, bool waited, std::uint64_t wait_ns);
    std::size_t object_index(std::uint64_t key, const ev::Call* call);
    const Plan& plan_;
    std::vector<ObjectContention> objects_;
    std::map<std::uint64_t, std::size_t> by_key_;
    std::vector<ProcContention> procs_;       // in order of first sight
    std::map<int, std::size_t> current_;      // process number -> its entry now
    std::map<int, std::uint64_t> parked_at_;  // process -> when its current wait began
};

}  // namespace simrun

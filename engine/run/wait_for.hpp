// The wait-for graph of a stuck run, built by a pure function from a
// snapshot (what each process waits in, the semaphore values, who last
// took each semaphore), so that free and controlled runs explain a
// deadlock the same way and tests can build graphs without processes.
// An edge p → q: q is the process that must act for p to go on (the last
// taker of a semaphore p waits for, else every live process that could
// release it; the other end of a pipe, queue or FIFO; p's live children).
#pragma once

#include "plan/plan.hpp"
#include "trace/protocol.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace simrun {

struct WaitSnapshot {
    struct Proc {
        bool alive = false;    // started and not dead
        bool waits = false;    // explain it: it is stuck (controlled: scheduled and not runnable)
        ProcState state = ProcState::Unborn;
        std::uint32_t op = 0;    // a scripted process: the op it is in
        std::uint32_t call = 0;  // a program: the CallId it is in
        std::string name;        // a child a program forked ("student/1"); "" for a declared process
        int sem_id = -1, sem_num = 0, sem_op = 0;  // a program in semop: the operation it waits on
        std::vector<int> children;  // a program's live children (by index here), for a wait
        std::string pipe;           // a program in read or write: the pipe or FIFO ("pipe:[4711]")
        std::vector<int> pipe_ends; // who holds its other end open (by index here), itself too
        bool untraced_read = false; // the read is one libc makes for stdio (scanf, fgets): the tracer never saw it
    };
    std::vector<Proc> procs;        // per declared process, then the children of programs
    std::vector<int> sem_values;    // flat (PlanSemSet::first_value); -1 unknown
    std::vector<int> psem_values;   // per Plan::psems; -1 unknown
    std::vector<int> last_taker;    // flat: who last took it (decremented it); -1 nobody known
    // Programs' own semaphores, by (semid, member): who last took each, who has given it back.
    std::map<std::pair<int, int>, int> program_takers;
    std::map<std::pair<int, int>, std::vector<int>> program_releasers;
    // Programs' own message queues, by msqid: who has sent to and received from each; how many messages each holds.
    std::map<int, std::vector<int>> program_senders, program_receivers;
    std::map<int, long> queue_messages;
    std::vector<int> program_signalers;  // programs that have sent a signal
};

// An object a process waits on, and who must act on it: the holder of a
// semaphore (its last taker) or those who could release it, the other end
// of a pipe, queue or FIFO.
struct WaitObject {
    std::string name;          // "locks.b", "requests", "pipe chan"
    std::string kind;          // "semaphore", "queue", "pipe", "FIFO"
    std::vector<int> holders;  // the edges that go through it
    bool held = false;         // holders[0] took it last (a lock held), not just someone who could release it
};

struct WaitFor {
    int proc;
    std::string name;
    std::string text;        // "waits in 'P locks.b' (locks.b = 0; last taken by left; could be released by left)"
    std::vector<int> edges;  // whom it waits for
    std::vector<WaitObject> objects;  // what it waits on, where the snapshot says (the edges not through one are direct)
    std::string op;          // what it is in: "P locks.b", "its semop(semid 3, sem 0 -1)", "its children"
};

struct WaitForGraph {
    std::vector<WaitFor> waits;  // every process the snapshot says waits, in index order
    std::vector<int> cycle;      // the first cycle, its first process repeated at the end; empty if none
    std::vector<std::string> dead_holders;  // "locks.a = 0: last taken by left, which died"
    std::vector<std::string> names;         // per process of the snapshot
};

WaitForGraph build_wait_for(const Plan& plan, const WaitSnapshot& snap);

// The first cycle of a directed graph (adjacency lists), as a path that
// ends where it starts; empty if the graph has none.
std::vector<int> first_cycle(const std::vector<std::vector<int>>& edges);

// "left → right → left"
std::string cycle_text(const WaitForGraph& g);

// The graph in Graphviz's DOT language: processes (ellipses) and the
// objects they wait on (boxes), p -> object labelled with what p is in,
// object -> its holder ("holds") or who could release it, direct edges
// where no object is known, every edge of the cycle red and bold.
std::string wait_for_dot(const WaitForGraph& g, const std::string& title);

}  // namespace simrun

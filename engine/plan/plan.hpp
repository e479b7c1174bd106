// The resolved scenario: every name turned into an index, replicas expanded,
// the fork tree and the pipe-end ownership computed, scripts compiled into a
// flat vector of Ops. Built before any fork; after fork it is read-only, so
// the agent interprets it with no parsing and no allocation.
#pragma once

#include "scenario/model.hpp"

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace simrun {

struct PlanSemSet {
    std::string name;
    KeyDecl key;
    std::vector<std::string> members;
    std::vector<int> initial;
    bool undo = false;
    int first_value = 0;  // index of member 0 in the flat list of all semaphores
};

struct PlanCell {
    std::string name;
    std::uint32_t offset = 0;  // in 8-byte slots from the segment start
    std::uint32_t length = 1;  // 1 for a scalar
    bool is_array = false;
};

struct PlanShm {
    std::string name;
    KeyDecl key;
    bool posix = false;  // POSIX shared memory (shm_open) or a mapped file, rather than System V
    bool file = false;   // a memory-mapped file
    std::vector<PlanCell> cells;
    std::uint32_t slots = 0;       // segment size in 8-byte cells
    std::uint32_t first_slot = 0;  // index of slot 0 in the flat list of all cells
    std::vector<std::int64_t> initial;  // per slot
};

struct PlanPsem {
    std::string name;
    int value = 0;
    bool named = true;
};

struct PlanQueue {
    std::string name;
    KeyDecl key;
    QueueKind kind{};
    int max_messages = 10;
    int message_size = 256;
};

// An anonymous pipe or a FIFO. Declared pipes join two scenario processes;
// stdio pipes join an exec'd process and the supervisor (kSupervisor); a
// FIFO has no ends until a process opens it (any process may).
enum class PipeRole : std::uint8_t { Declared, Stdin, Stdout, Fifo, Stderr };
constexpr int kSupervisor = -1;

struct PlanPipe {
    std::string name;
    PipeRole role = PipeRole::Declared;
    std::vector<int> writers;  // process indices (or kSupervisor)
    std::vector<int> readers;
};

enum OpFlag : std::uint8_t {
    kOpUndo = 1,
    kOpNoWait = 2,
    kOpAtomic = 4,
    kOpReadAll = 8,
    kOpSigqueue = 16,
    kOpWhile = 32,  // Test: a while's (else an if's)
    kOpSpin = 64,   // Test: a while with an empty body, a busy wait (controlled mode parks it while the test holds)
    kOpTemplate = 128,  // write/print/send: Op::first indexes Plan::templates (a text with values computed when it runs)
};

constexpr std::uint16_t kSelf = 0xFFFF;

// IpcGet: Op::count says which call; Semctl: Op::count is the command.
enum IpcGetKind : std::uint32_t { kSemget = 0, kShmget = 1, kMsgget = 2 };
enum SemctlCommand : std::uint32_t { kSetval = 1, kGetval, kGetncnt, kGetzcnt, kIpcRmid, kIpcStat, kSetall, kGetall, kIpcSet };
inline constexpr const char* kCtlCommandNames[] = {"", "SETVAL", "GETVAL", "GETNCNT", "GETZCNT", "IPC_RMID", "IPC_STAT", "SETALL", "GETALL", "IPC_SET"};
// "SETVAL", ... for a semctl/shmctl/msgctl op's command ("" for none); the
// scenario's words, read back by the op compiler through the same table.
inline const char* ctl_command_name(std::uint32_t c) { return c < std::size(kCtlCommandNames) ? kCtlCommandNames[c] : "?"; }

// IPC_SET (semctl, shmctl, msgctl): Op::value is the new mode, Op::slot the
// new uid, Op::first the new gid; kUnchanged (-1 for the mode) keeps one.
inline constexpr std::uint32_t kUnchanged = 0xffffffffu;

// The payload after a semctl IPC_STAT record (GETALL's is one int32 per member).
struct SemStat {
    std::int32_t mode, uid, gid, nsems;
};  // Kill: the process itself (raise); Wait: any child

struct SemTerm {
    std::uint16_t member;
    std::int16_t delta;
};

// A condition or a {value} of a script, compiled for the agent: postfix
// over a small stack, read with no allocation. Cell: Plan::shms[object]
// slot; Sem: System V set `object`, member `slot`; Psem: POSIX semaphore
// `object`; Value: the process's value `slot` (bound by `as`, or a
// repeat's counter). And/Or evaluate both sides (reads have no effects).
// CellAt: the array cell whose index is on the stack (slot: its first cell, value: its length).
enum class CodeKind : std::uint8_t { Int, Cell, CellAt, Sem, Psem, Value, Neg, Not, Add, Sub, Mul, Div, Mod, Lt, Le, Gt, Ge, Eq, Ne, And, Or };
struct Code {
    CodeKind kind{};
    std::uint16_t object = 0;
    std::uint32_t slot = 0;
    std::int64_t value = 0;  // Int; CellAt: the array's length
};
inline constexpr std::size_t kMaxCodeStack = 128;  // above kMaxExprDepth
inline constexpr int kMaxValues = 64;               // named values and repeat counters per script
inline constexpr std::size_t kMaxTemplateText = 4096;  // a text with {values}, formatted

// One op of a compiled script. Plain data; text lives in Plan::texts.
struct Op {
    OpKind kind{};
    std::uint8_t flags = 0;
    std::uint16_t object = 0;    // sem set, shm segment or pipe index
    std::uint32_t slot = 0;      // shm: slot within the segment; Test, Jump, Loop: the op (within the script) to go to;
                                 // SetValue: the value slot (Loop: Op::object is its counter's slot)
    std::int64_t value = 0;      // amount, exit code, read size, sleep ns, mtype / priority / msgtyp; SetValue: the count
    std::uint32_t first = 0;     // Semop, SETALL: first SemTerm; Write/Print/MsgSend: text index
    std::uint32_t count = 0;     // Semop: number of terms
    std::uint32_t code = 0;      // Test: its condition; others: a value computed when the op runs (Plan::code)
    std::uint16_t code_len = 0;  // 0: none
    std::uint8_t bind = 0;       // "as NAME": the value this op gives goes to value bind - 1 (0: none)
    // load/store/+= on buf.items[{k}]: the index's code (Plan::code); Op::slot is the array's first
    // cell, Op::count its length, Op::first its first variant in Plan::cell_variants.
    std::uint32_t index_code = 0;
    std::uint16_t index_len = 0;  // 0: a fixed cell
};

// An exec'd program's resource limits, defaults filled in.
struct Limits {
    std::int64_t cpu_ns = 0;      // RLIMIT_CPU (whole seconds, rounded up): SIGXCPU, then SIGKILL
    std::int64_t wall_ns = 0;     // the supervisor kills it after this long
    std::int64_t memory = 0;      // RLIMIT_AS, bytes
    std::int64_t processes = 0;   // RLIMIT_NPROC, and the supervisor counts its process group
    std::int64_t open_files = 0;  // RLIMIT_NOFILE
    std::int64_t file_size = 0;   // RLIMIT_FSIZE: SIGXFSZ
    std::int64_t output = 0;      // stdout bytes kept; past this it is killed
};

struct PlanProcess {
    std::string name;  // "producer#1", or "producer" when count = 1
    bool may_end_blocked = false;
    bool unprivileged = false;  // runs without capabilities: permission modes apply
    bool trace = true;          // exec'd: the preload tracer records its calls
    int decl = 0;      // index into ScenarioDecl::processes
    int replica = 0;
    int parent = kSupervisor;
    std::vector<int> children;
    std::uint32_t first_op = 0, op_count = 0;
    std::int64_t repeat = 1;
    std::vector<std::string> argv;  // exec'd program; empty for scripted
    std::optional<std::string> stdin_text;
    std::string stdin_file;  // "" when none; read from the scenario's folder if relative
    SourcePos stdin_file_pos;
    std::vector<std::pair<std::string, std::string>> env;
    int stdin_pipe = -1, stdout_pipe = -1, stderr_pipe = -1;
    std::vector<SignalDecl> signals;  // dispositions to install before the script
    std::uint64_t handled = 0;        // bit sig-1: a handler (count, record, terminate) runs for it
    std::vector<int> forked_by_op;    // children forked by a `fork` op, not at the start
    Limits limits;                    // exec'd programs
    std::string workdir;              // exec'd programs: "" = the run's scratch folder
    SourcePos workdir_pos;
    bool is_exec() const { return !argv.empty(); }
    Disposition disposition(int sig) const {
        for (const auto& s : signals)
            if (s.signal == sig) return s.disposition;
        return Disposition::Default;
    }
};

enum class FaultTrigger : std::uint8_t { AtStep, AtTime, AfterOp };

struct PlanFault {
    int proc = 0;
    int signal = 9;
    FaultTrigger trigger{};
    std::int64_t at = 0;                // step number or ns since the run started
    std::vector<std::uint32_t> ops;     // AfterOp: indices into Plan::ops that match
    std::int64_t count = 1;             // AfterOp: fire after this many matches
    std::string text;                   // as written, for reports
};

// The calls of programs an expression counts: count(call semop on lock by
// producer failing EINTR). Every part but the call's name may be left out.
struct CallFilter {
    int call = -1;                 // index in util/call_names.hpp (the trace's CallId)
    std::string object;            // the call's object as the trace names it ("lock", "/mutex"); "" = any
    int signal = 0;                // on SIGUSR1: kill, sigqueue, raise, sigaction, handler, ...
    std::vector<int> procs;        // by NAME: these declared processes and the children their programs fork
    std::string child;             // by student/1: that child and its descendants
    std::optional<std::int64_t> result;  // returning N
    int err = 0;                   // failing ERRNO
    std::string text;              // as written, after "call "
};

struct Plan {
    std::string path, name, description;
    std::int64_t timeout_ns = 0;
    std::int64_t trace_limit = 0;  // records ([scenario] trace_limit)
    SchedMode mode = SchedMode::Free;
    std::optional<std::uint64_t> seed;  // from [scenario]; --seed wins
    bool root = false;                  // [scenario] root: uid 0 with capabilities in the sandbox
    std::uint64_t source_hash = 0;  // of the scenario file's text (schedule files name it)
    std::string source;             // that text (a saved run keeps it, to be planned again)
    std::vector<PlanFault> faults;
    std::vector<PlanSemSet> sems;
    std::vector<PlanShm> shms;
    std::vector<PlanPipe> pipes;
    std::vector<PlanQueue> queues;
    std::vector<PlanPsem> psems;
    std::vector<PlanProcess> processes;
    std::vector<Op> ops;
    std::vector<std::string> op_text;  // parallel to ops: the op as written
    std::vector<SemTerm> sem_terms;
    std::vector<std::string> texts;    // payloads of write and print
    std::vector<Code> code;            // conditions and {values} of scripts (Op::code)
    // An op with a computed cell index, once per cell of its array: the op as
    // it ran on that cell (the decoder hands these to the trace's consumers).
    std::vector<Op> cell_variants;
    // Choose (P forks.f{k}): Op::first is its first variant in Plan::ops
    // (after its script's end), Op::count how many, Op::value the first of
    // their keys here (the value that picks each), Op::slot the texts of
    // the name's parts before and after the value (texts[slot], texts[slot + 1]) and
    // the name as written (texts[slot + 2], "forks.f{k}").
    std::vector<std::int64_t> choice_keys;
    // A while loop with a body, and no exec'd program in the run: scripted
    // ops count their changes to shared state (ArenaHeader::shared_epoch),
    // so a loop whose iterations change nothing is seen (a livelock).
    bool watch_loops = false;
    // Texts with {values}: each a run of parts in text_parts, a literal (texts[text]) or a value's code.
    struct TextPart {
        std::uint32_t text = 0;
        std::uint32_t code = 0;
        std::uint16_t code_len = 0;  // 0: the literal
    };
    struct Template {
        std::uint32_t first = 0, count = 0;
    };
    std::vector<TextPart> text_parts;
    std::vector<Template> templates;
    std::vector<ExpectDecl> expects;   // expressions resolved
    std::vector<CallFilter> call_filters;  // count(call ...) and friends: ExprNode::slot indexes this
    int sem_values = 0;                // flat count of all semaphores
    int cell_slots = 0;                // flat count of all shm slots
    // Queue statistics in expressions: slot 2*q is q.messages, 2*q+1 is q.bytes.
    int queue_stats() const { return static_cast<int>(queues.size()) * 2; }
    std::string queue_stat_label(int slot) const;

    // Does process p or one of its descendants use pipe end (pipe, write)?
    bool subtree_uses(int p, int pipe, bool write) const;
    bool uses(int p, int pipe, bool write) const;
    // "slots.empty" for a flat semaphore index, "buf.items[2]" for a cell slot.
    std::string sem_label(int flat) const;
    std::string cell_label(int flat) const;
    std::vector<std::string> process_names() const {
        std::vector<std::string> out;
        for (const auto& p : processes) out.push_back(p.name);
        return out;
    }
};

}  // namespace simrun

namespace simrun {

// The op's verb as the trace names it: P, V, semop, load, store, add, write,
// read, close, sleep, print, exit.
const char* op_verb(const Plan& plan, const Op& op);
// "slots.empty", "buf.items[2]", "data" (pipe), or "" for ops on no object.
std::string op_target(const Plan& plan, const Op& op);
// The same for an op as it ran: an op on buf.items[{k}] whose index was out
// of range names the index it computed ("buf.items[7]", from `arg`).
std::string op_target(const Plan& plan, const Op& op, std::int64_t arg);

}  // namespace simrun

// The scenario as written: what the TOML file declares, every item with its
// source position, names not yet resolved. Output of the scenario stage;
// plan/ resolves it. Plain data, no kernel objects.
#pragma once

#include "util/disposition.hpp"
#include "scenario/diagnostic.hpp"
#include "scenario/expr.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace simrun {

struct Named {
    std::string name;
    SourcePos pos;
};

struct SemMemberDecl {
    std::string name;
    std::int64_t initial = 0;
    SourcePos pos;
};

// The key of a System V object: IPC_PRIVATE (the default: shared through
// the fork tree), a number, or ftok(path, proj). mode: its permissions.
struct KeyDecl {
    enum Kind : std::uint8_t { Private, Number, Ftok } kind = Private;
    std::int64_t number = 0;
    std::string path;
    std::int64_t proj = 0;
    std::int64_t mode = 0600;
    SourcePos pos;  // of the ftok path
};

struct SemSetDecl {
    std::string name;
    SourcePos pos;
    std::vector<SemMemberDecl> members;
    bool undo = false;
    KeyDecl key;
};

struct ShmCellDecl {
    std::string name;
    SourcePos pos;
    std::vector<std::int64_t> initial;  // one value for a scalar cell
    bool is_array = false;
};

struct ShmDecl {
    std::string name;
    SourcePos pos;
    std::vector<ShmCellDecl> cells;
    bool posix = false;  // [ipc.pshm]: shm_open + ftruncate + mmap
    bool file = false;   // [ipc.mmap]: a file, mapped MAP_SHARED
    KeyDecl key;
};

// A POSIX semaphore: named (sem_open) or unnamed (sem_init, pshared, in
// shared memory that simrun maps before the first fork).
struct PsemDecl {
    std::string name;
    SourcePos pos;
    std::int64_t value = 0;
    bool named = true;
};

// A pipe's end held by an exec'd program is its standard input (reader) or
// output (writer; "cc.stderr": its standard error).
struct PipeDecl {
    std::string name;
    SourcePos pos;
    Named writer;  // process name ("producer" = every replica, "producer#1" = one)
    Named reader;
};

// A FIFO: any process may open it; a writer or reader named here is an
// exec'd program whose stdout (stderr) or stdin is the FIFO, opened before
// it starts, as a shell's `prog > fifo` or `prog < fifo`.
struct FifoDecl {
    std::string name;
    SourcePos pos;
    std::optional<Named> writer, reader;
};

// A message queue: System V (msgget) or POSIX (mq_open).
enum class QueueKind : std::uint8_t { SysV, Posix };

struct QueueDecl {
    std::string name;
    SourcePos pos;
    QueueKind kind{};
    std::int64_t max_messages = 10;  // POSIX mq_maxmsg
    std::int64_t message_size = 256; // POSIX mq_msgsize; largest message for both kinds
    KeyDecl key;                     // System V
};

enum class OpKind : std::uint8_t {
    Semop,      // P, V and multi-member semop
    ShmLoad,
    ShmStore,   // cell = N
    ShmAdd,     // cell += N (two steps unless atomic)
    PipeWrite,
    PipeRead,
    PipeClose,
    Sleep,
    Print,
    Exit,
    MsgSend,    // msgsnd / mq_send
    MsgRecv,    // msgrcv / mq_receive
    PsemWait,   // sem_wait / sem_trywait / sem_timedwait
    PsemPost,   // sem_post
    FifoOpen,   // open a FIFO for reading (value 0) or writing (value 1)
    IpcGet,     // semget / shmget / msgget of a declared object's key
    Semctl,     // semctl SETVAL / GETVAL / GETNCNT / GETZCNT / IPC_RMID
    Shmctl,     // shmctl IPC_STAT / IPC_RMID
    Msgctl,     // msgctl IPC_STAT / IPC_RMID
    Kill,       // kill / sigqueue / raise
    SigMask,    // block / unblock (sigprocmask)
    Pause,      // pause(): until a handled signal arrives
    SigWait,    // sigwaitinfo for one signal
    Fork,       // fork a declared child here
    Wait,       // wait / waitpid
    Crash,      // die by SIGSEGV or SIGABRT
    // Control flow (docs/scenario-format.md, "Values and control flow").
    // Control flow comes last: the agent's loop tells it apart with one comparison (>= Test).
    Test,       // if / while: one step that reads shared state; false jumps to Op::slot
    Jump,       // else, end of a loop, break: to Op::slot; not a step
    Loop,       // repeat N's head: its counter (a value) spent jumps to Op::slot; not a step
    SetValue,   // repeat N's counter set before the loop, or `k = {k + 1}` on a value; not a step
    Choose,     // an op whose name has a value computed when it runs (P forks.f{k}): runs the variant the value picks
};

// A line of a `run` list that is control flow rather than an op.
enum class Control : std::uint8_t { None, If, Else, End, While, Repeat, Break };

// {expr} in an op that names a value bound at run time ({req.type + 10}):
// computed when the op runs (a message's type, a stored value).
struct ValueExprDecl {
    ExprTree expr;
    std::size_t offset = 0;  // of the '{' in the op text
};

// "slots.empty" or "buf.items[3]" with its column inside the op text.
struct RefDecl {
    std::string object;
    std::string member;
    std::optional<std::int64_t> index;
    std::size_t offset = 0;
};

struct SemTermDecl {
    RefDecl ref;
    std::int64_t delta = 0;  // -n for P, +n for V, 0 waits for zero
};

struct OpDecl {
    OpKind kind{};
    std::string text;       // the op as written
    SourcePos pos;          // of the string in the file
    std::string verb;       // "P", "V", "semop", ...
    std::vector<SemTermDecl> sems;
    std::optional<bool> undo;  // explicit undo / noundo
    bool nowait = false;
    RefDecl target;            // shm cell or pipe (object only)
    std::int64_t value = 0;    // store/add amount, exit code, read size
    bool atomic = false;
    bool read_all = false;
    std::int64_t sleep_ns = 0;
    std::string data;          // pipe write payload, print text, message text
    std::optional<std::int64_t> msg_type;  // send: mtype or priority; recv: msgtyp
    std::optional<std::int64_t> timeout_ns;  // P on a POSIX semaphore: sem_timedwait
    std::vector<int> signals;                 // kill/sigqueue/raise/block/unblock/sigwait/crash
    std::optional<std::int64_t> sigval;       // sigqueue's value
    bool to_self = false;                     // raise
    std::int64_t ipc_flags = 0;               // *get: IPC_CREAT | IPC_EXCL | mode
    std::optional<std::int64_t> size;         // semget nsems / shmget cells
    std::string command;                      // semctl: SETVAL, GETVAL, ...
    std::optional<std::int64_t> set_uid, set_gid, set_mode;  // IPC_SET: what changes
    Control control = Control::None;          // if / else / end / while / repeat / break
    ExprTree cond;                            // if / while: the condition (values allowed)
    std::size_t cond_offset = 0;              // where it starts in text
    std::string bind;                         // "... as NAME": the value this op gives, named
    std::size_t bind_offset = 0;
    std::optional<ValueExprDecl> value_expr;  // send's type or a store's value computed at run time
    std::optional<ValueExprDecl> index_expr;  // load/store/+=: a computed array index, buf.items[{k}]
    // write/print/send: a text with {values} computed when the op runs, cut
    // into its literal parts and its values ("got " {n} " bytes"); empty: data as is.
    struct TextPart {
        std::string literal;
        std::optional<ValueExprDecl> value;
    };
    std::vector<TextPart> text_parts;
    // A replica's expansion of {i}, {n} and {constant expressions}: for each
    // offset of text, the offset in the op as written (empty: not expanded).
    std::vector<std::uint32_t> origin;
    std::string replica_note;                 // " (in philosopher#3, where i = 3)" for errors
    // A name with a value computed when the op runs (P forks.f{k}, kill
    // worker#{w} SIGTERM): the value, the name around it, and the op once
    // for each declared name it can give (choice_keys[j]: the value that
    // picks choice_ops[j]). The op itself is parsed with 0 for the value.
    std::optional<ValueExprDecl> choice_expr;
    std::string choice_prefix, choice_suffix;  // "forks.f" and "" around {k}
    std::string choice_name;                   // "forks.f{k}"
    std::string expanded;                      // the op's text after the replica's {i}, {n}: what the variants are made of
    std::vector<OpDecl> choice_ops;
    std::vector<std::int64_t> choice_keys;
    std::size_t written(std::size_t offset) const {
        if (origin.empty()) return offset;
        return offset < origin.size() ? origin[offset] : origin.back();
    }
    SourcePos at(std::size_t offset) const { return pos_in_string(pos, written(offset)); }
};

// Disposition: util/disposition.hpp (a program's recorded handlers use it too).

struct SignalDecl {
    int signal = 0;
    Disposition disposition{};
    SourcePos pos;
};

// Resource limits of exec'd programs, as written ([limits] for every
// program, `limits = {...}` for one); unset fields fall back.
struct LimitsDecl {
    std::optional<std::int64_t> cpu_ns, wall_ns;        // "2s"
    std::optional<std::int64_t> memory, file_size, output;  // bytes: "64MiB"
    std::optional<std::int64_t> processes, open_files;
};

struct ProcessDecl {
    std::string name;
    SourcePos pos;
    std::int64_t count = 1;
    SourcePos count_pos;
    bool may_end_blocked = false;  // a server left waiting is not a deadlock
    bool unprivileged = false;     // drop every capability: modes apply as to an ordinary user
    bool trace = true;             // exec'd programs: inject the preload tracer
    std::optional<Named> parent;
    std::int64_t repeat = 1;
    std::vector<OpDecl> run;
    // When an op uses {i} or {n}: each replica's own run list, expanded
    // (run is then replica 0's).
    std::vector<std::vector<OpDecl>> replica_run;
    std::vector<std::string> exec;  // argv; empty for scripted processes
    SourcePos exec_pos;
    std::optional<std::string> stdin_text;
    std::optional<Named> stdin_file;               // stdin read from this file
    std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) simrun's environment
    std::vector<SignalDecl> signals;  // dispositions; unlisted signals keep the default
    LimitsDecl limits;
    std::optional<Named> workdir;     // exec'd programs: where they run (default: a fresh scratch folder)
};

// A signal sent to a process: at a scheduling step (controlled mode), at a
// time (free mode), or right after its n-th op of a kind (either mode).
struct FaultDecl {
    SourcePos pos;
    Named process;
    int signal = 9;
    SourcePos signal_pos;
    std::optional<std::int64_t> at_step;
    std::optional<std::int64_t> at_ns;
    SourcePos at_pos;
    std::optional<std::string> after;  // op as written in the process's run list, or "VERB target"
    SourcePos after_pos;
    std::int64_t count = 1;
    SourcePos count_pos;  // after_pos when count is not written
};

enum class SchedMode : std::uint8_t { Free, Controlled };

enum class ExpectKind : std::uint8_t { Final, Always, Outcome, Stdout };
enum class StdoutMatch : std::uint8_t { Exact, Words, Regex };
// TraceLimit: the trace reached [scenario] trace_limit and the run was stopped there.
// Livelock: controlled mode, every live process spins in a busy-wait loop
// (or waits) and no step of anyone can change what the spinners read.
enum class Outcome : std::uint8_t { Completed, Deadlock, Timeout, Interrupted, TraceLimit, Livelock };

struct ExpectDecl {
    std::string name;
    SourcePos pos;
    ExpectKind kind{};
    std::string text;
    SourcePos text_pos;
    ExprTree expr;        // Final / Always
    Outcome outcome{};    // Outcome
    Named process;        // Stdout: whose output
    int process_index = -1;  // Stdout: resolved by plan/
    StdoutMatch match{};  // Stdout: equals, equals_words, matches
    double points = 0;    // grading: what passing it earns (0: not scored apart)
};

// The trace's records a run may write, at most (64 bytes each in the
// spill file; an event is one, its texts and byte strings add more).
inline constexpr std::int64_t kDefaultTraceLimit = 10'000'000;

// Processes a scenario may declare (replicas counted) unless it raises the
// bound, and how far it may raise it.
inline constexpr std::int64_t kDefaultMaxProcesses = 1000, kMaxProcessesCeiling = 100'000;

struct ScenarioDecl {
    std::string path;
    std::string name;
    std::string description;
    std::int64_t timeout_ns = 10'000'000'000;
    std::int64_t trace_limit = kDefaultTraceLimit;  // trace records, at most
    std::int64_t max_processes = kDefaultMaxProcesses;  // declared processes, replicas counted ([scenario] max_processes)
    SchedMode mode = SchedMode::Free;
    std::optional<std::uint64_t> seed;  // controlled mode's default seed
    bool root = false;                  // programs run as uid 0 with capabilities in the sandbox
    LimitsDecl limits;                  // [limits]: defaults for every exec'd program
    std::vector<SemSetDecl> sems;
    std::vector<ShmDecl> shms;
    std::vector<PipeDecl> pipes;
    std::vector<QueueDecl> queues;
    std::vector<PsemDecl> psems;
    std::vector<FifoDecl> fifos;
    std::vector<ProcessDecl> processes;
    std::vector<ExpectDecl> expects;
    std::vector<FaultDecl> faults;
};

// "SIGKILL", "KILL" or "9" -> 9; 0 if not a signal name.
int parse_signal(std::string_view name);
std::string signal_name(int sig);  // "SIGKILL" 

const char* outcome_name(Outcome o);

}  // namespace simrun

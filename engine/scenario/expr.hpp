// Expectation expressions: integers, references to shm cells and semaphore
// members (seg.cell, seg.arr[2], set.member), exit(p) and signal(p),
// arithmetic, comparisons (chains like 0 <= x <= 5 mean both hold),
// && || ! (or: and, or, not) || !, received(p, SIG), count(OP TARGET), count(call NAME on OBJ by PROC ...),
// message(OP, i) == "text". Parsed here, resolved by
// plan/, evaluated by check/.
#pragma once

#include "scenario/diagnostic.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace simrun {

enum class ExprOp : std::uint8_t {
    Int, Ref, Exit, Signal,
    Received,  // received(p, SIGUSR1): deliveries to p's handler
    Count,     // count(V slots.full): completed ops that match; count(call semop by p): programs' calls
    Errors,    // errors(semget lock 3): failed ops that match
    Errno,     // errno(semget lock 3): errno of the last failure (0 if none)
    IpcLeft,   // ipc_left(): IPC objects the processes left behind (final only)
    ZombiesLeft,  // zombies_left(): processes that ended without their parent waiting; simrun reaped them
    Verdict,   // verdict(p): how p ended, compared with OK, TIME_LIMIT, ... (final only)
    Before,    // before(send q, recv q): the i-th completion of the first precedes the i-th of the second
    Message,   // message(recv q, i) == "text": what the i-th completed matching read or recv returned
    Status,    // status(wait child): what the last completed matching wait returned (code, 128 + signal; -1: none)
    Neg, Not,
    Add, Sub, Mul, Div, Mod,
    Lt, Le, Gt, Ge, Eq, Ne,
    And, Or,
    Var,  // a script's value (ok, req.type, i, n): only in `run` lists' conditions and {values}
};

// Calls: count(call ...), errors(call ...), errno(call ...) over programs'
// calls; ExprNode::slot is the index of its Plan::call_filters.
enum class RefKind : std::uint8_t { Unresolved, ShmCell, SemMember, Process, QueueStat, PsemValue, Calls };

struct ExprNode {
    ExprOp op{};
    std::int64_t value = 0;  // Int
    int lhs = -1, rhs = -1;  // child node indices
    std::size_t offset = 0;  // in the expression text
    // Ref: object.member[index]; Exit/Signal: object is the process name.
    std::string object, member;
    std::int64_t index = 0;
    bool indexed = false;
    // Filled in by plan/.
    RefKind ref = RefKind::Unresolved;
    int slot = -1;  // cell slot, semaphore (set, member) flat index, or process index
    std::vector<std::uint32_t> ops;  // Count/Errors/Errno/Before: the op indices that match
    std::string second;              // Before: the second op as written
    std::size_t second_offset = 0;   // Before: where it is written
    std::vector<std::uint32_t> ops2; // Before: its op indices
    std::string literal;             // Message: the text compared with
    bool negate = false;             // Message: != instead of ==
};

struct ExprTree {
    std::vector<ExprNode> nodes;
    int root = -1;
};

using ExprError = TextError;

// Bounds on what a file can make the parser and the checker do: nesting
// (parentheses, unary operators, chains of binary ones) and size.
inline constexpr int kMaxExprDepth = 100;
inline constexpr std::size_t kMaxExprNodes = 10000;

// Parses text; on failure returns the offending offset and message.
// values: a bare name (ok, i) is a script's value (ExprOp::Var; object is
// the name), as in a `run` list's conditions; elsewhere it is an error.
bool parse_expr(const std::string& text, ExprTree& out, ExprError& err, bool values = false);

// The constants verdict(p) is compared with, in the order of run/'s Verdict.
inline constexpr std::string_view kVerdictConstants[] = {"OK",           "RUNTIME_ERROR", "SIGNALED",    "TIME_LIMIT", "MEMORY_LIMIT",
                                                         "OUTPUT_LIMIT", "PROCESS_LIMIT", "NOT_STARTED", "STOPPED"};

// EINVAL -> 22; 0 if not an errno name.
int errno_value(std::string_view name);

}  // namespace simrun

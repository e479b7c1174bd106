// Evaluates a resolved expectation expression over a set of values.
#pragma once

#include "scenario/expr.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace simrun {

struct Plan;

// The values an expression may read, by flat index (see Plan).
struct ValueView {
    const std::vector<std::int64_t>* cells;
    const std::vector<int>* sems;
    const std::vector<int>* wait_status;  // per process; -1 = not exited
    const std::vector<std::int64_t>* queue_stats;  // 2 per queue: messages, bytes
    const std::vector<std::int64_t>* psems;        // POSIX semaphore values
    const std::vector<std::int64_t>* received;     // per process, 65 per process: handler runs by signal
    const std::vector<std::int64_t>* op_counts;    // per op index: completed runs
    const std::vector<std::int64_t>* op_errors;    // per op index: failed runs
    const std::vector<std::int64_t>* op_errno;     // per op index: errno of the last failure
    std::int64_t ipc_left = 0;  // final: objects left behind; 0 while the run goes on
    const std::vector<std::vector<std::uint64_t>>* op_times;  // per op index: event numbers of its completions (ops in before())
    // per op index: (event number, data) of each completion with data (ops in message())
    const std::vector<std::vector<std::pair<std::uint64_t, std::string>>>* op_data = nullptr;
    std::int64_t zombies_left = 0;  // processes simrun reaped for parents that never waited (so far)
    const std::vector<int>* verdicts = nullptr;  // final: per process, a Verdict value
    // per Plan::call_filters index: programs' calls that matched and succeeded, failed, the last failure's errno
    const std::vector<std::int64_t>* call_counts = nullptr;
    const std::vector<std::int64_t>* call_errors = nullptr;
    const std::vector<std::int64_t>* call_errno = nullptr;
    // per op index: (event number, raw wait status) of its last completion, (0, -1) if none (ops in status())
    const std::vector<std::pair<std::uint64_t, int>>* op_status = nullptr;
};

// Booleans are 1 and 0. nullopt (with error set) on division by zero.
std::optional<std::int64_t> eval_expr(const ExprTree& t, const ValueView& v, std::string& error);

// "buf.count = 6, slots.empty = 0": the values the expression read.
std::string explain_values(const Plan& plan, const ExprTree& t, const ValueView& v);

}  // namespace simrun

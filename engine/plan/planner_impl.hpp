// Internal to plan/: the Planner, split over planner.cpp (objects,
// processes, the fork tree, pipes), op_compiler.cpp (scripts: names
// resolved, ops compiled) and plan_checks.cpp (expectations and faults).
// Every failure is a positioned Diagnostic, thrown as Failure and caught at
// make_plan's boundary.
#pragma once

#include "plan/planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

namespace simrun::detail {

struct Failure {
    Diagnostic d;
};
[[noreturn]] inline void fail(SourcePos pos, std::string message) { throw Failure{{pos, std::move(message)}}; }

class Planner {
public:
    Planner(const ScenarioDecl& d, const PlanOptions& o) : d_(d), o_(o) {}

    Plan run();

private:
    // ---- objects -------------------------------------------------------
    void claim_name(const std::string& name, SourcePos pos, const char* kind);

    void objects();

    // ---- processes -----------------------------------------------------
    void processes();
    Limits resolve_limits(const LimitsDecl& own) const;

    // "producer" = every replica; "producer#1" = one.
    std::vector<int> find_processes(const std::string& name, SourcePos pos, const char* role);

    void fork_tree();

    // ---- pipes ---------------------------------------------------------
    void pipes();

    // ---- scripts -------------------------------------------------------
    std::vector<std::string> all_object_names() const;

    [[noreturn]] void unknown_object(const RefDecl& ref, SourcePos at, const char* want);

    SemTerm resolve_sem(const RefDecl& ref, SourcePos op_pos, int& set);

    // Returns (segment, slot within segment).
    std::pair<int, std::uint32_t> resolve_cell(const RefDecl& ref, SourcePos at);

    int resolve_pipe(const RefDecl& ref, SourcePos at, int decl, bool need_write, bool need_read);

    Op compile(const OpDecl& od, int decl);

    // "P name" / "V name": a POSIX semaphore.
    Op compile_psem(const OpDecl& od);

    std::uint32_t text(const std::string& s);

    // ---- control flow and values (script_compiler.cpp) -----------------
    struct ScriptState;
    void scripts();
    // replica -1: one script that every replica shares.
    void compile_script(const std::vector<OpDecl>& ops, int decl, int replica);
    Op compile_op(const OpDecl& od, int decl, ScriptState& s);
    std::uint8_t new_value_slot(ScriptState& s, SourcePos at);
    void emit_code(const ExprTree& t, int node, const OpDecl& od, ScriptState& s);
    std::pair<std::uint32_t, std::uint16_t> code_of(const ExprTree& t, const OpDecl& od, ScriptState& s);
    std::uint32_t array_length(int seg, std::uint32_t first) const;

    // ---- expectations --------------------------------------------------
    void expectations();

    // ---- faults --------------------------------------------------------
    void faults();
    std::vector<std::uint32_t> matching_ops(const std::string& text, SourcePos at);
    std::vector<int> pipe_end(const Named& end, bool write, int index, const std::string& object, const char* kind);
    static std::vector<std::string> same_verb(const std::string& text, const std::vector<std::string>& candidates);
    // count(call ...): the filter's index in Plan::call_filters. offset: where text starts in the expression.
    int call_filter(const std::string& text, SourcePos text_pos, std::size_t offset, ExprOp fn);

    const ScenarioDecl& d_;
    const PlanOptions& o_;
    Plan p_;
    std::map<std::string, const char*> object_kind_;
    std::map<std::string, int> sem_index_, shm_index_, pipe_index_, queue_index_, psem_index_;
    std::vector<const PipeDecl*> pipe_decl_;
    std::vector<std::string> base_names_;
    std::vector<int> first_replica_;
};

}  // namespace simrun::detail

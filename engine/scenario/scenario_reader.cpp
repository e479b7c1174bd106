#include "scenario/scenario_reader.hpp"

#include "scenario/names.hpp"
#include "scenario/name_choice.hpp"
#include "scenario/op_parser.hpp"
#include "scenario/toml_fields.hpp"
#include "scenario/toml_text.hpp"
#include "util/duration.hpp"
#include "util/regex.hpp"
#include "util/size.hpp"
#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <csignal>
#include <tuple>
#include <cstring>
#include <cerrno>

namespace simrun {
namespace {

using namespace toml_fields;

// toml++ iterates tables in key order; declarations keep their file order
// (semaphore numbers and cell offsets follow it, as a C program's would).
template <typename T>
void sort_by_position(std::vector<T>& items) {
    std::stable_sort(items.begin(), items.end(), [](const T& a, const T& b) {
        return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
    });
}

void check_name(std::string_view name, SourcePos pos, const char* what) {
    if (!valid_name(name))
        fail(pos, fmt::format("{} name '{}' must start with a letter or '_' and hold only letters, digits and '_'", what, name));
}

constexpr std::int64_t kSemMax = 32767;  // SEMVMX

// key = 1000 | "private" | { ftok = "/path", proj = 65 }; mode = 0o640
KeyDecl read_key(const toml::table& t) {
    KeyDecl k;
    if (const auto* n = t.get("key")) {
        if (n->is_integer()) {
            k.kind = KeyDecl::Number, k.number = get_int(*n, "key", 1, 0x7fffffff);
        } else if (n->is_string()) {
            if (n->as_string()->get() != "private") fail(pos_of(*n), "key must be a number, \"private\" or { ftok = PATH, proj = N }");
        } else {
            const auto& f = as_table(*n, "key");
            check_keys(f, {"ftok", "proj"}, "key");
            const auto* path = f.get("ftok");
            if (!path) fail(pos_of(*n), "a key table needs 'ftok' (a path) and 'proj'");
            k.kind = KeyDecl::Ftok, k.path = get_string(*path, "ftok"), k.pos = pos_of(*path);
            k.proj = f.get("proj") ? get_int(*f.get("proj"), "proj", 1, 255) : 1;
        }
    }
    if (const auto* n = t.get("mode")) k.mode = get_int(*n, "mode", 0, 0777);
    return k;
}

SemSetDecl read_sem(const std::string& name, SourcePos pos, const toml::node& node) {
    const auto& t = as_table(node, "[ipc.sem." + name + "]");
    check_keys(t, {"members", "undo", "key", "mode"}, "[ipc.sem." + name + "]");
    SemSetDecl s{name, pos, {}, false, read_key(t)};
    const toml::node* members = t.get("members");
    if (!members) fail(pos, fmt::format("[ipc.sem.{}] needs 'members', e.g. members = {{ mutex = 1 }}", name));
    for (auto&& [k, v] : as_table(*members, "members")) {
        check_name(k.str(), pos_of(k.source()), "semaphore");
        s.members.push_back({std::string(k.str()), get_int(v, "semaphore value", 0, kSemMax), pos_of(k.source())});
    }
    if (s.members.empty()) fail(pos_of(*members), "a semaphore set needs at least one member");
    sort_by_position(s.members);
    if (s.members.size() > 250) fail(pos_of(*members), "a semaphore set holds at most 250 members (SEMMSL)");
    if (const toml::node* u = t.get("undo")) s.undo = get_bool(*u, "undo");
    return s;
}

ShmDecl read_shm(const std::string& name, SourcePos pos, const toml::node& node, bool posix, bool file = false) {
    std::string where = (file ? "[ipc.mmap." : posix ? "[ipc.pshm." : "[ipc.shm.") + name + "]";
    const auto& t = as_table(node, where);
    if (posix) check_keys(t, {"cells"}, where);
    else check_keys(t, {"cells", "key", "mode"}, where);
    ShmDecl s{name, pos, {}, posix || file, file, read_key(t)};
    const toml::node* cells = t.get("cells");
    if (!cells) fail(pos, fmt::format("{} needs 'cells', e.g. cells = {{ count = 0 }}", where));
    for (auto&& [k, v] : as_table(*cells, "cells")) {
        check_name(k.str(), pos_of(k.source()), "cell");
        ShmCellDecl c{std::string(k.str()), pos_of(k.source()), {}, false};
        if (const auto* arr = v.as_array()) {
            c.is_array = true;
            if (arr->empty() || arr->size() > 65536) fail(pos_of(v), "an array cell holds 1 to 65536 integers");
            for (auto&& item : *arr) c.initial.push_back(get_int(item, "array item", INT64_MIN, INT64_MAX));
        } else {
            c.initial.push_back(get_int(v, "cell value", INT64_MIN, INT64_MAX));
        }
        s.cells.push_back(std::move(c));
    }
    if (s.cells.empty()) fail(pos_of(*cells), "a shared memory segment needs at least one cell");
    sort_by_position(s.cells);
    return s;
}

Named get_named(const toml::table& t, const char* key, SourcePos owner, const std::string& where) {
    const toml::node* n = t.get(key);
    if (!n) fail(owner, fmt::format("{} needs '{}' (a process name)", where, key));
    return {get_string(*n, key), pos_of(*n)};
}

PipeDecl read_pipe(const std::string& name, SourcePos pos, const toml::node& node) {
    std::string where = "[ipc.pipe." + name + "]";
    const auto& t = as_table(node, where);
    check_keys(t, {"writer", "reader"}, where);
    return {name, pos, get_named(t, "writer", pos, where), get_named(t, "reader", pos, where)};
}

QueueDecl read_queue(const std::string& name, SourcePos pos, const toml::node& node, QueueKind kind) {
    std::string where = std::string(kind == QueueKind::SysV ? "[ipc.msg." : "[ipc.mq.") + name + "]";
    const auto& t = as_table(node, where);
    QueueDecl q{name, pos, kind, 10, 256, {}};
    if (kind == QueueKind::SysV) {
        check_keys(t, {"message_size", "key", "mode"}, where);
        q.key = read_key(t);
    } else {
        check_keys(t, {"max_messages", "message_size"}, where);
        if (const auto* n = t.get("max_messages")) q.max_messages = get_int(*n, "max_messages", 1, 10);
    }
    // 8192 is the default limit for an unprivileged POSIX queue and msgmax for System V.
    if (const auto* n = t.get("message_size")) q.message_size = get_int(*n, "message_size", 1, 8192);
    return q;
}

PsemDecl read_psem(const std::string& name, SourcePos pos, const toml::node& node) {
    std::string where = "[ipc.psem." + name + "]";
    const auto& t = as_table(node, where);
    check_keys(t, {"value", "named"}, where);
    PsemDecl p{name, pos};
    if (const auto* n = t.get("value")) p.value = get_int(*n, "value", 0, 32767);
    if (const auto* n = t.get("named")) p.named = get_bool(*n, "named");
    return p;
}

void read_ipc(const toml::node& node, ScenarioDecl& sc) {
    const auto& ipc = as_table(node, "[ipc]");
    check_keys(ipc, {"sem", "shm", "pipe", "msg", "mq", "psem", "pshm", "fifo", "mmap"}, "[ipc]");
    for (auto&& [kind, objects] : ipc) {
        for (auto&& [k, v] : as_table(objects, "[ipc." + std::string(kind.str()) + "]")) {
            std::string name(k.str());
            check_name(name, pos_of(k.source()), "object");
            SourcePos pos = pos_of(k.source());
            if (kind.str() == "sem") sc.sems.push_back(read_sem(name, pos, v));
            else if (kind.str() == "shm" || kind.str() == "pshm" || kind.str() == "mmap")
                sc.shms.push_back(read_shm(name, pos, v, kind.str() == "pshm", kind.str() == "mmap"));
            else if (kind.str() == "psem") sc.psems.push_back(read_psem(name, pos, v));
            else if (kind.str() == "fifo") {
                const std::string where = "[ipc.fifo." + name + "]";
                const auto& t = as_table(v, where);
                check_keys(t, {"writer", "reader"}, where);
                FifoDecl f{name, pos, {}, {}};
                if (t.get("writer")) f.writer = get_named(t, "writer", pos, where);
                if (t.get("reader")) f.reader = get_named(t, "reader", pos, where);
                sc.fifos.push_back(std::move(f));
            }
            else if (kind.str() == "pipe") sc.pipes.push_back(read_pipe(name, pos, v));
            else sc.queues.push_back(read_queue(name, pos, v, kind.str() == "msg" ? QueueKind::SysV : QueueKind::Posix));
        }
    }
    sort_by_position(sc.sems);
    sort_by_position(sc.shms);
    sort_by_position(sc.pipes);
    sort_by_position(sc.queues);
    sort_by_position(sc.psems);
    sort_by_position(sc.fifos);
}

// [limits] or a process's limits = { ... }: durations and sizes as strings.
LimitsDecl read_limits(const toml::node& node, const char* where) {
    const auto& t = as_table(node, where);
    check_keys(t, {"cpu", "wall", "memory", "processes", "open_files", "file_size", "output"}, where);
    LimitsDecl l;
    auto duration = [&](const char* key, std::optional<std::int64_t>& out) {
        const auto* n = t.get(key);
        if (!n) return;
        auto ns = parse_duration_ns(get_string(*n, key));
        if (!ns) fail(pos_of(*n), fmt::format("{} must be a duration such as \"2s\" or \"500ms\"", key));
        if (*ns <= 0) fail(pos_of(*n), fmt::format("{} must be longer than 0", key));
        out = *ns;
    };
    auto size = [&](const char* key, std::optional<std::int64_t>& out) {
        const auto* n = t.get(key);
        if (!n) return;
        std::optional<std::int64_t> bytes = n->is_integer() ? std::optional(n->as_integer()->get()) : parse_size_bytes(get_string(*n, key));
        if (!bytes || *bytes <= 0) fail(pos_of(*n), fmt::format("{} must be a size such as \"64MiB\", \"512KiB\" or a number of bytes", key));
        out = *bytes;
    };
    duration("cpu", l.cpu_ns);
    duration("wall", l.wall_ns);
    size("memory", l.memory);
    size("file_size", l.file_size);
    size("output", l.output);
    if (const auto* n = t.get("processes")) l.processes = get_int(*n, "processes", 1, 100000);
    if (const auto* n = t.get("open_files")) l.open_files = get_int(*n, "open_files", 16, 1 << 20);  // the tracer keeps the top two
    return l;
}

ProcessDecl read_process(const toml::node& node) {
    const auto& t = as_table(node, "[[process]]");
    check_keys(t, {"name", "count", "parent", "repeat", "run", "exec", "stdin", "stdin_file", "env", "may_end_blocked", "unprivileged", "signals",
                   "limits", "workdir", "trace"},
               "[[process]]");
    ProcessDecl p;
    p.pos = pos_of(node);
    const toml::node* name = t.get("name");
    if (!name) fail(p.pos, "[[process]] needs a 'name'");
    p.name = get_string(*name, "name");
    p.pos = pos_of(*name);
    check_name(p.name, p.pos, "process");
    if (const auto* n = t.get("count")) p.count = get_int(*n, "count", 1, kMaxProcessesCeiling), p.count_pos = pos_of(*n);
    if (const auto* n = t.get("repeat")) p.repeat = get_int(*n, "repeat", 0, 1'000'000'000);
    if (const auto* n = t.get("parent")) p.parent = Named{get_string(*n, "parent"), pos_of(*n)};
    if (const auto* n = t.get("may_end_blocked")) p.may_end_blocked = get_bool(*n, "may_end_blocked");
    if (const auto* n = t.get("unprivileged")) p.unprivileged = get_bool(*n, "unprivileged");
    if (const auto* n = t.get("signals")) {
        for (auto&& [k, v] : as_table(*n, "signals")) {
            SignalDecl sd{parse_signal(k.str()), {}, pos_of(k.source())};
            if (sd.signal == 0) fail(sd.pos, fmt::format("unknown signal '{}'", k.str()));
            std::string d = get_string(v, "a disposition");
            static const std::pair<const char*, Disposition> kinds[] = {{"default", Disposition::Default}, {"ignore", Disposition::Ignore},
                                                                         {"count", Disposition::Count}, {"record", Disposition::Record},
                                                                         {"terminate", Disposition::Terminate}};
            bool known = false;
            for (auto [name, kind] : kinds)
                if (d == name) sd.disposition = kind, known = true;
            if (!known) fail(pos_of(v), fmt::format("disposition must be default, ignore, count, record or terminate, not '{}'", d));
            if ((sd.signal == SIGKILL || sd.signal == SIGSTOP) && sd.disposition != Disposition::Default)
                fail(sd.pos, fmt::format("{} cannot be caught or ignored", signal_name(sd.signal)));
            p.signals.push_back(sd);
        }
    }
    const toml::node* run = t.get("run");
    const toml::node* exec = t.get("exec");
    if (run && exec) fail(pos_of(*exec), fmt::format("process '{}' has both 'run' and 'exec'; give one", p.name));
    if (!run && !exec) fail(p.pos, fmt::format("process '{}' needs 'run' (a list of ops) or 'exec' (argv of a program)", p.name));
    if (run) {
        const auto* arr = run->as_array();
        if (!arr) fail(pos_of(*run), fmt::format("'run' must be an array of op strings, not {}", type_name(*run)));
        bool per_replica = false;
        for (auto&& item : *arr) {
            OpDecl op;
            op.pos = pos_of(item);
            std::string text = get_string(item, "an op");
            if (has_replica_values(text)) {
                per_replica = true;
                op.text = text;
                p.run.push_back(std::move(op));
                continue;
            }
            TextError err;
            if (!parse_op(text, op, err)) fail(pos_in_string(op.pos, err.offset), err.message);
            p.run.push_back(std::move(op));
        }
        // {i} and {n}: each replica's ops, expanded and parsed on their own.
        if (per_replica) {
            for (std::int64_t r = 0; r < p.count; ++r) {
                std::vector<OpDecl> ops;
                for (const OpDecl& written : p.run) {
                    if (!has_replica_values(written.text)) {
                        ops.push_back(written);
                        continue;
                    }
                    OpDecl op;
                    op.pos = written.pos;
                    op.replica_note = p.count > 1 ? fmt::format(" (in {}#{}, where i = {})", p.name, r, r) : "";
                    std::string text;
                    TextError err;
                    if (!expand_replica(written.text, r, p.count, text, op.origin, err)) fail(pos_in_string(op.pos, err.offset), err.message);
                    if (has_computed_name(text)) {  // parsed once every name is known (resolve_computed_names)
                        op.text = op.expanded = text;
                        ops.push_back(std::move(op));
                        continue;
                    }
                    if (!parse_op(text, op, err)) fail(op.at(err.offset), err.message + op.replica_note);
                    to_written_offsets(op);
                    ops.push_back(std::move(op));
                }
                p.replica_run.push_back(std::move(ops));
            }
            p.run = p.replica_run[0];
        }
    } else {
        const auto* arr = exec->as_array();
        p.exec_pos = pos_of(*exec);
        if (!arr || arr->empty()) fail(pos_of(*exec), "'exec' must be a non-empty array: the program and its arguments");
        for (auto&& item : *arr) p.exec.push_back(get_string(item, "an exec argument"));
        if (p.exec[0].empty()) fail(pos_of(*exec), "the program to exec is empty");
    }
    if (const auto* n = t.get("stdin")) {
        if (!exec) fail(pos_of(*n), "'stdin' applies to 'exec' processes only");
        p.stdin_text = get_string(*n, "stdin");
    }
    if (const auto* n = t.get("stdin_file")) {
        if (!exec) fail(pos_of(*n), "'stdin_file' applies to 'exec' processes only");
        if (p.stdin_text) fail(pos_of(*n), "give 'stdin' or 'stdin_file', not both");
        p.stdin_file = Named{get_string(*n, "stdin_file"), pos_of(*n)};
    }
    if (const auto* n = t.get("limits")) {
        if (!exec) fail(pos_of(*n), "'limits' apply to 'exec' processes only");
        p.limits = read_limits(*n, "limits");
    }
    if (const auto* n = t.get("trace")) {
        if (!exec) fail(pos_of(*n), "'trace' applies to 'exec' processes only (scripted ones are always traced)");
        p.trace = get_bool(*n, "trace");
    }
    if (const auto* n = t.get("workdir")) {
        if (!exec) fail(pos_of(*n), "'workdir' applies to 'exec' processes only");
        p.workdir = Named{get_string(*n, "workdir"), pos_of(*n)};
    }
    if (const auto* n = t.get("env")) {
        if (!exec) fail(pos_of(*n), "'env' applies to 'exec' processes only");
        for (auto&& [k, v] : as_table(*n, "env")) {
            if (k.str().empty() || k.str().find('=') != std::string_view::npos)
                fail(pos_of(k.source()), fmt::format("'{}' is not an environment variable name", k.str()));
            p.env.emplace_back(std::string(k.str()), get_string(v, "an environment value"));
        }
    }
    return p;
}

ExpectDecl read_expect(const toml::node& node, std::size_t index) {
    const auto& t = as_table(node, "[[expect]]");
    check_keys(t, {"name", "final", "always", "outcome", "stdout", "equals", "equals_words", "matches", "points"}, "[[expect]]");
    ExpectDecl e;
    e.pos = pos_of(node);
    e.name = fmt::format("expectation {}", index + 1);
    if (const auto* n = t.get("name")) e.name = get_string(*n, "name"), e.pos = pos_of(*n);
    if (const auto* n = t.get("points")) e.points = get_points(*n, "points");
    int kinds = 0;
    for (auto [key, kind] : {std::pair{"final", ExpectKind::Final}, std::pair{"always", ExpectKind::Always},
                             std::pair{"outcome", ExpectKind::Outcome}}) {
        const toml::node* n = t.get(key);
        if (!n) continue;
        if (++kinds > 1) fail(pos_of(*n), "an [[expect]] takes one of 'final', 'always', 'outcome'");
        e.kind = kind;
        e.text = get_string(*n, key);
        e.text_pos = pos_of(*n);
    }
    if (const toml::node* n = t.get("stdout")) {
        if (++kinds > 1) fail(pos_of(*n), "an [[expect]] takes one of 'final', 'always', 'outcome', 'stdout'");
        e.kind = ExpectKind::Stdout;
        e.process = {get_string(*n, "stdout"), pos_of(*n)};
        int how = 0;
        for (auto [key, m] : {std::pair{"equals", StdoutMatch::Exact}, std::pair{"equals_words", StdoutMatch::Words},
                              std::pair{"matches", StdoutMatch::Regex}}) {
            const toml::node* v = t.get(key);
            if (!v) continue;
            if (++how > 1) fail(pos_of(*v), "give one of 'equals', 'equals_words', 'matches'");
            e.match = m;
            e.text = get_string(*v, key);
            e.text_pos = pos_of(*v);
            if (m == StdoutMatch::Regex) {
                if (const std::string why = regex_error(e.text); !why.empty())
                    fail(e.text_pos, fmt::format("invalid regular expression (RE2 syntax): {}", why));
            }
        }
        if (how == 0) fail(pos_of(*n), "a stdout expectation needs 'equals', 'equals_words' or 'matches'");
        return e;
    }
    for (const char* key : {"equals", "equals_words", "matches"})
        if (const toml::node* n = t.get(key)) fail(pos_of(*n), fmt::format("'{}' goes with 'stdout = \"PROCESS\"'", key));
    if (kinds == 0) fail(e.pos, "[[expect]] needs one of 'final', 'always', 'outcome' or 'stdout'");
    if (e.kind == ExpectKind::Outcome) {
        if (e.text == "completed") e.outcome = Outcome::Completed;
        else if (e.text == "deadlock") e.outcome = Outcome::Deadlock;
        else if (e.text == "timeout") e.outcome = Outcome::Timeout;
        else if (e.text == "trace limit") e.outcome = Outcome::TraceLimit;
        else if (e.text == "livelock") e.outcome = Outcome::Livelock;
        else fail(e.text_pos, fmt::format("outcome must be completed, deadlock, livelock, timeout or \"trace limit\", not '{}'", e.text));
        return e;
    }
    ExprError err;
    if (!parse_expr(e.text, e.expr, err)) fail(pos_in_string(e.text_pos, err.offset), err.message);
    return e;
}

void read_header(const toml::node& node, ScenarioDecl& sc) {
    const auto& t = as_table(node, "[scenario]");
    check_keys(t, {"name", "description", "timeout", "mode", "seed", "root", "trace_limit", "max_processes"}, "[scenario]");
    if (const auto* n = t.get("max_processes")) sc.max_processes = get_int(*n, "max_processes", 1, kMaxProcessesCeiling);
    if (const auto* n = t.get("trace_limit")) sc.trace_limit = get_int(*n, "trace_limit", 1000, INT64_C(1) << 40);
    if (const auto* n = t.get("root")) sc.root = get_bool(*n, "root");
    if (const auto* n = t.get("seed")) sc.seed = static_cast<std::uint64_t>(get_int(*n, "seed", 0, INT64_MAX));
    if (const auto* n = t.get("mode")) {
        std::string mode = get_string(*n, "mode");
        if (mode == "controlled") sc.mode = SchedMode::Controlled;
        else if (mode != "free") fail(pos_of(*n), fmt::format("mode must be \"free\" or \"controlled\", not '{}'", mode));
    }
    if (const auto* n = t.get("name")) {
        sc.name = get_string(*n, "name");
        check_name(sc.name, pos_of(*n), "scenario");
    }
    if (const auto* n = t.get("description")) sc.description = get_string(*n, "description");
    if (const auto* n = t.get("timeout")) {
        auto ns = parse_duration_ns(get_string(*n, "timeout"));
        if (!ns) fail(pos_of(*n), "timeout must be a duration such as \"10s\" or \"500ms\"");
        if (*ns <= 0) fail(pos_of(*n), "timeout must be longer than 0");
        sc.timeout_ns = *ns;
    }
}

FaultDecl read_fault(const toml::node& node) {
    const auto& t = as_table(node, "[[fault]]");
    check_keys(t, {"process", "signal", "at_step", "at", "after", "count"}, "[[fault]]");
    FaultDecl f;
    f.pos = pos_of(node);
    f.process = get_named(t, "process", f.pos, "[[fault]]");
    f.pos = f.process.pos;
    if (const auto* n = t.get("signal")) {
        f.signal_pos = pos_of(*n);
        std::string name = n->is_integer() ? std::to_string(n->as_integer()->get()) : get_string(*n, "signal");
        f.signal = parse_signal(name);
        if (f.signal == 0) fail(f.signal_pos, fmt::format("unknown signal '{}' (e.g. \"SIGKILL\", \"SIGTERM\", 9)", name));
    }
    int triggers = 0;
    if (const auto* n = t.get("at_step")) f.at_step = get_int(*n, "at_step", 0, INT64_MAX), ++triggers;
    if (const auto* n = t.get("at")) {
        auto ns = parse_duration_ns(get_string(*n, "at"));
        if (!ns) fail(pos_of(*n), "at must be a duration such as \"50ms\"");
        f.at_ns = *ns, f.at_pos = pos_of(*n), ++triggers;
    }
    if (const auto* n = t.get("after")) f.after = get_string(*n, "after"), f.after_pos = pos_of(*n), ++triggers;
    if (triggers != 1) fail(f.pos, "a [[fault]] needs exactly one of 'at_step', 'at' or 'after'");
    if (const auto* n = t.get("count")) {
        if (!f.after) fail(pos_of(*n), "'count' goes with 'after' (the n-th such op)");
        f.count = get_int(*n, "count", 1, INT64_MAX);
        f.count_pos = pos_of(*n);
    }
    if (f.count_pos.line == 0) f.count_pos = f.after_pos;
    return f;
}


std::string stem_of(const std::string& path) {
    std::string base = path.substr(path.find_last_of('/') + 1);
    return base.substr(0, base.find('.'));
}

}  // namespace

Result<ScenarioDecl, Diagnostic> read_scenario(const std::string& path, const std::string& source) {
    ScenarioDecl sc;
    sc.path = path;
    sc.name = stem_of(path);
    try {
        auto parsed = parse_toml(source, path);
        if (!parsed) return parsed.error();
        const toml::table& root = parsed.value();
        check_keys(root, {"scenario", "ipc", "process", "expect", "fault", "limits"}, "the scenario file");
        if (const auto* n = root.get("scenario")) read_header(*n, sc);
        if (const auto* n = root.get("limits")) sc.limits = read_limits(*n, "[limits]");
        if (const auto* n = root.get("ipc")) read_ipc(*n, sc);
        if (const auto* n = root.get("process"))
            each_in_array(*n, "process", [&](const toml::node& p, std::size_t) { sc.processes.push_back(read_process(p)); });
        if (const auto* n = root.get("expect"))
            each_in_array(*n, "expect", [&](const toml::node& e, std::size_t i) { sc.expects.push_back(read_expect(e, i)); });
        if (const auto* n = root.get("fault"))
            each_in_array(*n, "fault", [&](const toml::node& f, std::size_t) { sc.faults.push_back(read_fault(f)); });
        if (sc.processes.empty()) fail({1, 1}, "the scenario declares no [[process]]");
        std::int64_t total = 0;
        for (const auto& p : sc.processes) total += p.count;
        if (total > sc.max_processes) {
            std::int64_t upto = 0;
            for (const auto& p : sc.processes)
                if ((upto += p.count) > sc.max_processes)
                    fail(p.count_pos.line ? p.count_pos : p.pos,
                         fmt::format("the scenario declares {} processes (replicas counted), more than its max_processes, {}; raise it "
                                     "in [scenario]: max_processes = {} (at most {})",
                                     total, sc.max_processes, total, kMaxProcessesCeiling));
        }
        resolve_computed_names(sc);
    } catch (const Failure& f) {
        return f.d;
    }
    return sc;
}

Result<std::string, Diagnostic> read_source_file(const std::string& path, const char* what) {
    // Non-blocking, so that a FIFO given as the file is refused, not waited on.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return Diagnostic{{}, fmt::format("cannot read {}: {}", what, std::strerror(errno))};
    struct stat st = {};
    if (::fstat(fd.get(), &st) != 0) return Diagnostic{{}, fmt::format("cannot read {}: {}", what, std::strerror(errno))};
    if (!S_ISREG(st.st_mode)) {
        const char* kind = S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device";
        return Diagnostic{{}, fmt::format("cannot read {}: it is {}, not a regular file", what, kind)};
    }
    auto too_big = [&] {
        return Diagnostic{{}, fmt::format("cannot read {}: it is larger than {} (the largest file simrun reads)", what, format_size_bytes(static_cast<std::int64_t>(kMaxSourceBytes)))};
    };
    if (static_cast<std::uint64_t>(st.st_size) > kMaxSourceBytes) return too_big();
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Diagnostic{{}, fmt::format("cannot read {}: {}", what, std::strerror(errno))};
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kMaxSourceBytes) return too_big();  // it grew while read
    }
    return text;
}

int parse_signal(std::string_view name) {
    int number = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
    if (ec == std::errc{} && end == name.data() + name.size()) return number >= 1 && number < NSIG ? number : 0;
    if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
    // Real-time signals: RTMIN, RTMIN+n, RTMAX, RTMAX-n.
    for (auto [base, sign, sig] : {std::tuple{"RTMIN", '+', SIGRTMIN}, std::tuple{"RTMAX", '-', SIGRTMAX}}) {
        if (name.substr(0, 5) != base) continue;
        std::string_view rest = name.substr(5);
        if (rest.empty()) return sig;
        int k = 0;
        auto [end, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), k);
        if (rest[0] != sign || ec != std::errc{} || end != rest.data() + rest.size()) return 0;
        int s = sign == '+' ? sig + k : sig - k;
        return s >= SIGRTMIN && s <= SIGRTMAX ? s : 0;
    }
    for (int s = 1; s < SIGRTMIN; ++s)
        if (const char* abbrev = sigabbrev_np(s); abbrev && name == abbrev) return s;
    return 0;
}

std::string signal_name(int sig) {
    if (sig == SIGRTMIN) return "SIGRTMIN";
    if (sig > SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

const char* outcome_name(Outcome o) {
    switch (o) {
        case Outcome::Completed: return "completed";
        case Outcome::Deadlock: return "deadlock";
        case Outcome::Timeout: return "timeout";
        case Outcome::Interrupted: return "interrupted";
        case Outcome::TraceLimit: return "trace limit";
        case Outcome::Livelock: return "livelock";
    }
    return "?";
}

}  // namespace simrun

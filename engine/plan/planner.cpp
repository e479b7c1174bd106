#include "plan/planner_impl.hpp"

#include "scenario/scenario_reader.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

// Objects, processes and replicas, the fork tree, pipe ends; make_plan and load_plan.

namespace simrun::detail {

Plan Planner::run() {
    p_.path = d_.path, p_.name = d_.name, p_.description = d_.description, p_.timeout_ns = d_.timeout_ns, p_.trace_limit = d_.trace_limit;
    p_.mode = o_.mode.value_or(d_.mode);
    p_.seed = d_.seed;
    p_.root = d_.root;
    objects();
    processes();
    fork_tree();
    pipes();
    scripts();
    expectations();
    faults();
    return std::move(p_);
}

// ---- objects -------------------------------------------------------
void Planner::claim_name(const std::string& name, SourcePos pos, const char* kind) {
    auto [it, fresh] = object_kind_.emplace(name, kind);
    if (!fresh) fail(pos, fmt::format("duplicate object name '{}' (already a {})", name, it->second));
}

void Planner::objects() {
    for (const auto& s : d_.sems) {
        claim_name(s.name, s.pos, "semaphore set");
        PlanSemSet ps{s.name, s.key, {}, {}, s.undo, p_.sem_values};
        std::set<std::string> seen;
        for (const auto& m : s.members) {
            ps.members.push_back(m.name);
            ps.initial.push_back(static_cast<int>(m.initial));
        }
        p_.sem_values += static_cast<int>(s.members.size());
        sem_index_[s.name] = static_cast<int>(p_.sems.size());
        p_.sems.push_back(std::move(ps));
    }
    for (const auto& s : d_.shms) {
        claim_name(s.name, s.pos, "shared memory segment");
        PlanShm ps{s.name, s.key, s.posix, s.file, {}, 0, static_cast<std::uint32_t>(p_.cell_slots), {}};
        for (const auto& c : s.cells) {
            ps.cells.push_back({c.name, ps.slots, static_cast<std::uint32_t>(c.initial.size()), c.is_array});
            ps.slots += static_cast<std::uint32_t>(c.initial.size());
            ps.initial.insert(ps.initial.end(), c.initial.begin(), c.initial.end());
        }
        p_.cell_slots += static_cast<int>(ps.slots);
        shm_index_[s.name] = static_cast<int>(p_.shms.size());
        p_.shms.push_back(std::move(ps));
    }
    for (const auto& pd : d_.pipes) claim_name(pd.name, pd.pos, "pipe");
    for (const auto& f : d_.fifos) claim_name(f.name, f.pos, "FIFO");
    for (const auto& ps : d_.psems) {
        claim_name(ps.name, ps.pos, "POSIX semaphore");
        psem_index_[ps.name] = static_cast<int>(p_.psems.size());
        p_.psems.push_back({ps.name, static_cast<int>(ps.value), ps.named});
    }
    for (const auto& q : d_.queues) {
        claim_name(q.name, q.pos, q.kind == QueueKind::SysV ? "System V message queue" : "POSIX message queue");
        queue_index_[q.name] = static_cast<int>(p_.queues.size());
        p_.queues.push_back({q.name, q.key, q.kind, static_cast<int>(q.max_messages), static_cast<int>(q.message_size)});
    }
}

// ---- processes -----------------------------------------------------
// A program's own limits, else [limits], else the defaults: the run's
// timeout for time, and bounds a well-behaved course program never meets.
Limits Planner::resolve_limits(const LimitsDecl& own) const {
    const LimitsDecl& all = d_.limits;
    auto pick = [](const std::optional<std::int64_t>& a, const std::optional<std::int64_t>& b, std::int64_t dflt) {
        return a ? *a : b ? *b : dflt;
    };
    Limits l;
    l.cpu_ns = pick(own.cpu_ns, all.cpu_ns, d_.timeout_ns);
    l.wall_ns = pick(own.wall_ns, all.wall_ns, d_.timeout_ns);
    l.memory = pick(own.memory, all.memory, 1LL << 30);
    l.processes = pick(own.processes, all.processes, 256);
    l.open_files = pick(own.open_files, all.open_files, 256);
    l.file_size = pick(own.file_size, all.file_size, 64LL << 20);
    l.output = pick(own.output, all.output, 1LL << 20);
    return l;
}

void Planner::processes() {
    std::map<std::string, SourcePos> seen;
    for (std::size_t i = 0; i < d_.processes.size(); ++i) {
        const auto& pd = d_.processes[i];
        if (auto [it, fresh] = seen.emplace(pd.name, pd.pos); !fresh)
            fail(pd.pos, fmt::format("duplicate process name '{}' (first declared on line {})", pd.name, it->second.line));
        base_names_.push_back(pd.name);
        first_replica_.push_back(static_cast<int>(p_.processes.size()));
        for (int r = 0; r < pd.count; ++r) {
            PlanProcess pp;
            pp.name = pd.count == 1 ? pd.name : fmt::format("{}#{}", pd.name, r);
            pp.decl = static_cast<int>(i), pp.replica = r, pp.repeat = pd.repeat;
            pp.argv = pd.exec, pp.stdin_text = pd.stdin_text, pp.may_end_blocked = pd.may_end_blocked;
            pp.unprivileged = pd.unprivileged;
            pp.trace = pd.trace;
            if (pp.is_exec()) pp.limits = resolve_limits(pd.limits);
            if (pd.workdir) {
                const std::string& w = pd.workdir->name;
                std::string dir = d_.path.find('/') == std::string::npos ? "." : d_.path.substr(0, d_.path.rfind('/'));
                pp.workdir = !w.empty() && w[0] == '/' ? w : dir + "/" + w;
                pp.workdir_pos = pd.workdir->pos;
            }
            pp.signals = pd.signals;
            pp.env = pd.env;
            if (pd.stdin_file) {
                const std::string& f = pd.stdin_file->name;
                std::string dir = d_.path.find('/') == std::string::npos ? "." : d_.path.substr(0, d_.path.rfind('/'));
                pp.stdin_file = f.empty() || f[0] == '/' ? f : dir + "/" + f;
                pp.stdin_file_pos = pd.stdin_file->pos;
            }
            for (const auto& sd : pd.signals)
                if (sd.disposition == Disposition::Count || sd.disposition == Disposition::Record ||
                    sd.disposition == Disposition::Terminate)
                    pp.handled |= 1ull << (sd.signal - 1);
            if (!pd.signals.empty() && !pd.exec.empty()) fail(pd.signals[0].pos, "signal dispositions apply to scripted processes");
            p_.processes.push_back(std::move(pp));
        }
    }
}

// "producer" = every replica; "producer#1" = one.
std::vector<int> Planner::find_processes(const std::string& name, SourcePos pos, const char* role) {
    auto hash = name.find('#');
    std::string base = name.substr(0, hash);
    int decl = -1;
    for (std::size_t i = 0; i < base_names_.size(); ++i)
        if (base_names_[i] == base) decl = static_cast<int>(i);
    if (decl < 0) fail(pos, fmt::format("unknown process '{}' {}{}", base, role, did_you_mean_suffix(base, base_names_)));
    int first = first_replica_[decl];
    int count = static_cast<int>(d_.processes[decl].count);
    if (hash == std::string::npos) {
        std::vector<int> all(count);
        for (int r = 0; r < count; ++r) all[r] = first + r;
        return all;
    }
    std::string digits = name.substr(hash + 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 4 ||
        std::stoi(digits) >= count)
        fail(pos, fmt::format("process '{}' has replicas #0 to #{}; '{}' is not one of them", base, count - 1, name));
    return {first + std::stoi(digits)};
}

void Planner::fork_tree() {
    for (std::size_t i = 0; i < d_.processes.size(); ++i) {
        const auto& pd = d_.processes[i];
        if (!pd.parent) continue;
        auto parents = find_processes(pd.parent->name, pd.parent->pos, "as parent");
        if (parents.size() != 1)
            fail(pd.parent->pos, fmt::format("parent '{}' has {} replicas; name one, e.g. '{}#0'", pd.parent->name,
                                             parents.size(), pd.parent->name));
        int parent = parents[0];
        if (p_.processes[parent].is_exec())
            fail(pd.parent->pos, fmt::format("parent '{}' is an exec'd program; only scripted processes fork declared children",
                                             pd.parent->name));
        for (int r = 0; r < pd.count; ++r) {
            int child = first_replica_[i] + r;
            p_.processes[child].parent = parent;
            p_.processes[parent].children.push_back(child);
        }
    }
    // A cycle means some process never reaches the supervisor by parents.
    for (std::size_t i = 0; i < p_.processes.size(); ++i) {
        int at = static_cast<int>(i);
        for (std::size_t steps = 0; at != kSupervisor; ++steps) {
            if (steps > p_.processes.size()) {
                const auto& pd = d_.processes[p_.processes[i].decl];
                fail(pd.parent->pos, fmt::format("the fork tree has a cycle through process '{}'", pd.name));
            }
            at = p_.processes[at].parent;
        }
    }
}

// ---- pipes ---------------------------------------------------------
// The processes holding one end of pipe `index`. An exec'd program's end is
// a stream of its own: a reader's stdin, a writer's stdout, or its stderr
// ("cc.stderr"). A FIFO's named ends are programs' streams only (scripted
// processes open a FIFO with the open op).
std::vector<int> Planner::pipe_end(const Named& end, bool write, int index, const std::string& object, const char* kind) {
    std::string name = end.name, stream;
    if (auto dot = name.rfind('.'); dot != std::string::npos) stream = name.substr(dot + 1), name.resize(dot);
    std::vector<int> procs = find_processes(name, end.pos, write ? "as writer" : "as reader");
    if (!stream.empty() && (write ? stream != "stdout" && stream != "stderr" : stream != "stdin"))
        fail(end.pos, fmt::format("'{}': a {}'s {} end is a program's {}", end.name, kind, write ? "write" : "read",
                                  write ? "stdout or stderr ('NAME' or 'NAME.stderr')" : "stdin ('NAME' or 'NAME.stdin')"));
    const bool fifo = std::string_view(kind) == "FIFO";
    for (int p : procs) {
        PlanProcess& pp = p_.processes[p];
        if (!pp.is_exec()) {
            if (fifo)
                fail(end.pos, fmt::format("'{}' is scripted: it opens the FIFO with 'open {} {}'; a FIFO's writer and reader name exec'd "
                                          "programs, whose {} it becomes",
                                          name, object, write ? "write" : "read", write ? "stdout" : "stdin"));
            if (!stream.empty())
                fail(end.pos, fmt::format("'{}' is scripted: its ops use the pipe; '.{}' names an exec'd program's stream", name, stream));
            continue;
        }
        int& slot = write ? (stream == "stderr" ? pp.stderr_pipe : pp.stdout_pipe) : pp.stdin_pipe;
        const char* what = write ? (stream == "stderr" ? "stderr" : "stdout") : "stdin";
        if (slot >= 0) fail(end.pos, fmt::format("'{}' has its {} on '{}' already", pp.name, what, slot == index ? object : p_.pipes[slot].name));
        if (!write && (pp.stdin_text || !pp.stdin_file.empty()))
            fail(end.pos, fmt::format("'{}' has 'stdin' or 'stdin_file' already; its stdin cannot also be the {}", name, kind));
        slot = index;
    }
    return procs;
}

void Planner::pipes() {
    for (const auto& pd : d_.pipes) {
        const int index = static_cast<int>(p_.pipes.size());
        PlanPipe pp{pd.name, PipeRole::Declared, pipe_end(pd.writer, true, index, pd.name, "pipe"),
                    pipe_end(pd.reader, false, index, pd.name, "pipe")};
        pipe_index_[pd.name] = index;
        pipe_decl_.push_back(&pd);
        p_.pipes.push_back(std::move(pp));
    }
    for (const auto& f : d_.fifos) {
        const int index = static_cast<int>(p_.pipes.size());
        PlanPipe pp{f.name, PipeRole::Fifo, {}, {}};
        // Programs' streams on the FIFO: opened by the program's child before it execs.
        if (f.writer) pp.writers = pipe_end(*f.writer, true, index, f.name, "FIFO");
        if (f.reader) pp.readers = pipe_end(*f.reader, false, index, f.name, "FIFO");
        pipe_index_[f.name] = index;
        pipe_decl_.push_back(nullptr);
        p_.pipes.push_back(std::move(pp));
    }
    for (std::size_t i = 0; i < p_.processes.size(); ++i) {
        auto& pp = p_.processes[i];
        if (!pp.is_exec()) continue;
        int me = static_cast<int>(i);
        if (pp.stdin_text) {
            pp.stdin_pipe = static_cast<int>(p_.pipes.size());
            p_.pipes.push_back({pp.name + ".stdin", PipeRole::Stdin, {kSupervisor}, {me}});
        }
        if (pp.stdout_pipe < 0) {
            pp.stdout_pipe = static_cast<int>(p_.pipes.size());
            p_.pipes.push_back({pp.name + ".stdout", PipeRole::Stdout, {me}, {kSupervisor}});
        }
        if (pp.stderr_pipe < 0) {
            pp.stderr_pipe = static_cast<int>(p_.pipes.size());
            p_.pipes.push_back({pp.name + ".stderr", PipeRole::Stderr, {me}, {kSupervisor}});
        }
    }
}

}  // namespace simrun::detail

namespace simrun {


Result<Plan, Diagnostic> make_plan(const ScenarioDecl& decl, const PlanOptions& options) {
    try {
        return detail::Planner(decl, options).run();
    } catch (const detail::Failure& f) {
        return f.d;
    }
}


// FNV-1a: a stable fingerprint of the scenario text for schedule files.
static std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

Result<Plan, std::string> load_plan(const std::string& path, const PlanOptions& options) {
    auto source = read_source_file(path);
    if (!source) return render_diagnostic(path, "", source.error());
    return load_plan_source(path, source.value(), options);
}

Result<Plan, std::string> load_plan_source(const std::string& path, const std::string& text, const PlanOptions& options) {
    const Result<std::string, Diagnostic> source{text};
    auto decl = read_scenario(path, source.value());
    if (!decl) return render_diagnostic(path, source.value(), decl.error());
    auto plan = make_plan(decl.value(), options);
    if (!plan) return render_diagnostic(path, source.value(), plan.error());
    plan->source = text;
    plan->source_hash = fnv1a(text);
    if (!options.check_files) return std::move(plan.value());
    // ftok paths and input files must be there before anything runs.
    std::vector<const KeyDecl*> keys;
    for (const auto& s : plan->sems) keys.push_back(&s.key);
    for (const auto& s : plan->shms) keys.push_back(&s.key);
    for (const auto& q : plan->queues) keys.push_back(&q.key);
    for (const KeyDecl* k : keys)
        if (k->kind == KeyDecl::Ftok && access(k->path.c_str(), F_OK) != 0)
            return render_diagnostic(path, source.value(), {k->pos, fmt::format("ftok needs an existing path: {}: {}", k->path, std::strerror(errno))});
    for (const auto& p : plan->processes) {
        if (!p.stdin_file.empty() && access(p.stdin_file.c_str(), R_OK) != 0)
            return render_diagnostic(path, source.value(),
                                     {p.stdin_file_pos, fmt::format("cannot read {}: {}", p.stdin_file, std::strerror(errno))});
        struct stat st;
        if (!p.workdir.empty() && (stat(p.workdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
            return render_diagnostic(path, source.value(),
                                     {p.workdir_pos, fmt::format("workdir {} is not a folder{}", p.workdir,
                                                                 errno == ENOENT ? ": it does not exist" : "")});
    }
    return std::move(plan.value());
}

}  // namespace simrun

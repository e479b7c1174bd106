#include "run/run_objects.hpp"

#include <fcntl.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

namespace simrun {
namespace {

// Objects a process made under a declared key (after removing simrun's,
// say) are not simrun's, but they are the run's: remove them too.
void sweep_declared_keys(const Runtime& rt_) {
    for (key_t k : rt_.sem_keys)
        if (int id = k == IPC_PRIVATE ? -1 : semget(k, 0, 0); id >= 0) semctl(id, 0, IPC_RMID);
    for (key_t k : rt_.shm_keys)
        if (int id = k == IPC_PRIVATE ? -1 : shmget(k, 0, 0); id >= 0) shmctl(id, IPC_RMID, nullptr);
    for (key_t k : rt_.msg_keys)
        if (int id = k == IPC_PRIVATE ? -1 : msgget(k, 0); id >= 0) msgctl(id, IPC_RMID, nullptr);
}

Result<key_t> key_of(const KeyDecl& k, const std::string& name) {
    if (k.kind == KeyDecl::Number) return static_cast<key_t>(k.number);
    if (k.kind == KeyDecl::Private) return static_cast<key_t>(IPC_PRIVATE);
    key_t key = ftok(k.path.c_str(), static_cast<int>(k.proj));
    if (key == -1) return sys_error(fmt::format("ftok({}, {}) for '{}'", k.path, k.proj, name));
    return key;
}


}  // namespace

Result<std::unique_ptr<RunObjects>> RunObjects::create(const Plan& plan, Runtime& rt) {
    std::unique_ptr<RunObjects> o(new RunObjects(rt));
    for (auto step : {&RunObjects::make_sems, &RunObjects::make_shms, &RunObjects::make_psems, &RunObjects::make_pipes,
                      &RunObjects::make_queues, &RunObjects::open_stdin_files})
        if (auto st = (o.get()->*step)(plan, rt); !st) return st.error();
    for (const auto& set : o->sems_) rt.semids.push_back(set.id());
    for (std::size_t i = 0, sysv = 0; i < plan.shms.size(); ++i) rt.shmids.push_back(plan.shms[i].posix ? -1 : o->shms_[sysv++].id());
    for (const auto& p : o->pipes_) rt.pipe_fds.push_back({p.read.get(), p.write.get()});  // -1, -1 for a FIFO
    return o;
}

Status RunObjects::make_sems(const Plan& plan, Runtime& rt) {
    for (const auto& s : plan.sems) {
        auto key = key_of(s.key, s.name);
        if (!key) return key.error();
        rt.sem_keys.push_back(*key);
        auto set = SemSet::create(s.initial, *key, static_cast<int>(s.key.mode));
        if (!set) return set.error();
        sems_.push_back(std::move(set.value()));
    }
    return ok_status();
}

Status RunObjects::make_shms(const Plan& plan, Runtime& rt) {
    for (const auto& s : plan.shms) {
        if (s.posix) {
            rt.shm_keys.push_back(IPC_PRIVATE);
            auto seg = s.file ? PosixShm::create_file("/dev/shm/simrun-map-XXXXXX", s.initial.size())
                              : PosixShm::create(fmt::format("/simrun-{}-{}", getpid(), s.name), s.initial.size());
            if (!seg) return seg.error();
            std::copy(s.initial.begin(), s.initial.end(), seg->cells());
            rt.shm.push_back(seg->cells());
            pshms_.push_back(std::move(seg.value()));
            continue;
        }
        auto key = key_of(s.key, s.name);
        if (!key) return key.error();
        rt.shm_keys.push_back(*key);
        auto seg = ShmSegment::create(s.initial, *key, static_cast<int>(s.key.mode));
        if (!seg) return seg.error();
        rt.shm.push_back(seg->cells());
        shms_.push_back(std::move(seg.value()));
    }
    return ok_status();
}

Status RunObjects::make_psems(const Plan& plan, Runtime& rt) {
    for (const auto& p : plan.psems) {
        auto sem = p.named ? PosixSem::create_named(fmt::format("/simrun-{}-{}", getpid(), p.name), static_cast<unsigned>(p.value))
                           : PosixSem::create_unnamed(static_cast<unsigned>(p.value));
        if (!sem) return sem.error();
        rt.psems.push_back(sem->sem());
        psems_.push_back(std::move(sem.value()));
    }
    return ok_status();
}

// Pipes, and the FIFOs' folder (a FIFO's ends appear when processes open it).
Status RunObjects::make_pipes(const Plan& plan, Runtime& rt) {
    std::vector<std::string> fifo_names;
    for (std::size_t i = 0; i < plan.pipes.size(); ++i) {
        if (plan.pipes[i].role == PipeRole::Fifo) {
            fifo_names.push_back(plan.pipes[i].name);
            pipes_.push_back(Pipe{});
            continue;
        }
        auto p = Pipe::create();
        if (!p) return p.error();
        pipes_.push_back(std::move(p.value()));
    }
    if (!fifo_names.empty()) {
        auto dir = FifoDir::create(fifo_names, plan.pipes.size());  // counters indexed like pipes
        if (!dir) return dir.error();
        fifos_ = std::move(dir.value());
        rt.fifo_counters = fifos_.counters();
    }
    rt.fifo_paths.assign(plan.pipes.size(), {});
    for (std::size_t i = 0, f = 0; i < plan.pipes.size(); ++i)
        if (plan.pipes[i].role == PipeRole::Fifo) rt.fifo_paths[i] = fifos_.paths()[f++];
    return ok_status();
}

Status RunObjects::make_queues(const Plan& plan, Runtime& rt) {
    for (const auto& q : plan.queues) {
        QueueHandle h;
        if (q.kind == QueueKind::SysV) {
            auto key = key_of(q.key, q.name);
            if (!key) return key.error();
            rt.msg_keys.push_back(*key);
            auto mq = MsgQueue::create(*key, static_cast<int>(q.key.mode));
            if (!mq) return mq.error();
            h.msqid = mq->id();
            msgs_.push_back(std::move(mq.value()));
        } else {
            rt.msg_keys.push_back(IPC_PRIVATE);
            auto mq = PosixMq::create(fmt::format("/simrun-{}-{}", getpid(), q.name), q.max_messages, q.message_size);
            if (!mq) return mq.error();
            h.blocking = mq->blocking(), h.nonblocking = mq->nonblocking();
            mqs_.push_back(std::move(mq.value()));
        }
        rt.queues.push_back(h);
    }
    return ok_status();
}

Status RunObjects::open_stdin_files(const Plan& plan, Runtime& rt) {
    rt.stdin_fds.assign(plan.processes.size(), -1);
    for (std::size_t p = 0; p < plan.processes.size(); ++p) {
        const std::string& f = plan.processes[p].stdin_file;
        if (f.empty()) continue;
        stdin_files_.emplace_back(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
        if (!stdin_files_.back().valid()) return sys_error(fmt::format("open({}) for the stdin of {}", f, plan.processes[p].name));
        rt.stdin_fds[p] = stdin_files_.back().get();
    }
    return ok_status();
}

RunObjects::~RunObjects() {
    // Members go in reverse order; then what processes made under declared keys.
    sems_.clear();
    shms_.clear();
    msgs_.clear();
    sweep_declared_keys(rt_);
}

std::vector<std::string> RunObjects::inventory() const {
    std::vector<std::string> lines;
    // The Runtime's tables are per declared object, ids and keys aligned.
    for (std::size_t i = 0; i < rt_.semids.size(); ++i) lines.push_back(fmt::format("sysv sem {} {}", rt_.semids[i], rt_.sem_keys[i]));
    for (std::size_t i = 0; i < rt_.shmids.size(); ++i)
        if (rt_.shmids[i] >= 0) lines.push_back(fmt::format("sysv shm {} {}", rt_.shmids[i], rt_.shm_keys[i]));
    for (std::size_t i = 0; i < rt_.queues.size(); ++i)
        if (rt_.queues[i].msqid >= 0) lines.push_back(fmt::format("sysv msg {} {}", rt_.queues[i].msqid, rt_.msg_keys[i]));
    for (const auto& s : psems_)
        if (!s.path().empty()) lines.push_back("file " + s.path());
    for (const auto& s : pshms_) lines.push_back("file " + s.path());
    for (const auto& q : mqs_) lines.push_back("mq " + q.name());
    if (!fifos_.dir().empty()) lines.push_back("dir " + fifos_.dir());
    return lines;
}

void RunObjects::read_final(const Plan& plan, RunResult& run) const {
    for (std::size_t i = 0; i < plan.sems.size(); ++i)
        for (std::size_t m = 0; m < plan.sems[i].members.size(); ++m) {
            auto v = sems_[i].value(static_cast<int>(m));
            run.sems.push_back(v ? v.value() : -1);
        }
    std::size_t sysv = 0, posix = 0;
    for (const auto& q : plan.queues) {
        auto st = q.kind == QueueKind::SysV ? msgs_[sysv++].stats() : mqs_[posix++].stats();
        run.queue_stats.push_back(st ? st->messages : -1);
        run.queue_stats.push_back(st ? st->bytes : -1);
    }
    for (const auto& p : psems_) run.psem_values.push_back(p.value());
}

}  // namespace simrun

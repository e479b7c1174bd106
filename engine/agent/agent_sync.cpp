#include "agent/agent_impl.hpp"

// Semaphores (System V and POSIX), shared memory cells, System V keys and control.

namespace simrun::detail {

// ---- semaphores ----------------------------------------------------
// Values are not read back here (a semctl per op would double the cost
// of a P or V); the supervisor replays them from the ordered stream.
Attempt Agent::semop_step(const Op& op, bool parked) {
    sembuf ops[kMaxSemTerms];
    bool releases_only = true;
    for (std::uint32_t i = 0; i < op.count; ++i) {
        const SemTerm& t = plan_.sem_terms[op.first + i];
        ops[i].sem_num = t.member;
        ops[i].sem_op = t.delta;
        ops[i].sem_flg = static_cast<short>(((op.flags & kOpUndo) ? SEM_UNDO : 0) | IPC_NOWAIT);
        releases_only = releases_only && t.delta > 0;
    }
    const int id = rt_.semids[op.object];
    // Stamp a V before its call and a P after it returns: each takes
    // effect inside that window, so the merged trace never shows a P
    // before the V that let it through, and replayed values never dip
    // below the kernel's.
    Record* early = releases_only ? &begin(EventKind::Op) : nullptr;
    int rc = ::semop(id, ops, op.count);
    int err = rc < 0 ? errno : 0;
    bool would_block = rc < 0 && err == EAGAIN && !(op.flags & kOpNoWait);
    if (would_block && controlled_) return Attempt::WouldBlock;  // the scheduler decides when to retry
    // Parked, the process stands for one blocked in semop: if the set was
    // removed meanwhile, the kernel would have woken it with EIDRM.
    if (controlled_ && parked && rc < 0 && err == EINVAL) err = EIDRM;
    if (would_block) {
        begin(EventKind::Block);
        commit();
        slot_.state.store(ProcState::BlockedSem, std::memory_order_release);
        for (std::uint32_t i = 0; i < op.count; ++i) ops[i].sem_flg &= ~IPC_NOWAIT;
        do rc = ::semop(id, ops, op.count);
        while (rc < 0 && errno == EINTR);
        err = rc < 0 ? errno : 0;
        slot_.state.store(ProcState::Running, std::memory_order_release);
        parked = true;
    }
    slot_.result.store(rc, std::memory_order_relaxed);
    Record& r = early ? *early : begin(EventKind::Op);
    r.flags = parked ? kRecBlocked : 0;
    r.e.result = rc;
    r.e.err = err;
    commit();
    bind(op, rc == 0);  // P ... nowait as ok: 1 when it went through
    return Attempt::Done;
}

void Agent::record_value(std::int64_t v, std::uint8_t flags) {
    Record& r = begin(EventKind::Op, static_cast<std::uint8_t>(kRecValue | flags));
    r.e.value = v;
    r.e.arg = cell_index_;  // which cell, for an op with a computed index (the decoder reads it for those only)
    commit();
}

Attempt Agent::shm_load(const Op& op) {
    std::int64_t* at = cell(op);
    if (!at) return bind(op, 0), bad_index();
    std::int64_t v = __atomic_load_n(at, __ATOMIC_RELAXED);
    record_value(v);
    bind(op, v);
    return Attempt::Done;
}

Attempt Agent::shm_store(const Op& op) {
    std::int64_t* at = cell(op);
    if (!at) return bad_index();
    const std::int64_t v = value_of(op);
    __atomic_store_n(at, v, __ATOMIC_RELAXED);
    record_value(v);
    return Attempt::Done;
}

// Two steps, as the compiled code of `x += n` is: another process may
// store between our load and our store, and its update is lost.
Attempt Agent::shm_racy_add(const Op& op) {
    std::int64_t* at = cell(op);  // the index is computed once, before the load
    if (!at) return bad_index();
    std::int64_t v = __atomic_load_n(at, __ATOMIC_RELAXED);
    record_value(v, kRecLoadStep);
    end_step(StepOutcome::Partial);
    begin_step();
    __atomic_store_n(at, v + op.value, __ATOMIC_RELAXED);
    record_value(v + op.value, kRecStoreStep);
    return Attempt::Done;
}

Attempt Agent::shm_atomic_add(const Op& op) {
    std::int64_t* at = cell(op);
    if (!at) return bad_index();
    record_value(__atomic_add_fetch(at, op.value, __ATOMIC_SEQ_CST));
    return Attempt::Done;
}

// ---- POSIX semaphores ----------------------------------------------
// sem_getvalue reads the semaphore's memory: the value after each op is
// exact and costs no system call.
void Agent::psem_record(const Op& op, std::int64_t rc, int err, bool parked) {
    Record& r = begin(EventKind::Op, static_cast<std::uint8_t>(kRecValue | (parked ? kRecBlocked : 0)));
    r.e.result = rc;
    r.e.err = err;
    int v = 0;
    sem_getvalue(rt_.psems[op.object], &v);
    r.e.value = v;
    commit();
}

Attempt Agent::psem_wait(const Op& op, bool parked) {
    sem_t* sem = rt_.psems[op.object];
    int rc = sem_trywait(sem);
    int err = rc < 0 ? errno : 0;
    if (rc < 0 && err == EAGAIN && !(op.flags & kOpNoWait) && controlled_) {
        // Time is not modelled: a timed wait parks like any other, until
        // the scheduler, with nobody else able to move, lets it time out.
        if (op.value > 0 && slot_.timed_out.exchange(0) != 0) err = ETIMEDOUT;
        else return Attempt::WouldBlock;
    } else if (rc < 0 && err == EAGAIN && !(op.flags & kOpNoWait)) {
        begin(EventKind::Block);
        commit();
        slot_.state.store(ProcState::BlockedPsem, std::memory_order_release);
        timespec deadline;
        if (op.value > 0) {
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += static_cast<time_t>((deadline.tv_nsec + op.value) / 1'000'000'000);
            deadline.tv_nsec = static_cast<long>((deadline.tv_nsec + op.value) % 1'000'000'000);
        }
        do rc = op.value > 0 ? sem_timedwait(sem, &deadline) : sem_wait(sem);
        while (rc < 0 && errno == EINTR);
        err = rc < 0 ? errno : 0;
        slot_.state.store(ProcState::Running, std::memory_order_release);
        parked = true;
    }
    psem_record(op, rc, err, parked);
    bind(op, rc == 0);  // P ... nowait as ok
    return Attempt::Done;
}

Attempt Agent::psem_post(const Op& op) {
    // Stamped before the call, as a V of System V: it may wake a waiter at once.
    int rc = sem_post(rt_.psems[op.object]);
    psem_record(op, rc, rc < 0 ? errno : 0, false);
    return Attempt::Done;
}

// ---- System V keys and control -------------------------------------
Attempt Agent::ipc_get(const Op& op) {
    const int flags = static_cast<int>(op.slot);
    int rc;
    switch (op.count) {
        case kSemget: rc = ::semget(rt_.sem_keys[op.object], static_cast<int>(op.value), flags); break;
        case kShmget: rc = ::shmget(rt_.shm_keys[op.object], static_cast<std::size_t>(op.value), flags); break;
        default: rc = ::msgget(rt_.msg_keys[op.object], flags); break;
    }
    finish(rc, rc < 0 ? errno : 0, false);
    return Attempt::Done;
}

Attempt Agent::sem_control(const Op& op) {
    const int id = rt_.semids[op.object];
    const int member = static_cast<int>(op.slot);
    union {
        int val;
        semid_ds* buf;
        unsigned short* array;
    } arg;
    unsigned short values[kMaxSemTerms * 8];  // a set holds at most 250 members
    semid_ds ds = {};
    int rc;
    stamp_call();  // SETVAL, SETALL and IPC_RMID may wake waiters
    switch (op.count) {
        case kSetval:
            arg.val = static_cast<int>(op.value);
            rc = ::semctl(id, member, SETVAL, arg);
            break;
        case kSetall:
            for (std::uint32_t i = 0; i < plan_.sems[op.object].members.size(); ++i)
                values[i] = static_cast<unsigned short>(plan_.sem_terms[op.first + i].delta);
            arg.array = values;
            rc = ::semctl(id, 0, SETALL, arg);
            break;
        case kGetall:
            arg.array = values;
            rc = ::semctl(id, 0, GETALL, arg);
            break;
        case kIpcStat:
        case kIpcSet:
            arg.buf = &ds;
            rc = ::semctl(id, 0, IPC_STAT, arg);
            if (rc == 0 && op.count == kIpcSet) {
                apply_ipc_set(op, ds.sem_perm);
                rc = ::semctl(id, 0, IPC_SET, arg);
            }
            break;
        case kGetval: rc = ::semctl(id, member, GETVAL); break;
        case kGetncnt: rc = ::semctl(id, member, GETNCNT); break;
        case kGetzcnt: rc = ::semctl(id, member, GETZCNT); break;
        default: rc = ::semctl(id, 0, IPC_RMID); break;
    }
    finish(rc, rc < 0 ? errno : 0, false);
    bind(op, rc);
    // GETALL and IPC_STAT answer with more than one number: they follow as payload.
    if (rc == 0 && op.count == kGetall) {
        std::int32_t out[kMaxSemTerms * 8];
        std::size_t n = plan_.sems[op.object].members.size();
        for (std::size_t i = 0; i < n; ++i) out[i] = values[i];
        data(reinterpret_cast<const char*>(out), n * sizeof(std::int32_t));
    }
    if (rc == 0 && op.count == kIpcStat) {
        SemStat st{static_cast<std::int32_t>(ds.sem_perm.mode & 0777), static_cast<std::int32_t>(ds.sem_perm.uid),
                   static_cast<std::int32_t>(ds.sem_perm.gid), static_cast<std::int32_t>(ds.sem_nsems)};
        data(reinterpret_cast<const char*>(&st), sizeof st);
    }
    return Attempt::Done;
}

// IPC_STAT: the number of attachments and the size; IPC_RMID marks the
// segment for removal: it goes when the last process detaches.
Attempt Agent::shm_control(const Op& op) {
    const int id = rt_.shmids[op.object];
    shmid_ds ds = {};
    int rc = ::shmctl(id, op.count == kIpcRmid ? IPC_RMID : IPC_STAT, op.count == kIpcRmid ? nullptr : &ds);
    if (rc == 0 && op.count == kIpcSet) {
        apply_ipc_set(op, ds.shm_perm);
        rc = ::shmctl(id, IPC_SET, &ds);
    }
    Record& r = begin(EventKind::Op);
    r.e.result = rc;
    r.e.err = rc < 0 ? errno : 0;
    if (rc == 0 && op.count == kIpcStat) {
        r.e.value = static_cast<std::int64_t>(ds.shm_nattch);
        r.e.arg = static_cast<std::int64_t>(ds.shm_segsz);
    }
    commit();
    return Attempt::Done;
}

}  // namespace simrun::detail

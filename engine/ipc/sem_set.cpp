#include "ipc/sem_set.hpp"

#include <fmt/format.h>
#include <sys/sem.h>

namespace simrun {

// Linux leaves union semun to the caller.
union semun {
    int val;
    semid_ds* buf;
    unsigned short* array;
};

Result<SemSet> SemSet::create(const std::vector<int>& initial, key_t key, int mode) {
    int n = static_cast<int>(initial.size());
    int id = semget(key, n, IPC_CREAT | IPC_EXCL | mode);
    if (id < 0) return sys_error(fmt::format("semget(key={:#x}, nsems={}, IPC_CREAT|IPC_EXCL|{:o})", key, n, mode));
    SemSet set(id, n);
    std::vector<unsigned short> values(initial.begin(), initial.end());
    semun arg;
    arg.array = values.data();
    if (semctl(id, 0, SETALL, arg) != 0) return sys_error(fmt::format("semctl(semid={}, SETALL)", id));
    return set;
}

Result<int> SemSet::value(int member) const {
    int v = semctl(id_, member, GETVAL);
    if (v < 0) return sys_error(fmt::format("semctl(semid={}, {}, GETVAL)", id_, member));
    return v;
}

Status SemSet::remove() {
    if (id_ < 0) return ok_status();
    int id = id_;
    id_ = -1;
    if (semctl(id, 0, IPC_RMID) != 0) return sys_error(fmt::format("semctl(semid={}, IPC_RMID)", id));
    return ok_status();
}

}  // namespace simrun

#include "run/leftovers.hpp"

#include "sandbox/sandbox.hpp"

#include <dirent.h>
#include <mqueue.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace simrun {
namespace {

struct SysvObject {
    std::string kind;  // sem, shm, msg
    int id = -1;
    long key = 0;
    unsigned uid = 0;
};

// Columns of /proc/sysvipc/*: key id perms ... and the owner's uid at a
// position that depends on the kind.
std::vector<SysvObject> list_sysv() {
    std::vector<SysvObject> out;
    for (auto [kind, uid_column] : {std::pair{"sem", 4}, std::pair{"shm", 7}, std::pair{"msg", 7}}) {
        std::ifstream f(std::string("/proc/sysvipc/") + kind);
        std::string line;
        std::getline(f, line);  // header
        while (std::getline(f, line)) {
            std::istringstream in(line);
            std::vector<std::string> cols;
            for (std::string c; in >> c;) cols.push_back(c);
            if (cols.size() <= static_cast<std::size_t>(uid_column)) continue;
            out.push_back({kind, std::stoi(cols[1]), std::stol(cols[0]), static_cast<unsigned>(std::stoul(cols[uid_column]))});
        }
    }
    return out;
}

std::vector<std::string> list_dev_shm() {
    std::vector<std::string> out;
    if (DIR* d = opendir("/dev/shm")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') out.push_back(std::string("/dev/shm/") + e->d_name);
        closedir(d);
    }
    return out;
}

// The mqueue file system of this IPC namespace, if one is mounted.
const char* mqueue_dir() {
    constexpr long kMqueueMagic = 0x19800202;
    for (const char* dir : {kRunMqueueDir, "/dev/mqueue"}) {
        struct statfs fs;
        if (statfs(dir, &fs) == 0 && fs.f_type == kMqueueMagic) return dir;
    }
    return nullptr;
}

std::vector<std::string> list_mqueues() {
    std::vector<std::string> out;
    const char* dir = mqueue_dir();
    if (!dir) return out;
    if (DIR* d = opendir(dir)) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') out.push_back(std::string("mqueue /") + e->d_name);
        closedir(d);
    }
    return out;
}

std::string name_of(const SysvObject& o) { return fmt::format("{} {}", o.kind, o.id); }

}  // namespace

IpcSnapshot take_ipc_snapshot() {
    IpcSnapshot s;
    for (const auto& o : list_sysv()) s.objects.insert(name_of(o));
    for (const auto& f : list_dev_shm()) s.objects.insert(f);
    for (const auto& q : list_mqueues()) s.objects.insert(q);
    return s;
}

std::vector<LeftObject> ipc_left_since(const IpcSnapshot& before, const std::set<std::string>& removable) {
    std::vector<LeftObject> left;
    const unsigned me = geteuid();
    for (const auto& o : list_sysv()) {
        const std::string name = name_of(o);
        if (before.objects.count(name)) continue;
        LeftObject l{fmt::format("{} id={} key={:#x}", o.kind, o.id, static_cast<std::uint32_t>(o.key))};
        if (removable.count(name) && o.uid == me) {
            if (o.kind == "sem") l.removed = semctl(o.id, 0, IPC_RMID) == 0;
            else if (o.kind == "shm") l.removed = shmctl(o.id, IPC_RMID, nullptr) == 0;
            else l.removed = msgctl(o.id, IPC_RMID, nullptr) == 0;
        }
        left.push_back(std::move(l));
    }
    for (const auto& f : list_dev_shm()) {
        if (before.objects.count(f)) continue;
        struct stat st;
        const bool mine = removable.count(f) && stat(f.c_str(), &st) == 0 && st.st_uid == me;
        left.push_back({f, mine && unlink(f.c_str()) == 0});
    }
    auto queue_name = [](const std::string& q) { return q.substr(q.find('/')); };  // "mqueue /name" -> "/name"
    if (mqueue_dir()) {
        for (const auto& q : list_mqueues()) {
            if (before.objects.count(q)) continue;
            left.push_back({q, removable.count(q) && mq_unlink(queue_name(q).c_str()) == 0});
        }
        return left;
    }
    // No mqueue file system to list: a queue the run's processes opened and
    // that is still there is taken as theirs (simrun cannot tell whether
    // it was there before).
    for (const auto& q : removable)
        if (q.starts_with("mqueue /") && mq_unlink(queue_name(q).c_str()) == 0) left.push_back({q, true});
    return left;
}

}  // namespace simrun

#include "run/registry.hpp"

#include "run/proc_stats.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <ftw.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace simrun {

// A POSIX record lock, not flock: it belongs to the process and is not
// inherited by fork, so the run's scripted processes (forked, never exec'd)
// do not keep a dead supervisor's registry looking alive.
static bool lock(int fd, short type) {
    struct flock l = {};
    l.l_type = type;
    l.l_whence = SEEK_SET;
    return ::fcntl(fd, F_SETLK, &l) == 0;
}

std::string registry_dir() {
    const char* base = std::getenv("XDG_RUNTIME_DIR");
    return fmt::format("{}/simrun-{}", base && *base ? base : "/tmp", geteuid());
}

Result<RunRegistry> RunRegistry::create() {
    RunRegistry r;
    std::string dir = registry_dir();
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error(fmt::format("mkdir({})", dir));
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return Error{fmt::format("{} is not a folder of this user", dir)};
    r.tag_ = fmt::format("{}-{:08x}", getpid(), std::random_device{}());
    r.path_ = fmt::format("{}/{}.run", dir, r.tag_);
    r.fd_ = UniqueFd(::open(r.path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!r.fd_.valid()) return sys_error(fmt::format("open({})", r.path_));
    if (!lock(r.fd_.get(), F_WRLCK)) return sys_error(fmt::format("lock({})", r.path_));
    if (auto st2 = r.add({"tag " + r.tag_}); !st2) return st2.error();
    return r;
}

Status RunRegistry::add(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    if (::write(fd_.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) return sys_error(fmt::format("write({})", path_));
    return ok_status();
}

RunRegistry::~RunRegistry() {
    if (!path_.empty()) ::unlink(path_.c_str());
}

namespace {

// Processes of this user whose environment carries SIMRUN_RUN=tag.
std::vector<pid_t> tagged(const std::string& tag) {
    std::vector<pid_t> out;
    const std::string want = "SIMRUN_RUN=" + tag;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        pid_t pid = std::atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        std::ifstream env(fmt::format("/proc/{}/environ", pid), std::ios::binary);
        std::string var;
        while (std::getline(env, var, '\0'))
            if (var == want) {
                out.push_back(pid);
                break;
            }
    }
    ::closedir(d);
    return out;
}

// Removes a System V object if it is still the one the run made: same key
// (ids are reused) and created by this user.
bool remove_sysv(const std::string& kind, int id, long key, std::string& why) {
    unsigned cuid = 0;
    long now_key = -1;
    if (kind == "sem") {
        semid_ds ds{};
        union {
            int val;
            semid_ds* buf;
        } arg;  // semctl's fourth argument (union semun)
        arg.buf = &ds;
        if (::semctl(id, 0, IPC_STAT, arg) != 0) return why = "gone already", false;
        cuid = ds.sem_perm.cuid, now_key = ds.sem_perm.__key;
    } else if (kind == "shm") {
        shmid_ds ds{};
        if (::shmctl(id, IPC_STAT, &ds) != 0) return why = "gone already", false;
        cuid = ds.shm_perm.cuid, now_key = ds.shm_perm.__key;
    } else {
        msqid_ds ds{};
        if (::msgctl(id, IPC_STAT, &ds) != 0) return why = "gone already", false;
        cuid = ds.msg_perm.cuid, now_key = ds.msg_perm.__key;
    }
    if (cuid != geteuid() || static_cast<key_t>(now_key) != static_cast<key_t>(key)) return why = "now another object", false;
    int rc = kind == "sem" ? ::semctl(id, 0, IPC_RMID) : kind == "shm" ? ::shmctl(id, IPC_RMID, nullptr) : ::msgctl(id, IPC_RMID, nullptr);
    if (rc != 0) return why = std::strerror(errno), false;
    return true;
}

// Whether pid has finished dying: gone, or a zombie (its memory, and with it
// every shared segment it had attached, released).
bool dead(pid_t pid) {
    char path[64], buf[512];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!read_proc_file(path, buf, sizeof buf)) return true;
    const char* close = std::strrchr(buf, ')');
    return close && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X');
}

// SIGKILL only asks: a killed process still holds its attachments until it
// has exited, and a segment removed while attached stays listed until then.
// So wait (a bounded while) for every process killed before removing objects.
void wait_dead(const std::vector<pid_t>& killed) {
    for (int turn = 0; turn < 1000; ++turn) {  // at most 5 s
        bool all = true;
        for (pid_t pid : killed) all = all && dead(pid);
        if (all) return;
        ::usleep(5000);
    }
}

void remove_tree(const std::string& path) {
    ::nftw(path.c_str(), [](const char* p, const struct stat*, int type, FTW*) { return type == FTW_DP ? ::rmdir(p) : ::unlink(p); }, 16,
           FTW_DEPTH | FTW_PHYS);
}

void clean_one(const std::string& file, CleanReport& report) {
    std::ifstream in(file);
    std::string line, tag;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    for (const auto& l : lines)
        if (l.rfind("tag ", 0) == 0) tag = l.substr(4);
    // Processes first: they could otherwise make more, or hold what we remove.
    std::vector<pid_t> killed;
    auto kill_one = [&](pid_t pid) {
        if (std::find(killed.begin(), killed.end(), pid) != killed.end() || ::kill(pid, SIGKILL) != 0) return;
        killed.push_back(pid);
        report.removed.push_back(fmt::format("process {}", pid));
    };
    if (!tag.empty())
        for (pid_t pid : tagged(tag)) kill_one(pid);
    for (const auto& l : lines) {
        std::istringstream words(l);
        std::string what, kind, arg;
        words >> what;
        if (what == "pid") {
            pid_t pid = 0;
            std::uint64_t started = 0;
            words >> pid >> started;
            if (pid > 0 && start_time(pid) == started) kill_one(pid);
        }
    }
    wait_dead(killed);
    for (const auto& l : lines) {
        std::istringstream words(l);
        std::string what, kind, arg;
        words >> what;
        if (what == "sysv") {
            int id = -1;
            long key = 0;
            words >> kind >> id >> key;
            std::string why;
            if (remove_sysv(kind, id, key, why)) report.removed.push_back(fmt::format("{} id={} key={:#x}", kind, id, static_cast<std::uint32_t>(key)));
            else if (why != "gone already") report.failed.push_back(fmt::format("{} id={}: {}", kind, id, why));
        } else if (what == "file") {
            std::getline(words >> std::ws, arg);
            if (::unlink(arg.c_str()) == 0) report.removed.push_back(arg);
        } else if (what == "mq") {
            words >> arg;
            if (::mq_unlink(arg.c_str()) == 0) report.removed.push_back("mqueue " + arg);
        } else if (what == "dir") {
            std::getline(words >> std::ws, arg);
            struct stat st;
            if (::lstat(arg.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid()) {
                remove_tree(arg);
                report.removed.push_back(arg);
            }
        }
    }
}

}  // namespace

CleanReport clean_crashed_runs() {
    CleanReport report;
    std::string dir = registry_dir();
    DIR* d = ::opendir(dir.c_str());
    if (!d) return report;
    std::vector<std::string> files;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".run") == 0) files.push_back(dir + "/" + name);
    }
    ::closedir(d);
    for (const auto& f : files) {
        UniqueFd fd(::open(f.c_str(), O_RDWR | O_CLOEXEC));
        if (!fd.valid() || !lock(fd.get(), F_WRLCK)) continue;  // its run is alive
        ++report.runs;
        clean_one(f, report);
        ::unlink(f.c_str());
    }
    return report;
}

}  // namespace simrun

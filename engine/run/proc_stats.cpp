#include "run/proc_stats.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace simrun {
bool read_proc_file(const char* path, char* buf, std::size_t size) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = ::read(fd, buf, size - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    return true;
}

bool proc_is_ours() {
    char link[32] = {};
    if (::readlink("/proc/self", link, sizeof link - 1) <= 0) return false;
    return std::atoi(link) == getpid();
}

std::int64_t processes_of_user(uid_t uid) {
    std::int64_t n = 0;
    DIR* d = ::opendir("/proc");
    if (!d) return 0;
    char path[300];
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        std::snprintf(path, sizeof path, "/proc/%s", e->d_name);
        struct stat st;
        if (::stat(path, &st) == 0 && st.st_uid == uid) ++n;
    }
    ::closedir(d);
    return n;
}

namespace {

struct ProcEntry {
    pid_t pid, ppid, pgrp;
    char state;
};

// Every process /proc shows, with its state, parent and group.
std::vector<ProcEntry> all_processes() {
    std::vector<ProcEntry> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    char path[300], buf[512];
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (!read_proc_file(path, buf, sizeof buf)) continue;
        // pid (comm) state ppid pgrp ...: comm may hold spaces and ')'.
        const char* close = std::strrchr(buf, ')');
        ProcEntry p{static_cast<pid_t>(std::atoi(e->d_name)), 0, 0, 0};
        if (close && std::sscanf(close + 1, " %c %d %d", &p.state, &p.ppid, &p.pgrp) == 3) out.push_back(p);
    }
    ::closedir(d);
    return out;
}

}  // namespace

namespace {

// Walks the tree below roots through a parent -> children index (a fork
// bomb's tens of thousands of entries stay one pass each).
template <typename Visit>
void walk_below(const std::vector<ProcEntry>& all, std::vector<pid_t> todo, Visit visit) {
    std::unordered_map<pid_t, std::vector<std::size_t>> children;
    for (std::size_t i = 0; i < all.size(); ++i) children[all[i].ppid].push_back(i);
    while (!todo.empty()) {
        const pid_t parent = todo.back();
        todo.pop_back();
        auto it = children.find(parent);
        if (it == children.end()) continue;
        for (std::size_t i : it->second) {
            visit(all[i]);
            todo.push_back(all[i].pid);
        }
    }
}

}  // namespace

std::vector<Descendant> descendants(const std::vector<pid_t>& roots) {
    std::vector<Descendant> out;
    walk_below(all_processes(), roots, [&](const ProcEntry& p) { out.push_back({p.pid, p.state == 'Z'}); });
    return out;
}

Census take_census(pid_t root) {
    Census c;
    const std::vector<ProcEntry> all = all_processes();
    for (const ProcEntry& p : all)
        if (p.state != 'Z') ++c.per_group[p.pgrp];
    walk_below(all, {root}, [&](const ProcEntry& p) {
        if (p.state != 'Z') c.live_below.push_back(p.pid);
    });
    return c;
}

std::uint64_t start_time(pid_t pid) {
    char path[64], buf[1024];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    if (!read_proc_file(path, buf, sizeof buf)) return 0;
    const char* p = std::strrchr(buf, ')');
    // Fields after comm: 3 state ... 22 starttime, i.e. the 20th after ')'.
    for (int field = 0; p && field < 20; ++field) p = std::strchr(p + 1, ' ');
    return p ? std::strtoull(p + 1, nullptr, 10) : 0;
}

bool runs_our_binary(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/exe", static_cast<int>(pid));
    struct stat theirs, ours;
    return ::stat(path, &theirs) == 0 && ::stat("/proc/self/exe", &ours) == 0 && theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

std::int64_t vm_peak_kb(pid_t pid) {
    char path[64], buf[4096];
    std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
    if (!read_proc_file(path, buf, sizeof buf)) return 0;
    const char* at = std::strstr(buf, "\nVmPeak:");
    return at ? std::atoll(at + 8) : 0;
}

bool signal_may_come(pid_t pid) {
    char path[64], buf[4096];
    std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
    if (!read_proc_file(path, buf, sizeof buf)) return false;
    auto field = [&](const char* name) -> std::uint64_t {
        const char* at = std::strstr(buf, name);
        return at ? std::strtoull(at + std::strlen(name), nullptr, 16) : 0;
    };
    const char* state = std::strstr(buf, "\nState:");
    const char s = state ? state[8 + std::strspn(state + 8, " \t")] : 'X';
    if (s == 'R') return true;  // running, or delivering it right now
    if (s != 'S' && s != 'D') return false;  // stopped, or dead
    return ((field("\nSigPnd:") | field("\nShdPnd:")) & ~field("\nSigBlk:")) != 0;
}

}  // namespace simrun

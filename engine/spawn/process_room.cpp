#include "spawn/process_room.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace simrun {
namespace {

long read_number(const char* path) {
    long v = -1;
    if (FILE* f = std::fopen(path, "r")) {
        if (std::fscanf(f, "%ld", &v) != 1) v = -1;
        std::fclose(f);
    }
    return v;
}

// Processes now running: all of them, and the real user's.
void count_processes(long& all, long& mine) {
    all = mine = 0;
    DIR* d = ::opendir("/proc");
    if (!d) return;
    const uid_t uid = ::getuid();
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        ++all;
        struct stat st{};
        if (::fstatat(::dirfd(d), e->d_name, &st, 0) == 0 && st.st_uid == uid) ++mine;
    }
    ::closedir(d);
}

}  // namespace

std::string process_room_problem(std::size_t wanted) {
    constexpr long kMargin = 16;  // the sandbox's and the supervisor's own
    long all = 0, mine = 0;
    count_processes(all, mine);
    const long need = static_cast<long>(wanted) + kMargin;
    rlimit lim{};
    if (::geteuid() != 0 && ::getrlimit(RLIMIT_NPROC, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        static_cast<long>(lim.rlim_cur) - mine < need)
        return fmt::format("the run needs {} processes, and your process limit (RLIMIT_NPROC, ulimit -u) is {} with {} running; raise it "
                           "(ulimit -u {}) or declare fewer",
                           wanted, lim.rlim_cur, mine, mine + need);
    for (const char* file : {"/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"}) {
        const long max = read_number(file);
        if (max > 0 && max - all < need)
            return fmt::format("the run needs {} processes, and this machine allows {} ({}) with {} running; raise {} or declare fewer", wanted,
                               max, file, all, file);
    }
    return "";
}

}  // namespace simrun

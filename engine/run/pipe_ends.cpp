#include "run/pipe_ends.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>

namespace simrun {
namespace {

// The access mode of /proc/PID/fdinfo/FD ("flags:" is octal); -1 if unknown.
int access_mode(pid_t pid, const char* fd) {
    std::ifstream info(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
    std::string key;
    while (info >> key)
        if (key == "flags:") {
            std::string octal;
            info >> octal;
            return static_cast<int>(std::stol(octal, nullptr, 8) & O_ACCMODE);
        }
    return -1;
}

}  // namespace

std::string fd_target(pid_t pid, int fd) {
    char buf[512];
    const ssize_t n = ::readlink(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::vector<int> ends_held(const std::vector<pid_t>& pids, const std::string& target, bool write_end) {
    std::vector<int> out;
    if (target.empty()) return out;
    for (std::size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] <= 0) continue;
        DIR* d = ::opendir(fmt::format("/proc/{}/fd", pids[i]).c_str());
        if (!d) continue;
        bool holds = false;
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.' || fd_target(pids[i], std::atoi(e->d_name)) != target) continue;
            const int mode = access_mode(pids[i], e->d_name);
            if (mode == O_RDWR || mode == (write_end ? O_WRONLY : O_RDONLY)) holds = true;
        }
        ::closedir(d);
        if (holds) out.push_back(static_cast<int>(i));
    }
    return out;
}

}  // namespace simrun

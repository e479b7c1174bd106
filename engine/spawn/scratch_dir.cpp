#include "spawn/scratch_dir.hpp"

#include <fmt/format.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace simrun {

Result<ScratchDir> ScratchDir::create(bool in_sandbox) {
    ScratchDir d;
    if (in_sandbox) {
        d.path_ = "/dev/shm/.work";
        if (::mkdir(d.path_.c_str(), 0777) != 0) return sys_error(fmt::format("mkdir({})", d.path_));
        return d;
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = fmt::format("{}/simrun-work-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!::mkdtemp(templ.data())) return sys_error(fmt::format("mkdtemp({})", templ));
    d.path_ = templ;
    return d;
}

ScratchDir& ScratchDir::operator=(ScratchDir&& o) noexcept {
    if (this != &o) {
        (void)remove();
        path_ = std::exchange(o.path_, {});
    }
    return *this;
}

Status ScratchDir::remove() {
    if (path_.empty()) return ok_status();
    // Depth first, not following links; a folder a program made unreadable
    // is opened up first (we own it).
    auto rm = [](const char* p, const struct stat*, int type, FTW*) -> int {
        if (type == FTW_DNR) ::chmod(p, 0700);
        return (type == FTW_DP || type == FTW_DNR) ? ::rmdir(p) : ::unlink(p);
    };
    int rc = ::nftw(path_.c_str(), rm, 16, FTW_DEPTH | FTW_PHYS);
    std::string path = std::exchange(path_, {});
    if (rc != 0 && errno != ENOENT) return sys_error(fmt::format("remove {}", path));
    return ok_status();
}

}  // namespace simrun

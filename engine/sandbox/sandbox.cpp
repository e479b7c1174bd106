#include "sandbox/sandbox.hpp"

#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace simrun {
namespace {

enum Stage : std::uint8_t { kReady = 0, kParentGone, kSetgroups, kUidMap, kGidMap, kMountPrivate, kMountShm, kStageCount };
const char* const kStageNames[] = {"ready", "parent exited", "write /proc/self/setgroups", "write /proc/self/uid_map",
                                   "write /proc/self/gid_map", "make mounts private", "mount tmpfs on /dev/shm"};

bool write_file(const char* path, const char* text) {
    UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return false;
    std::size_t n = std::strlen(text);
    return ::write(fd.get(), text, n) == static_cast<ssize_t>(n);
}

struct Report {
    std::uint8_t stage;
    int err;
};

void report(int fd, Stage stage, int err) {
    Report r{stage, err};
    (void)!::write(fd, &r, sizeof r);
}

// In the child of clone(): become root of the new user namespace, give the
// run private mounts, then tell the parent. Returns false on failure (reported).
bool setup_namespaces(int status_fd, uid_t uid, gid_t gid) {
    char map[64];
    if (!write_file("/proc/self/setgroups", "deny")) return report(status_fd, kSetgroups, errno), false;
    std::snprintf(map, sizeof map, "0 %u 1", uid);
    if (!write_file("/proc/self/uid_map", map)) return report(status_fd, kUidMap, errno), false;
    std::snprintf(map, sizeof map, "0 %u 1", gid);
    if (!write_file("/proc/self/gid_map", map)) return report(status_fd, kGidMap, errno), false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return report(status_fd, kMountPrivate, errno), false;
    if (::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
        return report(status_fd, kMountShm, errno), false;
    // A /proc of this PID namespace, so /proc/self and pids agree; optional.
    (void)::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    return true;
}

[[noreturn]] void child_main(SandboxMode mode, const std::string& note, int alive_fd, int status_fd, uid_t uid,
                             gid_t gid, const InnerBody& body) {
    // Die with simrun: SIGKILL tears the namespaces down; without them the
    // supervisor gets SIGTERM and cleans up what it created.
    prctl(PR_SET_PDEATHSIG, mode == SandboxMode::Namespaces ? SIGKILL : SIGTERM);
    pollfd p{alive_fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) report(status_fd, kParentGone, 0), _exit(3);  // parent died before PDEATHSIG
    if (mode == SandboxMode::Namespaces && !setup_namespaces(status_fd, uid, gid)) _exit(3);
    if (mode == SandboxMode::None) prctl(PR_SET_CHILD_SUBREAPER, 1);
    // Out of the terminal's foreground group: Ctrl-C reaches simrun, which
    // asks the supervisor to stop, rather than every process of the run.
    setpgid(0, 0);
    report(status_fd, kReady, 0);
    ::close(status_fd);
    ::close(alive_fd);
    int code = body(mode, note);
    std::fflush(nullptr);
    _exit(code);
}

Result<Inner> start(SandboxMode mode, const std::string& note, const InnerBody& body) {
    int alive[2], status[2];
    if (pipe2(alive, O_CLOEXEC) != 0 || pipe2(status, O_CLOEXEC) != 0) return sys_error("pipe2(sandbox)");
    UniqueFd alive_r(alive[0]), alive_w(alive[1]), status_r(status[0]), status_w(status[1]);
    uid_t uid = geteuid();
    gid_t gid = getegid();
    std::fflush(nullptr);
    pid_t pid = mode == SandboxMode::Namespaces
                    ? static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS | SIGCHLD,
                                                 nullptr, nullptr, nullptr, nullptr))
                    : fork();
    if (pid < 0) return sys_error(mode == SandboxMode::Namespaces ? "clone(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWNS)" : "fork()");
    if (pid == 0) {
        alive_w.reset();
        status_r.reset();
        child_main(mode, note, alive_r.get(), status_w.get(), uid, gid, body);
    }
    // The parent keeps alive_w open for as long as it lives.
    status_w.reset();
    Report r{kParentGone, 0};
    ssize_t n;
    do n = ::read(status_r.get(), &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n == sizeof r && r.stage == kReady) {
        alive_w.release();  // deliberately left open until simrun exits
        return Inner{pid, mode};
    }
    int st;
    waitpid(pid, &st, 0);
    const char* stage = r.stage < kStageCount ? kStageNames[r.stage] : "?";
    return Error{fmt::format("{}: {}", stage, r.err ? std::strerror(r.err) : "no report")};
}

}  // namespace

Result<Inner> start_inner(bool want_namespaces, const InnerBody& body) {
    std::string note = "disabled by --no-sandbox";
    if (want_namespaces) {
        auto inner = start(SandboxMode::Namespaces, {}, body);
        if (inner) return inner;
        note = "namespaces unavailable: " + inner.error().message;
    }
    return start(SandboxMode::None, note, body);
}

}  // namespace simrun

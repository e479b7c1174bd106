#include "sandbox/sandbox.hpp"

#include "util/exit_code.hpp"
#include "util/unique_fd.hpp"
#include "util/wait_status.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <fmt/format.h>

namespace simrun {
namespace {

enum Stage : std::uint8_t {
    kReady = 0, kParentGone, kUnshare, kSetgroups, kUidMap, kGidMap, kMountPrivate, kMountShm, kMountTmp, kBindWritable, kReadOnly,
    kForkInner, kStageCount
};
const char* const kStageNames[] = {"ready", "parent exited", "unshare(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWNS|CLONE_NEWNET)",
                                   "write /proc/self/setgroups", "write /proc/self/uid_map", "write /proc/self/gid_map",
                                   "make mounts private", "mount tmpfs on /dev/shm", "mount tmpfs on /tmp",
                                   "bind a writable folder into the sandbox", "make the host's files read-only", "fork the supervisor"};

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

// Dies with its parent; returns false if the parent is already gone (it
// died before PDEATHSIG was set: its end of the alive pipe has closed).
bool tie_to_parent(int alive_fd, int signal) {
    prctl(PR_SET_PDEATHSIG, signal);
    pollfd p{alive_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

// Makes `path` and its parents (mkdir -p); in the sandbox's fresh /tmp or
// /dev/shm the folders of a writable path are not there yet.
bool make_folders(const std::string& path) {
    for (std::size_t at = 1; at <= path.size(); ++at) {
        if (at != path.size() && path[at] != '/') continue;
        if (::mkdir(path.substr(0, at).c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
    return true;
}

// mount_setattr(2) (Linux 5.12), by number: glibc 2.36's <sys/mount.h>
// and <linux/mount.h> do not mix.
struct MountAttr {
    std::uint64_t attr_set, attr_clr, propagation, userns_fd;
};
constexpr std::uint64_t kMountAttrRdonly = 0x00000001;
constexpr unsigned kAtRecursive = 0x8000;

int set_read_only(const char* path, bool read_only, bool recursive) {
    MountAttr attr{read_only ? kMountAttrRdonly : 0, read_only ? 0 : kMountAttrRdonly, 0, 0};
    return static_cast<int>(::syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? kAtRecursive : 0u, &attr, sizeof attr));
}

// The folders a run may change, outermost first (a parent bound after its
// child would hide the child's bind), each an O_PATH descriptor opened
// before /tmp and /dev/shm are covered.
struct Writable {
    std::string path;
    UniqueFd fd;
};

// The run's /tmp: the host's files seen through an overlay whose changes
// go to the private /dev/shm (a program in /tmp still runs; what the run
// creates, changes or unlinks there is its own), or, where overlayfs is
// not permitted, an empty tmpfs.
bool private_tmp() {
    const char* upper = "/dev/shm/.tmp-overlay/upper";
    const char* work = "/dev/shm/.tmp-overlay/work";
    struct stat host_tmp = {};
    if (::stat("/tmp", &host_tmp) == 0 && make_folders(upper) && make_folders(work) && ::chmod(upper, host_tmp.st_mode & 07777) == 0) {
        const std::string options = fmt::format("lowerdir=/tmp,upperdir={},workdir={},userxattr", upper, work);
        if (::mount("overlay", "/tmp", "overlay", MS_NOSUID | MS_NODEV, options.c_str()) == 0) return true;
    }
    return ::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0;
}

// In the relay: new namespaces, the run's uid, private mounts: a fresh
// /dev/shm and /tmp, the writable folders bound at their paths, and every
// other mount read-only. Returns false on failure (reported).
bool enter_namespaces(int status_fd, uid_t uid, gid_t gid, const std::vector<std::string>& writable, bool root) {
    // CLONE_NEWNET: the run has no network, only a loopback device that is down.
    if (::unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET) != 0) return report(status_fd, kUnshare, errno), false;
    char map[64];
    const unsigned inside = root ? 0 : kSandboxUid;
    if (!write_file("/proc/self/setgroups", "deny")) return report(status_fd, kSetgroups, errno), false;
    std::snprintf(map, sizeof map, "%u %u 1", inside, uid);
    if (!write_file("/proc/self/uid_map", map)) return report(status_fd, kUidMap, errno), false;
    std::snprintf(map, sizeof map, "%u %u 1", inside, gid);
    if (!write_file("/proc/self/gid_map", map)) return report(status_fd, kGidMap, errno), false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return report(status_fd, kMountPrivate, errno), false;
    // The folder simrun was started in, found again once the mounts below
    // change what its path leads to (relative --out paths resolve there).
    char cwd[4096];
    const bool have_cwd = ::getcwd(cwd, sizeof cwd) != nullptr;
    // Opened in the new mount namespace (a bind's source must be in it),
    // before the fresh /tmp and /dev/shm cover them.
    std::vector<Writable> keep;
    for (const auto& w : writable) {
        UniqueFd fd(::open(w.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!fd.valid()) return report(status_fd, kBindWritable, errno), false;
        keep.push_back({w, std::move(fd)});
    }
    if (::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
        return report(status_fd, kMountShm, errno), false;
    if (!private_tmp()) return report(status_fd, kMountTmp, errno), false;
    for (const auto& w : keep) {
        const std::string from = "/proc/self/fd/" + std::to_string(w.fd.get());
        if (!make_folders(w.path) || ::mount(from.c_str(), w.path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            return report(status_fd, kBindWritable, errno), false;
    }
    // Everything read-only, then the run's own places writable again. A
    // folder that was read-only on the host already stays so (its flag is
    // locked): writing there fails as it would outside.
    if (set_read_only("/", true, true) != 0) return report(status_fd, kReadOnly, errno), false;
    if (set_read_only("/dev/shm", false, false) != 0 || set_read_only("/tmp", false, false) != 0)
        return report(status_fd, kReadOnly, errno), false;
    for (const auto& w : keep) (void)set_read_only(w.path.c_str(), false, true);
    if (have_cwd) (void)::chdir(cwd);
    // The run's own POSIX message queues, listed to find what processes
    // left behind. Inside the private /dev/shm, so it goes with the run;
    // without it simrun only misses leftover queues.
    if (::mkdir(kRunMqueueDir, 0700) == 0)
        (void)::mount("mqueue", kRunMqueueDir, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    return true;
}

// A fork bomb makes thousands of runnable processes, and a fair scheduler
// would give the supervisor one share among them: it could not stop them.
// Where we may (root, before entering a user namespace, which drops our
// say over the machine's scheduler), the relay and the supervisor start
// SCHED_RR at the lowest real-time priority; the supervisor hands it to
// the one thread that watches process groups (run/limit_watch) and goes
// back to the normal scheduler itself. Unprivileged runs need no such
// help: RLIMIT_NPROC holds for them.
void take_realtime_priority() {
    sched_param low = {};
    low.sched_priority = 1;
    (void)::sched_setscheduler(0, SCHED_RR, &low);
}

[[noreturn]] void run_supervisor(SandboxMode mode, const std::string& note, int status_fd, const InnerBody& body) {
    if (mode == SandboxMode::Namespaces) {
        // A /proc of the new PID namespace, so /proc/self and pids agree; optional.
        (void)::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    } else {
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }
    report(status_fd, kReady, 0);
    ::close(status_fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int code = body(mode, note);
    std::fflush(nullptr);
    _exit(code);
}

// The relay between simrun and the supervisor in namespaces: it enters the
// namespaces (a process cannot move itself into a new PID namespace; its
// children are born there), forks the supervisor as PID 1, passes stop
// requests on, and exits with the supervisor's code.
[[noreturn]] void relay_main(int alive_fd, int status_fd, uid_t uid, gid_t gid, const std::vector<std::string>& writable, bool root,
                             const InnerBody& body) {
    if (!tie_to_parent(alive_fd, SIGKILL)) report(status_fd, kParentGone, 0), _exit(code_of(ExitCode::Internal));
    if (!enter_namespaces(status_fd, uid, gid, writable, root)) _exit(code_of(ExitCode::Internal));
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    pid_t inner = fork();
    if (inner < 0) report(status_fd, kForkInner, errno), _exit(code_of(ExitCode::Internal));
    if (inner == 0) {
        // PID 1 of the run. The kernel kills the whole namespace when it dies.
        if (!tie_to_parent(alive_fd, SIGKILL)) _exit(code_of(ExitCode::Internal));
        ::close(alive_fd);
        run_supervisor(SandboxMode::Namespaces, {}, status_fd, body);
    }
    ::close(status_fd);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&mask, &si);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) ::kill(inner, SIGTERM);
        int status;
        if (sig == SIGCHLD && waitpid(inner, &status, WNOHANG) == inner) {
            const WaitStatus st(status);
            if (st.exited()) _exit(st.code());
            // The relay is simrun's own process (it never execs): words as everywhere.
            std::fprintf(stderr, "simrun: error: the supervisor was %s\n", st.describe().c_str());
            _exit(code_of(ExitCode::Internal));
        }
    }
}

Result<Inner> start(SandboxMode mode, const std::string& note, const std::vector<std::string>& writable, bool root, const InnerBody& body) {
    int alive[2], status[2];
    if (pipe2(alive, O_CLOEXEC) != 0 || pipe2(status, O_CLOEXEC) != 0) return sys_error("pipe2(sandbox)");
    UniqueFd alive_r(alive[0]), alive_w(alive[1]), status_r(status[0]), status_w(status[1]);
    uid_t uid = geteuid();
    gid_t gid = getegid();
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork()");
    if (pid == 0) {
        alive_w.reset();
        status_r.reset();
        // Out of the terminal's foreground group: Ctrl-C reaches simrun, which
        // asks the supervisor to stop, rather than every process of the run.
        setpgid(0, 0);
        if (geteuid() == 0) take_realtime_priority();
        if (mode == SandboxMode::Namespaces) relay_main(alive_r.get(), status_w.get(), uid, gid, writable, root, body);
        // Without namespaces the supervisor is this child; SIGTERM on
        // simrun's death lets it remove what it created.
        if (!tie_to_parent(alive_r.get(), SIGTERM)) _exit(code_of(ExitCode::Internal));
        alive_r.reset();
        run_supervisor(SandboxMode::None, note, status_w.release(), body);
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
    if (r.err) return sys_error(stage, r.err);
    return Error{fmt::format("{}: no report", stage)};
}

}  // namespace

Result<Inner> start_inner(bool want_namespaces, const SandboxSpec& spec, const InnerBody& body) {
    std::string note = "disabled by --no-sandbox";
    if (want_namespaces) {
        // Canonical (a symlink in a path would be bound where it points),
        // existing, each once, outermost first.
        std::vector<std::string> writable;
        std::error_code ec;
        for (const auto& w : spec.writable) {
            auto c = std::filesystem::canonical(w, ec);
            if (!ec && std::filesystem::is_directory(c, ec)) writable.push_back(c.string());
        }
        auto out = std::filesystem::canonical(spec.out_dir, ec);
        if (ec) return Error{fmt::format("the output folder {}: {}", spec.out_dir, ec.message())};
        writable.push_back(out.string());
        std::sort(writable.begin(), writable.end(), [](const auto& a, const auto& b) { return std::make_pair(a.size(), a) < std::make_pair(b.size(), b); });
        writable.erase(std::unique(writable.begin(), writable.end()), writable.end());
        auto inner = start(SandboxMode::Namespaces, {}, writable, spec.root, body);
        if (inner) return inner;
        note = "namespaces unavailable: " + inner.error().message;
    }
    return start(SandboxMode::None, note, {}, false, body);
}

}  // namespace simrun

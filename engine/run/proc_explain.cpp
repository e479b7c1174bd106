#include "run/proc_explain.hpp"

#include "run/proc_stats.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace simrun {
namespace {

bool read_small(const std::string& path, char* buf, std::size_t size) { return read_proc_file(path.c_str(), buf, size); }

const char* state_name(char s) {
    switch (s) {
        case 'R': return "running";
        case 'S': return "sleeping";
        case 'D': return "in uninterruptible sleep";
        case 'T': return "stopped";
        case 't': return "stopped by a tracer";
        case 'Z': return "a zombie";
        default: return "in state ?";
    }
}

// The blocking calls a course program makes, by x86-64 number.
const char* syscall_name(long nr) {
#if defined(__x86_64__)
    switch (nr) {
        case SYS_read: return "read";
        case SYS_write: return "write";
        case SYS_openat: return "openat";
        case SYS_poll: return "poll";
        case SYS_ppoll: return "ppoll";
        case SYS_select: return "select";
        case SYS_pselect6: return "pselect6";
        case SYS_pause: return "pause";
        case SYS_nanosleep: return "nanosleep";
        case SYS_clock_nanosleep: return "clock_nanosleep";
        case SYS_semop: return "semop";
        case SYS_semtimedop: return "semtimedop";
        case SYS_msgsnd: return "msgsnd";
        case SYS_msgrcv: return "msgrcv";
        case SYS_mq_timedsend: return "mq_timedsend";
        case SYS_mq_timedreceive: return "mq_timedreceive";
        case SYS_futex: return "futex";
        case SYS_wait4: return "wait4";
        case SYS_waitid: return "waitid";
        case SYS_rt_sigsuspend: return "sigsuspend";
        case SYS_rt_sigtimedwait: return "sigtimedwait";
        case SYS_accept: return "accept";
        case SYS_epoll_wait: return "epoll_wait";
        default: return nullptr;
    }
#else
    (void)nr;
    return nullptr;
#endif
}

std::string fd_target(pid_t pid, long fd) {
    char link[256] = {};
    ssize_t n = ::readlink(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), link, sizeof link - 1);
    return n > 0 ? std::string(link, static_cast<std::size_t>(n)) : "?";
}

std::string set_name(const IdNames& names, int semid, std::size_t* index) {
    for (std::size_t i = 0; i < names.semids.size(); ++i)
        if (names.semids[i].first == semid) return *index = i, names.semids[i].second;
    return *index = SIZE_MAX, "";
}

// Reads pid's pending sembufs (n at most 16); 0 when unreadable.
std::size_t read_sops(pid_t pid, const long* args, sembuf* sops) {
    const std::size_t nsops = static_cast<std::size_t>(args[2]);
    const std::size_t n = nsops < 16 ? nsops : 16;
    iovec local{sops, n * sizeof(sembuf)}, remote{reinterpret_cast<void*>(args[1]), n * sizeof(sembuf)};
    if (n == 0 || ::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(n * sizeof(sembuf))) return 0;
    return n;
}

// semop/semtimedop(semid, sops, nsops): each operation with the value and
// the waiters of its semaphore, read from the kernel.
std::string explain_semop(pid_t pid, const long* args, const IdNames& names) {
    const int semid = static_cast<int>(args[0]);
    std::size_t index;
    std::string set = set_name(names, semid, &index);
    std::string out = fmt::format("semid {}{}", semid, set.empty() ? "" : " = " + set);
    sembuf sops[16];
    const std::size_t n = read_sops(pid, args, sops);
    if (n == 0) return out;
    std::string ops, state;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned short num = sops[i].sem_num;
        std::string member = index != SIZE_MAX && num < names.members[index].size() ? names.members[index][num] : fmt::format("#{}", num);
        ops += fmt::format("{}{} {:+d}", i ? ", " : "", member, sops[i].sem_op);
        int value = ::semctl(semid, num, GETVAL);
        int waiting = ::semctl(semid, num, sops[i].sem_op == 0 ? GETZCNT : GETNCNT);
        if (value >= 0)
            state += fmt::format("{}{}.{} = {}, {} waiting", state.empty() ? "" : "; ", set.empty() ? fmt::format("semid {}", semid) : set,
                                 member, value, waiting);
    }
    return fmt::format("{}, [{}]): {}", out, ops, state);
}

std::string explain_msg(long nr, const long* args, const IdNames& names) {
    const int msqid = static_cast<int>(args[0]);
    std::string name;
    for (const auto& [id, n] : names.msqids)
        if (id == msqid) name = " = " + n;
    msqid_ds ds = {};
    std::string stat = ::msgctl(msqid, IPC_STAT, &ds) == 0
                           ? fmt::format(": {} messages, {} of {} bytes", ds.msg_qnum, ds.__msg_cbytes, ds.msg_qbytes)
                           : "";
    if (nr == SYS_msgrcv) return fmt::format("msqid {}{}, type {}){}", msqid, name, args[3], stat);
    return fmt::format("msqid {}{}, {} bytes){}", msqid, name, args[2], stat);
}

}  // namespace

// What pid is doing: its state letter, and when sleeping the system call it
// is in with its first arguments (nr -1 when unknown). False if it is gone.
struct Call {
    char state = '?';
    long nr = -1;
    long args[6] = {};
};
static bool current_call(pid_t pid, Call& c) {
    char buf[512];
    if (!read_small(fmt::format("/proc/{}/stat", pid), buf, sizeof buf)) return false;
    const char* close = std::strrchr(buf, ')');
    c.state = close && close[1] == ' ' ? close[2] : '?';
    if ((c.state != 'S' && c.state != 'D') || !read_small(fmt::format("/proc/{}/syscall", pid), buf, sizeof buf)) return true;
    unsigned long a[6] = {};
    if (std::sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx", &c.nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]) < 4) c.nr = -1;
    for (int i = 0; i < 6; ++i) c.args[i] = static_cast<long>(a[i]);
    return true;
}

// Bytes waiting in the pipe or FIFO a process holds as fd; -1 if unknown.
// Opened afresh through /proc for reading: an extra reader changes nothing
// for the process blocked in read, and it is closed at once.
static int pipe_bytes(pid_t pid, long fd) {
    const int mine = ::open(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (mine < 0) return -1;
    int n = -1;
    if (::ioctl(mine, FIONREAD, &n) != 0) n = -1;
    ::close(mine);
    return n;
}

ProgramWait program_wait(pid_t pid, int* fd) {
    Call c;
    if (!current_call(pid, c) || c.state != 'S') return ProgramWait::Unknown;
    const long* args = c.args;
#if defined(__x86_64__)
    if (c.nr == SYS_wait4 || c.nr == SYS_waitid) return ProgramWait::Children;
    if (c.nr == SYS_read) {
        struct stat st;
        if (::stat(fmt::format("/proc/{}/fd/{}", pid, args[0]).c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) return ProgramWait::Unknown;
        if (pipe_bytes(pid, args[0]) != 0) return ProgramWait::Unknown;  // it is about to get them
        if (fd) *fd = static_cast<int>(args[0]);
        return ProgramWait::PipeRead;
    }
    if (c.nr != SYS_semop && c.nr != SYS_semtimedop) return ProgramWait::Unknown;
    if (c.nr == SYS_semtimedop && args[3] != 0) return ProgramWait::Unknown;  // a timeout ends it anyway
    sembuf sops[16];
    const std::size_t n = read_sops(pid, args, sops);
    if (n == 0) return ProgramWait::Unknown;
    for (std::size_t i = 0; i < n; ++i) {
        int v = ::semctl(static_cast<int>(args[0]), sops[i].sem_num, GETVAL);
        if (v < 0) return ProgramWait::Unknown;
        if ((sops[i].sem_op < 0 && v < -sops[i].sem_op) || (sops[i].sem_op == 0 && v != 0)) return ProgramWait::Semop;
    }
#endif
    return ProgramWait::Unknown;  // it could proceed: it is about to
}

std::string explain_process(pid_t pid, const IdNames& names) {
    Call c;
    if (!current_call(pid, c)) return "";
    std::string out = state_name(c.state);
    if ((c.state != 'S' && c.state != 'D') || c.nr < 0) return out;
    const long nr = c.nr;
    const long* args = c.args;
    const char* name = syscall_name(nr);
    if (!name) return fmt::format("{} in system call {}", out, nr);
#if defined(__x86_64__)
    if (nr == SYS_semop || nr == SYS_semtimedop) return fmt::format("{} in {}({}", out, name, explain_semop(pid, args, names));
    if (nr == SYS_msgrcv || nr == SYS_msgsnd) return fmt::format("{} in {}({}", out, name, explain_msg(nr, args, names));
    if (nr == SYS_read || nr == SYS_write || nr == SYS_mq_timedreceive || nr == SYS_mq_timedsend)
        return fmt::format("{} in {}(fd {} = {})", out, name, args[0], fd_target(pid, args[0]));
    if (nr == SYS_wait4 || nr == SYS_waitid) return fmt::format("{} in {} (for a child)", out, name);
    if (nr == SYS_futex) return fmt::format("{} in futex (sem_wait, a mutex or a condition variable)", out);
#endif
    return fmt::format("{} in {}", out, name);
}

}  // namespace simrun

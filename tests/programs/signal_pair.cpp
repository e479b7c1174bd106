// Signals between programs, for controlled mode's settling of deliveries.
//   signal_pair catch SEMKEY QKEY ROUNDS   handles SIGUSR1, posts its pid on
//       the queue (type 1), then takes ROUNDS Ps on semaphore 0; prints how
//       many SIGUSR1s its handler caught.
//   signal_pair victim QKEY               posts its pid (type 2), then waits
//       in pause() with SIGTERM at its default: a SIGTERM ends it.
//   signal_pair send SEMKEY QKEY ROUNDS    reads both pids; each round sends
//       SIGUSR1 to the catcher and SIGUSR2 to its own parent, then Vs
//       semaphore 0; at the end it sends SIGTERM to the victim.
//   signal_pair waits SEMKEY              blocks SIGUSR1 and SIGUSR2, posts 1
//       on semaphore 0, then sigsuspends until its SIGUSR1 handler has run,
//       takes SIGUSR2 with sigwait, sleeps 1 ms twice (usleep, nanosleep)
//       and prints what it saw.
//   signal_pair alarm                     handles SIGALRM, sets alarm(1)
//       twice (the second says what the first had left), pauses until it
//       rings, and prints that.
//   signal_pair wake [raise]              blocks in a P on a semaphore of
//       its own; a timer's SIGALRM handler Vs it (a handler's call made
//       while the program is inside a traced one); prints how many times
//       the P was interrupted. With "raise", the program raises SIGALRM
//       itself before its P (the handler runs inside raise()).
//   signal_pair jump [raise|alarm]        blocks in a P that nothing Vs; a
//       timer's SIGALRM handler siglongjmps out of it; then a V and a P,
//       and prints "jumped". With "raise" the handler runs inside the
//       program's own raise(SIGALRM) instead, and jumps out of that; with
//       "alarm" the P waits for an alarm(1) (the classic timeout); with
//       "altstack" the timer's handler runs on a sigaltstack; with "inner"
//       the handler jumps only within itself, then Vs and returns (the P
//       ends in EINTR, then succeeds).
#include <setjmp.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

volatile sig_atomic_t caught = 0;
void on_usr1(int) { caught = caught + 1; }

struct PidMessage {
    long type;
    pid_t pid;
};

int catcher(int sem, int q, int rounds) {
    struct sigaction sa = {};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, nullptr) != 0) return std::perror("sigaction"), 1;
    PidMessage m = {1, getpid()};
    if (msgsnd(q, &m, sizeof m.pid, 0) != 0) return std::perror("msgsnd"), 1;
    sembuf ready = {2, 3, 0};  // three scripted kills may come now
    if (semop(sem, &ready, 1) != 0) return std::perror("semop"), 1;
    for (int i = 0; i < rounds; ++i) {
        sembuf p = {0, -1, 0};
        while (semop(sem, &p, 1) != 0) {  // a handler may interrupt the wait
        }
    }
    std::printf("caught %d\n", static_cast<int>(caught));
    return 0;
}

int victim(int q) {
    PidMessage m = {2, getpid()};
    if (msgsnd(q, &m, sizeof m.pid, 0) != 0) return std::perror("msgsnd"), 1;
    for (;;) pause();
}

int sender(int sem, int q, int rounds) {
    PidMessage c = {}, v = {};
    if (msgrcv(q, &c, sizeof c.pid, 1, 0) < 0 || msgrcv(q, &v, sizeof v.pid, 2, 0) < 0) return std::perror("msgrcv"), 1;
    for (int i = 0; i < rounds; ++i) {
        kill(c.pid, SIGUSR1);
        kill(getppid(), SIGUSR2);
        sembuf post = {0, 1, 0};
        semop(sem, &post, 1);
    }
    kill(v.pid, SIGTERM);
    return 0;
}

int waits(int sem) {
    struct sigaction sa = {};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigset_t both, usr2;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    if (sigaction(SIGUSR1, &sa, nullptr) != 0 || sigprocmask(SIG_BLOCK, &both, nullptr) != 0) return 1;
    sembuf ready = {0, 1, 0};
    if (semop(sem, &ready, 1) != 0) return std::perror("semop"), 1;
    int suspended = sigsuspend(&usr2);  // SIGUSR1 only, until its handler has run
    const bool eintr = suspended == -1 && errno == EINTR;
    int sig = 0;
    if (sigwait(&usr2, &sig) != 0) return std::perror("sigwait"), 1;
    usleep(1000);
    timespec ms = {0, 1'000'000};
    nanosleep(&ms, nullptr);
    std::printf("sigsuspend %s after %d handler run, sigwait %s\n", eintr ? "EINTR" : "?", static_cast<int>(caught),
                sig == SIGUSR2 ? "SIGUSR2" : "?");
    return 0;
}

volatile sig_atomic_t rang = 0;
void on_alarm(int) { rang = 1; }

int alarm_clock() {
    struct sigaction sa = {};
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, nullptr) != 0) return 1;
    alarm(1);
    unsigned left = alarm(1);
    while (!rang) pause();
    std::printf("alarm rang, the first had %u s left\n", left);
    return 0;
}

int woken_sem = -1;
void on_wake(int) {
    const int saved = errno;
    sembuf v = {0, 1, 0};
    semop(woken_sem, &v, 1);
    errno = saved;
}

int wake(bool self) {
    woken_sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (woken_sem < 0) return std::perror("semget"), 1;
    struct sigaction sa = {};
    sa.sa_handler = on_wake;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, nullptr) != 0) return 1;
    itimerval in_50ms = {{0, 0}, {0, 50'000}};
    if (self) raise(SIGALRM);
    else if (setitimer(ITIMER_REAL, &in_50ms, nullptr) != 0) return std::perror("setitimer"), 1;
    int interrupted = 0;
    sembuf p = {0, -1, 0};
    while (semop(woken_sem, &p, 1) != 0) {
        if (errno != EINTR) return std::perror("semop"), 1;
        ++interrupted;
    }
    semctl(woken_sem, 0, IPC_RMID);
    std::printf("woken, interrupted %d\n", interrupted);
    return 0;
}

sigjmp_buf jump_back;
void on_jump(int) { siglongjmp(jump_back, 1); }

int inner_sem = -1;
void on_inner(int) {
    const int saved = errno;
    sigjmp_buf inner;
    if (sigsetjmp(inner, 0) == 0) siglongjmp(inner, 1);
    sembuf v = {0, 1, 0};
    semop(inner_sem, &v, 1);
    errno = saved;
}

int jump(const char* how) {
    const int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (sem < 0) return std::perror("semget"), 1;
    struct sigaction sa = {};
    sa.sa_handler = on_jump;
    sigemptyset(&sa.sa_mask);
    sembuf p = {0, -1, 0}, v = {0, 1, 0};
    if (std::strcmp(how, "inner") == 0) {
        inner_sem = sem;
        sa.sa_handler = on_inner;
        itimerval in_50ms = {{0, 0}, {0, 50'000}};
        if (sigaction(SIGALRM, &sa, nullptr) != 0 || setitimer(ITIMER_REAL, &in_50ms, nullptr) != 0) return 1;
        while (semop(sem, &p, 1) != 0)
            if (errno != EINTR) return std::perror("semop"), 1;
        semctl(sem, 0, IPC_RMID);
        std::printf("jumped inside\n");
        return 0;
    }
    if (std::strcmp(how, "altstack") == 0) {
        static char alt[64 * 1024];
        stack_t ss = {};
        ss.ss_sp = alt;
        ss.ss_size = sizeof alt;
        if (sigaltstack(&ss, nullptr) != 0) return std::perror("sigaltstack"), 1;
        sa.sa_flags = SA_ONSTACK;
    }
    if (sigaction(SIGALRM, &sa, nullptr) != 0) return 1;
    if (sigsetjmp(jump_back, 1) == 0) {
        itimerval in_50ms = {{0, 0}, {0, 50'000}};
        if (std::strcmp(how, "raise") == 0) raise(SIGALRM);  // left by the handler's siglongjmp
        else if (std::strcmp(how, "alarm") == 0) alarm(1);
        else if (setitimer(ITIMER_REAL, &in_50ms, nullptr) != 0) return std::perror("setitimer"), 1;
        semop(sem, &p, 1);  // left by the handler's siglongjmp
        return 1;
    }
    const bool ok = semop(sem, &v, 1) == 0 && semop(sem, &p, 1) == 0;
    semctl(sem, 0, IPC_RMID);
    std::printf(ok ? "jumped\n" : "jumped, then failed\n");
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const char* role = argv[1];
    if (std::strcmp(role, "alarm") == 0) return alarm_clock();
    if (std::strcmp(role, "jump") == 0) return jump(argc > 2 ? argv[2] : "");
    if (std::strcmp(role, "wake") == 0) return wake(argc > 2 && std::strcmp(argv[2], "raise") == 0);
    if (argc < 3) return 2;
    if (std::strcmp(role, "victim") == 0) {
        int q = msgget(std::atoi(argv[2]), 0);
        return q < 0 ? (std::perror("msgget"), 1) : victim(q);
    }
    if (std::strcmp(role, "waits") == 0) {
        int sem = semget(std::atoi(argv[2]), 0, 0);
        return sem < 0 ? (std::perror("semget"), 1) : waits(sem);
    }
    if (argc < 5) return 2;
    int sem = semget(std::atoi(argv[2]), 0, 0);
    int q = msgget(std::atoi(argv[3]), 0);
    if (sem < 0 || q < 0) return std::perror("get"), 1;
    int rounds = std::atoi(argv[4]);
    if (std::strcmp(role, "catch") == 0) return catcher(sem, q, rounds);
    if (std::strcmp(role, "send") == 0) return sender(sem, q, rounds);
    return 2;
}

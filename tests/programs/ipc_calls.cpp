// A student-style program using System V semaphores and queues, a pipe, a
// child, and a signal handler: the preload tracer must show every call.
// argv[1]: the semaphore set's key, argv[2]: the message queue's key.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got = 0;
static void on_usr1(int) { got = got + 1; }

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    int sem = semget(std::atoi(argv[1]), 0, 0);
    int q = msgget(std::atoi(argv[2]), 0);
    if (sem < 0 || q < 0) return std::perror("get"), 1;
    std::signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        char buf[8];
        ssize_t n = read(fds[0], buf, sizeof buf);
        _exit(n == 4 ? 3 : 4);
    }
    if (write(fds[1], "ping", 4) != 4) return 1;
    int status = 0;
    waitpid(child, &status, 0);
    for (int i = 0; i < 2; ++i) {
        sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
        semop(sem, &p, 1);
        semop(sem, &v, 1);
    }
    struct {
        long type;
        char text[16];
    } msg = {2, "hello"}, in = {};
    msgsnd(q, &msg, 6, 0);
    msgrcv(q, &in, sizeof in.text, 2, 0);
    std::printf("%s %d %d\n", in.text, got ? 1 : 0, WEXITSTATUS(status));
    std::fflush(stdout);
    std::exit(0);
}

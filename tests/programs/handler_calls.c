/* A handler that makes calls, the parent acknowledging from main: the
 * child signals its parent three times, waiting each time for the
 * acknowledgement (a V on a semaphore the parent makes); the parent waits
 * in sigsuspend with SIGUSR1 blocked otherwise, and its handler writes a
 * byte to a pipe. Then the parent checks its child is still there
 * (kill(pid, 0)), waits for it, and reads what the handler wrote.
 *   handler_calls      prints "handled 3, read hhh" */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

static int pfd[2];
static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
    (void)sig;
    handled++;
    write(pfd[1], "h", 1);
}

static void sem_change(int id, int delta) {
    struct sembuf op = {0, (short)delta, 0};
    if (semop(id, &op, 1) == -1) perror("semop"), exit(1);
}

int main(void) {
    int ack = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (ack == -1 || pipe(pfd) == -1) return perror("setup"), 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 3; i++) {
            kill(getppid(), SIGUSR1);
            sem_change(ack, -1);
        }
        _exit(0);
    }
    for (int i = 0; i < 3; i++) {
        sigsuspend(&old); /* returns -1 EINTR once the handler has run */
        sem_change(ack, 1);
    }
    int alive = kill(child, 0) == 0; /* a zombie still counts */
    int status;
    waitpid(child, &status, 0);
    char buf[8] = "";
    ssize_t n = read(pfd[0], buf, sizeof buf - 1);
    semctl(ack, 0, IPC_RMID);
    printf("handled %d, read %.*s%s\n", (int)handled, (int)(n > 0 ? n : 0), buf, alive ? "" : " (child gone)");
    return 0;
}

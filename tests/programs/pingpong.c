/* Parent and child play ping-pong with SIGUSR1.
 *   pingpong ok|lost [ROUNDS]
 * ok    SIGUSR1 blocked from before the fork; each waits in sigsuspend,
 *       which unblocks it and sleeps in one step: no wake-up is lost
 * lost  the classic bug: check a flag, then pause(); a signal that comes
 *       between the check and the pause is lost, and both sleep for ever
 * Prints "ping-pong N rounds" from the parent. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) {
    (void)sig;
    got = 1;
}

static void wait_ok(const sigset_t *old) {
    while (!got) sigsuspend(old);
    got = 0;
}

static void wait_lost(void) {
    if (!got) pause();
    got = 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int ok = strcmp(argv[1], "ok") == 0;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (ok) sigprocmask(SIG_BLOCK, &usr1, &old);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < rounds; i++) {
            if (ok) wait_ok(&old);
            else wait_lost();
            kill(parent, SIGUSR1);
        }
        exit(0);
    }
    for (int i = 0; i < rounds; i++) {
        kill(child, SIGUSR1);
        if (ok) wait_ok(&old);
        else wait_lost();
    }
    waitpid(child, NULL, 0);
    printf("ping-pong %d rounds\n", rounds);
    return 0;
}

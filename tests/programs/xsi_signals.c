/* Signals the System V and X/Open way, as older course code writes them,
 * built with -std=c99 -D_XOPEN_SOURCE=700 -O2 -D_FORTIFY_SOURCE=2: signal()
 * is then glibc's __sysv_signal (a one-shot handler, re-installed by the
 * handler itself), sigpause() is __xpg_sigpause, and read() into a buffer
 * of known size is __read_chk. The handlers write to a pipe; the parent
 * reads what they wrote. Then popen/pclose, sigset/sighold/sigrelse, and a
 * FIFO made with mknod (at argv[1], if given).
 *   xsi_signals [FIFO]   prints what it saw */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int pfd[2];
static volatile sig_atomic_t usr1, usr2;

static void on_usr1(int sig) {
    signal(sig, on_usr1); /* System V: the handler is reset to the default on delivery */
    usr1++;
    write(pfd[1], "1", 1);
}

static void on_usr2(int sig) {
    (void)sig;
    usr2++;
    write(pfd[1], "2", 1);
}

int main(int argc, char **argv) {
    int errno_at_start = errno; /* 0, as without simrun */
    if (pipe(pfd) == -1) return perror("pipe"), 1;
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);

    /* The child signals its parent, which waits in sigpause with SIGUSR1 blocked until then. */
    sighold(SIGUSR1);
    pid_t pid = fork();
    if (pid == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigpause(SIGUSR1);
    sigrelse(SIGUSR1);
    waitpid(pid, NULL, 0);

    sigset(SIGUSR2, on_usr2);
    sighold(SIGUSR2);
    kill(getpid(), SIGUSR2); /* pending until released */
    sigrelse(SIGUSR2);

    char buf[16];
    size_t want = argc > 9 ? (size_t)atoi(argv[9]) : sizeof buf; /* not known when compiled: fortified, the read checks it */
    ssize_t n = read(pfd[0], buf, want);

    char line[64] = "";
    FILE *p = popen("echo from-shell", "r");
    if (p && !fgets(line, sizeof line, p)) line[0] = 0;
    int status = p ? pclose(p) : -1;
    line[strcspn(line, "\n")] = 0;

    int fifo = -1;
    if (argc > 1) {
        fifo = mknod(argv[1], S_IFIFO | 0600, 0);
        unlink(argv[1]);
    }
    printf("errno %d usr1 %d usr2 %d read %.*s shell '%s' %d fifo %d\n", errno_at_start, (int)usr1, (int)usr2, (int)(n > 0 ? n : 0), buf,
           line, WIFEXITED(status) ? WEXITSTATUS(status) : -1, fifo);
    return 0;
}

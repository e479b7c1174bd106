/* The parent reads what its child writes into a pipe, until end of file.
 *   pipe_forget ok       the parent closes its write end first: it reads 3
 *                        lines, then EOF, and prints "read 3 lines"
 *   pipe_forget forget   it forgets to: once the child has gone, its read
 *                        waits for ever, on a write end only it holds */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int forget = argc > 1 && strcmp(argv[1], "forget") == 0;
    int fd[2];
    if (pipe(fd) == -1) return perror("pipe"), 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        for (int i = 1; i <= 3; i++) {
            char line[32];
            int n = snprintf(line, sizeof line, "line %d\n", i);
            write(fd[1], line, n);
        }
        _exit(0);
    }
    if (!forget) close(fd[1]);
    char buf[7]; /* a line at a time: "line N\n" */
    int lines = 0;
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
    waitpid(pid, NULL, 0);
    printf("read %d lines\n", lines);
    return 0;
}

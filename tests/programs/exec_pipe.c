/* A parent reads what the program it forks and execs writes: the child
 * puts the pipe's write end on its standard output and execs this program
 * again as "writer", which writes three lines with write(2); the parent
 * reads them a line (7 bytes) at a time.
 *   exec_pipe          prints "read 21 bytes, child exited 0" */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "writer") == 0) {
        for (int i = 1; i <= 3; i++) {
            char line[16];
            int n = snprintf(line, sizeof line, "line %d\n", i);
            write(1, line, (size_t)n);
        }
        return 0;
    }
    int p[2];
    if (pipe(p) == -1) return perror("pipe"), 1;
    pid_t child = fork();
    if (child == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(argv[0], argv[0], "writer", (char *)NULL);
        perror("execl");
        _exit(127);
    }
    close(p[1]);
    char buf[7]; /* one line: "line N\n" */
    ssize_t n, total = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0) total += n;
    int status;
    waitpid(child, &status, 0);
    printf("read %zd bytes, child exited %d\n", total, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

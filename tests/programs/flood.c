/* A parent and its child both write LINES lines to stdout as fast as they
 * can (write(2), unbuffered), then the parent waits for the child.
 *   flood [LINES]     default 20000 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void lines(const char *who, int n) {
    char buf[64];
    for (int i = 0; i < n; i++) {
        int len = snprintf(buf, sizeof buf, "%s line %d\n", who, i);
        if (write(1, buf, (size_t)len) != len) exit(1);
    }
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    pid_t child = fork();
    if (child == 0) {
        lines("child", n);
        exit(0);
    }
    lines("parent", n);
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

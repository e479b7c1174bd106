/* Three generations: main forks a child, the child forks a grandchild;
 * the grandchild exits 3, the child exits with its child's code plus one,
 * and main prints what it got.   generations   prints "child exited 4" */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) exit(3);
        int status;
        if (waitpid(grandchild, &status, 0) != grandchild) exit(100);
        exit(WEXITSTATUS(status) + 1);
    }
    int status;
    if (waitpid(child, &status, 0) != child) return 1;
    printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}

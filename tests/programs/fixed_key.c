/* Creates a message queue on a fixed key, exclusively, and forgets to
 * remove it, as a first attempt at a server often does. A second run that
 * finds the first one's queue fails with EEXIST.
 *   fixed_key KEY      prints "created by pid P" */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int q = msgget(atoi(argv[1]), IPC_CREAT | IPC_EXCL | 0600);
    if (q == -1) {
        printf("msgget: %s\n", strerror(errno));
        return 1;
    }
    printf("created by pid %d\n", getpid());
    return 0;
}

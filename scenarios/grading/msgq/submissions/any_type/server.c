/* A square server on a System V message queue: the parent serves, its
 * three forked clients each ask for the square of a number and check
 * the answer. Requests go on type 1; each answer goes on the type of the
 * client's pid, so that every client gets its own.
 *   server      prints "served 3 requests, 3 answers right" */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 3
#define REQUEST 1

struct msg {
    long mtype;
    int pid;
    int value;
};
#define BODY (sizeof(struct msg) - sizeof(long))

static int client(int q, int x) {
    struct msg m = {REQUEST, getpid(), x};
    if (msgsnd(q, &m, BODY, 0) == -1) return perror("msgsnd"), 2;
    if (msgrcv(q, &m, BODY, 0, 0) == -1) return perror("msgrcv"), 2;  /* my answer is the next message */
    return m.value == x * x ? 0 : 1;
}

int main(void) {
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (q == -1) return perror("msgget"), 1;
    for (int i = 0; i < CLIENTS; i++)
        if (fork() == 0) exit(client(q, i + 2));
    for (int i = 0; i < CLIENTS; i++) {
        struct msg m;
        if (msgrcv(q, &m, BODY, REQUEST, 0) == -1) return perror("msgrcv"), 1;
        m.mtype = m.pid;
        m.value = m.value * m.value;
        if (msgsnd(q, &m, BODY, 0) == -1) return perror("msgsnd"), 1;
    }
    int right = 0, status;
    while (wait(&status) > 0)
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) right++;
    printf("served %d requests, %d answers right\n", CLIENTS, right);
    msgctl(q, IPC_RMID, NULL);
    return 0;
}

/* main forks a message-queue server and CLIENTS clients on a fixed key.
 * The server creates the queue; a client that comes first finds no queue
 * (msgget without IPC_CREAT: ENOENT) and tries again. Each client sends
 * its pid as a request (type 1) and waits for the answer addressed to it
 * (type = its pid); the server answers each with the request's number.
 *   msg_server KEY [CLIENTS]   prints "served N" */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

struct msg {
    long type;
    int value;
};

static int client(key_t key) {
    int q;
    while ((q = msgget(key, 0)) == -1) {
        if (errno != ENOENT) return perror("client msgget"), 1;
        usleep(1000);
    }
    struct msg m = {1, getpid()};
    if (msgsnd(q, &m, sizeof m.value, 0) == -1) return perror("msgsnd"), 1;
    if (msgrcv(q, &m, sizeof m.value, getpid(), 0) == -1) return perror("msgrcv"), 1;
    return 0;
}

static int server(key_t key, int clients, int extra) {
    int q = msgget(key, IPC_CREAT | 0600);
    if (q == -1) return perror("server msgget"), 1;
    for (int n = 1; n <= clients + extra; n++) {
        struct msg m;
        if (msgrcv(q, &m, sizeof m.value, 1, 0) == -1) return perror("server msgrcv"), 1;
        struct msg answer = {m.value, n};
        msgsnd(q, &answer, sizeof answer.value, 0);
    }
    /* every client has its answer once it is sent; the last one may still
     * be reading it: removing the queue now would fail that msgrcv */
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    key_t key = atoi(argv[1]);
    int clients = argc > 2 ? atoi(argv[2]) : 3;
    int extra = argc > 3;
    pid_t srv = fork();
    if (srv == 0) exit(server(key, clients, extra));
    for (int i = 0; i < clients; i++)
        if (fork() == 0) exit(client(key));
    int failed = 0, status;
    for (int i = 0; i < clients + 1; i++) {
        wait(&status);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    msgctl(msgget(key, 0), IPC_RMID, NULL);
    printf("served %d\n", clients - failed);
    return failed != 0;
}

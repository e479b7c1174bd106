/* A request/reply exchange over a System V queue, then the same over a
 * POSIX queue, with the failures a student meets on the way: a msgrcv
 * with IPC_NOWAIT on an empty queue (ENOMSG), a semget of a key nobody
 * made (ENOENT), an mq_open of a name nobody made (ENOENT).
 *   ipc_families       prints "sysv 3 replies, posix 3 replies" */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

struct msg {
    long type;
    char text[32];
};

static int sysv(void) {
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (q == -1) return perror("msgget"), -1;
    pid_t child = fork();
    if (child == 0) {
        struct msg m = {1, ""};
        for (int i = 0; i < 3; i++) {
            snprintf(m.text, sizeof m.text, "request %d", i);
            msgsnd(q, &m, strlen(m.text) + 1, 0);
        }
        int replies = 0;
        for (int i = 0; i < 3; i++) replies += msgrcv(q, &m, sizeof m.text, 2, 0) > 0;
        _exit(replies);
    }
    struct msg m;
    for (int i = 0; i < 3; i++) {
        msgrcv(q, &m, sizeof m.text, 1, 0);
        m.type = 2;
        msgsnd(q, &m, strlen(m.text) + 1, 0);
    }
    int status;
    waitpid(child, &status, 0);
    if (msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT) == -1 && errno != ENOMSG) perror("msgrcv");
    msgctl(q, IPC_RMID, NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int posix(void) {
    char name[32];
    snprintf(name, sizeof name, "/families.%d", (int)getpid());
    struct mq_attr attr = {0};
    attr.mq_maxmsg = 4, attr.mq_msgsize = 32;
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) return perror("mq_open"), -1;
    int replies = 0;
    char buf[32];
    for (int i = 0; i < 3; i++) {
        mq_send(q, "ping", 5, (unsigned)i);
        replies += mq_receive(q, buf, sizeof buf, NULL) == 5;
    }
    mq_close(q);
    mq_unlink(name);
    return replies;
}

int main(void) {
    if (semget(0x5a5a0001, 0, 0) == -1 && errno != ENOENT) perror("semget");
    if (mq_open("/families.nobody", O_RDONLY) == (mqd_t)-1 && errno != ENOENT) perror("mq_open");
    int a = sysv();
    int b = posix();
    printf("sysv %d replies, posix %d replies\n", a, b);
    return 0;
}

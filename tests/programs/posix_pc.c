/* POSIX IPC the way the course shows it: a named semaphore (sem_open) as
 * a mutex, an unnamed one (sem_init, pshared) in a MAP_SHARED|MAP_ANONYMOUS
 * mapping the child inherits, a message queue with priorities, and a
 * System V semtimedop that times out. The child produces N items (a
 * sem_post each), the parent consumes them (sem_wait), then the child
 * sends two messages with priorities 1 and 5 and the parent receives the
 * urgent one first. SIGUSR1 is blocked around the exchange.
 *   posix_pc TAG N   prints "consumed N, first prio 5, timedop EAGAIN" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    char mutex_name[64], queue_name[64];
    snprintf(mutex_name, sizeof mutex_name, "/pc_mutex_%s", argv[1]);
    snprintf(queue_name, sizeof queue_name, "/pc_queue_%s", argv[1]);
    int n = atoi(argv[2]);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);

    sem_t *mutex = sem_open(mutex_name, O_CREAT, 0600, 1);
    sem_t *items = mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mutex == SEM_FAILED || items == MAP_FAILED) return perror("sem_open/mmap"), 1;
    sem_init(items, 1, 0);
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = 4;
    attr.mq_msgsize = 16;
    mqd_t q = mq_open(queue_name, O_CREAT | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) return perror("mq_open"), 1;

    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < n; i++) {
            sem_wait(mutex);
            sem_post(items);
            sem_post(mutex);
        }
        mq_send(q, "routine", 7, 1);
        mq_send(q, "urgent", 6, 5);
        _exit(0);
    }
    int consumed = 0;
    for (int i = 0; i < n; i++) {
        sem_wait(items);
        sem_wait(mutex);
        consumed++;
        sem_post(mutex);
    }
    waitpid(pid, NULL, 0);
    char buf[16];
    unsigned prio = 0;
    mq_receive(q, buf, sizeof buf, &prio);

    int set = semget(IPC_PRIVATE, 1, 0600);
    struct sembuf p = {0, -1, 0};
    struct timespec rel = {0, 20000000};
    int r = semtimedop(set, &p, 1, &rel);
    int timed_err = errno;
    semctl(set, 0, IPC_RMID);

    sigprocmask(SIG_SETMASK, &old, NULL);
    mq_close(q);
    mq_unlink(queue_name);
    sem_close(mutex);
    sem_unlink(mutex_name);
    printf("consumed %d, first prio %u, timedop %s\n", consumed, prio, r == 0 ? "OK" : strerrorname_np(timed_err));
    return 0;
}

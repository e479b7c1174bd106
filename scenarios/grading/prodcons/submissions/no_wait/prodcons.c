/* Bounded buffer: the parent consumes what its forked child produces,
 * through a System V shared memory ring guarded by three semaphores.
 *   prodcons ITEMS     prints "consumed ITEMS items, sum S" */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#define SLOTS 4
enum { MUTEX, EMPTY, FULL };

struct ring {
    int in, out;
    int item[SLOTS];
};

static int semid;

static void P(int s) {
    struct sembuf op = {s, -1, 0};
    if (semop(semid, &op, 1) == -1) perror("P"), exit(1);
}

static void V(int s) {
    struct sembuf op = {s, 1, 0};
    if (semop(semid, &op, 1) == -1) perror("V"), exit(1);
}

int main(int argc, char **argv) {
    int items = argc > 1 ? atoi(argv[1]) : 10;
    semid = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    int shmid = shmget(IPC_PRIVATE, sizeof(struct ring), IPC_CREAT | 0600);
    if (semid == -1 || shmid == -1) return perror("get"), 1;
    semctl(semid, MUTEX, SETVAL, 1);
    semctl(semid, EMPTY, SETVAL, SLOTS);
    semctl(semid, FULL, SETVAL, 0);
    struct ring *r = shmat(shmid, NULL, 0);
    r->in = r->out = 0;
    pid_t child = fork();
    if (child == 0) {
        for (int i = 1; i <= items; i++) {
            P(EMPTY);
            P(MUTEX);
            r->item[r->in] = i;
            r->in = (r->in + 1) % SLOTS;
            V(MUTEX);
            V(FULL);
        }
        shmdt(r);
        exit(0);
    }
    long sum = 0;
    for (int i = 0; i < items; i++) {
        P(FULL);
        P(MUTEX);
        sum += r->item[r->out];
        r->out = (r->out + 1) % SLOTS;
        V(MUTEX);
        V(EMPTY);
    }
    printf("consumed %d items, sum %ld\n", items, sum);
    shmdt(r);
    shmctl(shmid, IPC_RMID, NULL);
    semctl(semid, 0, IPC_RMID);
    return 0;
}

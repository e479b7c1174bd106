/* Bounded buffer: the parent consumes, its forked child produces, through
 * a System V shared memory ring and three semaphores (mutex, empty, full).
 *   pc_fork ok|mutex-first|undo [ITEMS] [SLOTS]
 * ok           the textbook order: P(empty) then P(mutex)
 * mutex-first  the classic bug: the producer takes the mutex before
 *              waiting for an empty slot; with the buffer full it sleeps
 *              holding the mutex, and the consumer can never take it
 * undo         as ok, with SEM_UNDO on every operation
 * Prints "consumed N items, sum S". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MUTEX, EMPTY, FULL };

struct ring {
    int in, out;
    int item[16];
};

static int semid, flags;

static void P(int s) {
    struct sembuf op = {s, -1, flags};
    if (semop(semid, &op, 1) == -1) perror("P"), exit(1);
}

static void V(int s) {
    struct sembuf op = {s, 1, flags};
    if (semop(semid, &op, 1) == -1) perror("V"), exit(1);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int mutex_first = strcmp(argv[1], "mutex-first") == 0;
    if (strcmp(argv[1], "undo") == 0) flags = SEM_UNDO;
    int items = argc > 2 ? atoi(argv[2]) : 10;
    int slots = argc > 3 ? atoi(argv[3]) : 2;
    if (slots < 1 || slots > 16) return 2;
    semid = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    int shmid = shmget(IPC_PRIVATE, sizeof(struct ring), IPC_CREAT | 0600);
    if (semid == -1 || shmid == -1) return perror("get"), 1;
    semctl(semid, MUTEX, SETVAL, 1);
    semctl(semid, EMPTY, SETVAL, slots);
    semctl(semid, FULL, SETVAL, 0);
    struct ring *r = shmat(shmid, NULL, 0);
    r->in = r->out = 0;
    pid_t child = fork();
    if (child == 0) {
        for (int i = 1; i <= items; i++) {
            if (mutex_first) {
                P(MUTEX);
                P(EMPTY);
            } else {
                P(EMPTY);
                P(MUTEX);
            }
            r->item[r->in] = i;
            r->in = (r->in + 1) % slots;
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
        r->out = (r->out + 1) % slots;
        V(MUTEX);
        V(EMPTY);
    }
    waitpid(child, NULL, 0);
    printf("consumed %d items, sum %ld\n", items, sum);
    shmdt(r);
    shmctl(shmid, IPC_RMID, NULL);
    semctl(semid, 0, IPC_RMID);
    return 0;
}

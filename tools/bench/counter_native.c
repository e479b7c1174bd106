/* The counter workload done natively, with no tracing: two processes (or
 * PROCESSES), each
 * N iterations of P mutex (SEM_UNDO), counter += 1 in System V shared
 * memory, V mutex. Prints the elapsed nanoseconds from the first fork to
 * the last exit, the same span simrun reports as the run's duration.
 * usage: counter_native N [PROCESSES] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int procs = argc > 2 ? atoi(argv[2]) : 2;
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    int shm = shmget(IPC_PRIVATE, sizeof(long long), IPC_CREAT | 0600);
    if (sem < 0 || shm < 0) return perror("semget/shmget"), 3;
    volatile long long* counter = shmat(shm, NULL, 0);
    shmctl(shm, IPC_RMID, NULL);
    if (semctl(sem, 0, SETVAL, 1) < 0) return perror("SETVAL"), 3;
    *counter = 0;
    long long start = now_ns();
    for (int p = 0; p < procs; ++p) {
        if (fork() == 0) {
            struct sembuf down = {0, -1, SEM_UNDO}, up = {0, 1, SEM_UNDO};
            for (long i = 0; i < n; ++i) {
                semop(sem, &down, 1);
                long long v = *counter;
                *counter = v + 1;
                semop(sem, &up, 1);
            }
            _exit(0);
        }
    }
    while (wait(NULL) > 0) {
    }
    long long elapsed = now_ns() - start;
    semctl(sem, 0, IPC_RMID);
    if (*counter != procs * n) return fprintf(stderr, "lost updates: %lld\n", *counter), 1;
    printf("%lld\n", elapsed);
    return 0;
}

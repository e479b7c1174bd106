/* A native System V program: N rounds of P and V (SEM_UNDO) on a set of
 * its own. Prints the nanoseconds its loop took, so the cost of running
 * under simrun's preload tracer (or strace) can be compared with it alone.
 *   sem_native N */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sem.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (id < 0) return perror("semget"), 1;
    union { int val; } arg = {1};
    semctl(id, 0, SETVAL, arg);
    struct sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
    long long t0 = now_ns();
    for (long i = 0; i < n; ++i) {
        semop(id, &p, 1);
        semop(id, &v, 1);
    }
    long long t1 = now_ns();
    semctl(id, 0, IPC_RMID);
    printf("%lld\n", t1 - t0);
    return 0;
}

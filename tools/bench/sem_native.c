/* A native System V program: N rounds of P and V (SEM_UNDO) on a set of
 * its own, so the cost of running under simrun's preload tracer (or strace)
 * can be compared with it alone.
 *   sem_native N        prints the nanoseconds its loop took
 *   sem_native N ab     in one process, alternates chunks of 1000 rounds
 *                       between libc's own semop (looked up in libc itself,
 *                       so a preloaded tracer is bypassed) and semop as the
 *                       program links it (the tracer's, when preloaded);
 *                       prints "RAW TRACED RATIO": the median ns per call
 *                       of each and the median of the per-pair ratios.
 * Both halves of a pair run back to back in the same process, so a slow
 * spell of a shared machine hits them alike; alone, the ratio is 1. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef int (*semop_fn)(int, struct sembuf*, size_t);

static long long rounds(semop_fn op, int id, long n) {
    struct sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
    long long t0 = now_ns();
    for (long i = 0; i < n; ++i) {
        op(id, &p, 1);
        op(id, &v, 1);
    }
    return now_ns() - t0;
}

static int by_value(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static double median(double* v, long n) {
    qsort(v, (size_t)n, sizeof *v, by_value);
    return v[n / 2];
}

static int ab(int id, long n) {
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    semop_fn raw = libc ? (semop_fn)dlsym(libc, "semop") : NULL;
    if (!raw) return fprintf(stderr, "sem_native: libc's semop: %s\n", dlerror()), 1;
    const long chunk = 1000, pairs = n / chunk > 0 ? n / chunk : 1;
    double* r = malloc(sizeof(double) * (size_t)pairs * 3);
    if (!r) return perror("malloc"), 1;
    double *t = r + pairs, *q = r + 2 * pairs;
    for (long i = 0; i < pairs; ++i) {
        r[i] = (double)rounds(raw, id, chunk) / (2.0 * chunk);
        t[i] = (double)rounds(semop, id, chunk) / (2.0 * chunk);
        q[i] = t[i] / r[i];
    }
    printf("%.2f %.2f %.4f\n", median(r, pairs), median(t, pairs), median(q, pairs));
    free(r);
    return 0;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (id < 0) return perror("semget"), 1;
    union { int val; } arg = {1};
    semctl(id, 0, SETVAL, arg);
    int rc = 0;
    if (argc > 2 && strcmp(argv[2], "ab") == 0) rc = ab(id, n);
    else printf("%lld\n", rounds(semop, id, n));
    semctl(id, 0, IPC_RMID);
    return rc;
}

/* The baseline for a controlled step: a bare futex hand-off between two
 * processes. A grants B a turn and waits until B hands it back, N times:
 * the same two wake-ups a controlled step costs, with no work in between.
 * Prints nanoseconds per round trip.
 * usage: futex_pingpong N */
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void wait_while(atomic_uint* w, unsigned v) {
    while (atomic_load(w) == v) syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}
static void set_and_wake(atomic_uint* w, unsigned v) {
    atomic_store(w, v);
    syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}
static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    atomic_uint* turn = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    atomic_store(turn, 0);  /* 0: A's turn, 1: B's turn */
    if (fork() == 0) {
        for (long i = 0; i < n; ++i) {
            wait_while(turn, 0);
            set_and_wake(turn, 0);
        }
        _exit(0);
    }
    long long start = now_ns();
    for (long i = 0; i < n; ++i) {
        set_and_wake(turn, 1);
        wait_while(turn, 1);
    }
    long long elapsed = now_ns() - start;
    wait(NULL);
    printf("%lld\n", elapsed / n);
    return 0;
}

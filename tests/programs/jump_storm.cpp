// Signals that land anywhere, jumps out of them: a second thread sends
// SIGUSR1 to the main thread over and over while both make semop calls;
// the main thread's handler siglongjmps back into its loop, from wherever
// the signal found it (inside a semop, between two, inside the tracer's
// record of one). Built with _FORTIFY_SOURCE, so the jump goes through
// __longjmp_chk.
//   jump_storm JUMPS   stops after JUMPS jumps; prints "jumps J, rounds R, other S"
//                      (R: the main thread's V+P pairs, S: the other thread's)
#include <pthread.h>
#include <setjmp.h>
#include <sys/sem.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {

sigjmp_buf back;
volatile sig_atomic_t armed = 0;
std::atomic<bool> done{false};
int sem = -1;
pthread_t main_thread;

void on_usr1(int) {
    if (armed) siglongjmp(back, 1);
}

void pair(unsigned short num) {
    sembuf v = {num, 1, 0}, p = {num, -1, 0};
    semop(sem, &v, 1);
    semop(sem, &p, 1);
}

long other_rounds = 0;
void* storm(void*) {
    while (!done.load()) {
        pthread_kill(main_thread, SIGUSR1);
        for (int i = 0; i < 20; ++i) pair(1), ++other_rounds;
    }
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const long want = std::atol(argv[1]);
    sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (sem < 0) return std::perror("semget"), 1;
    struct sigaction sa = {};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, nullptr) != 0) return 1;
    main_thread = pthread_self();
    static volatile long jumps = 0, rounds = 0;
    if (sigsetjmp(back, 1) != 0) jumps = jumps + 1;
    armed = 1;
    static pthread_t other;
    static bool started = false;
    if (!started) {
        started = true;
        if (pthread_create(&other, nullptr, storm, nullptr) != 0) return 1;
    }
    while (jumps < want) {
        pair(0);
        rounds = rounds + 1;
    }
    armed = 0;
    done.store(true);
    pthread_join(other, nullptr);
    semctl(sem, 0, IPC_RMID);
    std::printf("jumps %ld, rounds %ld, other %ld\n", static_cast<long>(jumps), static_cast<long>(rounds), other_rounds);
    return 0;
}

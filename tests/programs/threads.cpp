// Four threads doing P and V at once on one semaphore set: the preload
// tracer's writers must take turns on the process's ring (none lost, none
// torn). Prints the number of semop calls made.   threads ROUNDS
#include <sys/sem.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    int rounds = argc > 1 ? std::atoi(argv[1]) : 1000;
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (id < 0) return 1;
    union {
        int val;
    } one = {1};
    semctl(id, 0, SETVAL, one);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < rounds; ++i) {
                sembuf p = {0, -1, 0}, v = {0, 1, 0};
                semop(id, &p, 1);
                semop(id, &v, 1);
            }
        });
    for (auto& t : threads) t.join();
    semctl(id, 0, IPC_RMID);
    std::printf("%d\n", 4 * rounds * 2);
    return 0;
}

// N rounds of P and V (SEM_UNDO) on the first semaphore of the set with
// key argv[1]: a program whose every step is a traced call, for controlled
// scheduling of exec'd programs.   sem_rounds KEY N
#include <sys/sem.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    int id = semget(static_cast<key_t>(std::atoi(argv[1])), 0, 0);
    if (id < 0) return std::perror("semget"), 1;
    for (int i = 0, n = std::atoi(argv[2]); i < n; ++i) {
        sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
        if (semop(id, &p, 1) != 0 || semop(id, &v, 1) != 0) return 1;
    }
    return 0;
}

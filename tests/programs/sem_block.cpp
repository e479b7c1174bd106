// Blocks for ever in a P on the first semaphore of the set with key
// argv[1] (made by the scenario with that value 0), as a student program
// waiting for a post that never comes.
#include <sys/sem.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    int id = semget(static_cast<key_t>(std::atoi(argv[1])), 0, 0);
    if (id < 0) return std::perror("semget"), 1;
    sembuf p = {0, -1, 0};
    return semop(id, &p, 1) == 0 ? 0 : 1;
}

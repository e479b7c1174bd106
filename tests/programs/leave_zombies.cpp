// A program that never waits for its children: it forks N (argv[1],
// default 2) that exit at once, lets them sit as zombies for a while, and
// exits. Its zombies go to simrun, which reaps them and counts them.
#include <unistd.h>

#include <cstdlib>

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 2;
    for (int i = 0; i < n; ++i)
        if (fork() == 0) _exit(i);
    usleep(100 * 1000);
    return 0;
}

/* Attaches a System V segment by key, fills a large buffer of its own and
 * sleeps: killed, it needs a while to die (the kernel frees its memory
 * first), and the segment stays attached until it has. Usage: hold_shm KEY MB */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int id = shmget((key_t)strtol(argv[1], NULL, 0), 0, 0);
    if (id < 0 || shmat(id, NULL, 0) == (void *)-1) {
        perror("shm");
        return 1;
    }
    size_t size = (size_t)atoi(argv[2]) << 20;
    char *big = malloc(size);
    if (!big) return 1;
    memset(big, 1, size);
    printf("holding %d\n", big[size / 2] + big[size - 1]); /* used, so not optimised away */
    fflush(stdout);
    for (;;) pause();
}

// Puts a file of its own on the descriptor number where the preload tracer
// keeps the trace arena (the first field of SIMRUN_TRACE), then execs a
// program: the new image must not take that file for the arena (it would
// write its records into the file, or die of SIGBUS past its end).
//   reuse_tracer_fd FILE PROGRAM [ARGS...]
//   reuse_tracer_fd truncate    shrinks the arena through that descriptor,
//       then makes a semop call; prints what ftruncate said (a shrunk arena
//       would kill this program and simrun's supervisor with SIGBUS)
#include <fcntl.h>
#include <sys/sem.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const char* spec = std::getenv("SIMRUN_TRACE");
    if (!spec) return std::fputs("not traced\n", stderr), 3;
    const int arena_fd = std::atoi(spec);
    if (std::strcmp(argv[1], "truncate") == 0) {
        const int r = ftruncate(arena_fd, 0);
        std::printf("ftruncate %s\n", r == 0 ? "succeeded" : std::strerror(errno));
        std::fflush(stdout);
        const int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
        sembuf v = {0, 1, 0};
        semop(sem, &v, 1);
        semctl(sem, 0, IPC_RMID);
        return 0;
    }
    const int f = open(argv[1], O_RDWR);
    if (argc < 3 || f < 0 || dup2(f, arena_fd) != arena_fd) return std::perror("dup2"), 1;
    close(f);
    execv(argv[2], argv + 2);
    std::perror("execv");
    return 127;
}

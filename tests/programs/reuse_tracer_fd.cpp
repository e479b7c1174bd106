// Puts a file of its own on the descriptor number where the preload tracer
// keeps the trace arena (the second field of SIMRUN_TRACE, after its
// version: engine/trace/protocol.hpp), then execs a
// program: the new image must not take that file for the arena (it would
// write its records into the file, or die of SIGBUS past its end).
//   reuse_tracer_fd FILE PROGRAM [ARGS...]
//   reuse_tracer_fd closefrom FILE PROGRAM [ARGS...]   writes to a pipe,
//       closefrom(3) (the tracer's descriptors and the pipe go), opens FILE
//       twice (on the pipe's old numbers), writes to it, then execs PROGRAM:
//       a write to a file is not a pipe write, whatever number it has
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
    const char* comma = std::strchr(spec, ',');
    if (!comma) return std::fputs("SIMRUN_TRACE without a version\n", stderr), 3;
    const int arena_fd = std::atoi(comma + 1);
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
    if (std::strcmp(argv[1], "closefrom") == 0) {
        if (argc < 4) return 2;
        int p[2];
        if (pipe(p) != 0 || write(p[1], "a", 1) != 1) return std::perror("pipe"), 1;
        closefrom(3);
        const int f1 = open(argv[2], O_RDWR), f2 = open(argv[2], O_RDWR);
        if (f1 != p[0] || f2 != p[1] || write(f2, "b", 1) != 1) return std::perror("open"), 1;
        execv(argv[3], argv + 3);
        std::perror("execv");
        return 127;
    }
    const int f = open(argv[1], O_RDWR);
    if (argc < 3 || f < 0 || dup2(f, arena_fd) != arena_fd) return std::perror("dup2"), 1;
    close(f);
    execv(argv[2], argv + 2);
    std::perror("execv");
    return 127;
}

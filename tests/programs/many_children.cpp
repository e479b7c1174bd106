// Forks N children one after another; each does one P and V on the set with
// key argv[1] and exits; the parent waits for each. Prints how many exited 0.
//   many_children KEY N
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    int id = semget(static_cast<key_t>(std::atoi(argv[1])), 0, 0);
    if (id < 0) return std::perror("semget"), 1;
    int ok = 0;
    for (int i = 0, n = std::atoi(argv[2]); i < n; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
            _exit(semop(id, &p, 1) == 0 && semop(id, &v, 1) == 0 ? 0 : 1);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) ++ok;
    }
    std::printf("%d\n", ok);
    return 0;
}

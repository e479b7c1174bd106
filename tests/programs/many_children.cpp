// Forks N children; each does one P and V on the set with key argv[1] and
// exits. One after another (the parent waits for each before the next), or
// with "together" all alive at once: each then waits until the parent has
// forked them all (it closes a pipe they read). Prints how many exited 0.
//   many_children KEY N [together]
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
bool exited_ok(pid_t pid) {
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    int id = semget(static_cast<key_t>(std::atoi(argv[1])), 0, 0);
    if (id < 0) return std::perror("semget"), 1;
    const bool together = argc > 3 && std::strcmp(argv[3], "together") == 0;
    int gate[2];
    if (together && pipe(gate) != 0) return std::perror("pipe"), 1;
    int ok = 0;
    std::vector<pid_t> kids;
    for (int i = 0, n = std::atoi(argv[2]); i < n; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
            const bool done = semop(id, &p, 1) == 0 && semop(id, &v, 1) == 0;
            if (together) {
                char c;
                close(gate[1]);
                while (read(gate[0], &c, 1) > 0) {
                }
            }
            _exit(done ? 0 : 1);
        }
        if (together) kids.push_back(pid);
        else ok += exited_ok(pid);
    }
    if (together) {
        close(gate[1]);
        for (pid_t pid : kids) ok += exited_ok(pid);
    }
    std::printf("%d\n", ok);
    return 0;
}

// Children started without fork(): vfork + exec (of itself, and of a
// program that does not exist), posix_spawn while the parent keeps working,
// and system(). Each child image runs N rounds of P and V on the set with
// key argv[1]; the vfork child calls kill(getpid(), 0) before its exec, which
// the tracer must not record (a vfork child borrows its parent's memory).
//   spawn_kids KEY N           the parent
//   spawn_kids KEY N child     a child image: N rounds, then exit 5
//   spawn_kids KEY N untraced  children whose images cannot be traced: an
//                              empty environment (no LD_PRELOAD) for a
//                              posix_spawn and for a vfork + execle
#include <spawn.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern char** environ;

static int rounds(int id, int n) {
    for (int i = 0; i < n; ++i) {
        sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
        if (semop(id, &p, 1) != 0 || semop(id, &v, 1) != 0) return 1;
    }
    return 0;
}

static int wait_code(pid_t pid) {
    int status = 0;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    int id = semget(static_cast<key_t>(std::atoi(argv[1])), 0, 0);
    if (id < 0) return std::perror("semget"), 1;
    const int n = std::atoi(argv[2]);
    if (argc > 3 && std::strcmp(argv[3], "child") == 0) return rounds(id, n) == 0 ? 5 : 1;
    if (argc > 3) {
        char* no_env[] = {nullptr};
        char* true_argv[] = {const_cast<char*>("true"), nullptr};
        pid_t spawned = -1;
        int spawn_err = posix_spawn(&spawned, "/bin/true", nullptr, nullptr, true_argv, no_env);
        int spawned_code = spawn_err == 0 ? wait_code(spawned) : -1;
        pid_t pid = vfork();
        if (pid == 0) {
            execle("/bin/true", "true", static_cast<char*>(nullptr), no_env);
            _exit(127);
        }
        int vforked = wait_code(pid);
        std::printf("%d %d %d\n", spawned_code, vforked, rounds(id, n));
        return 0;
    }

    char* child_argv[] = {argv[0], argv[1], argv[2], const_cast<char*>("child"), nullptr};
    pid_t pid = vfork();
    if (pid == 0) {
        kill(getpid(), 0);
        execv("/proc/self/exe", child_argv);
        _exit(126);
    }
    int vforked = wait_code(pid);

    pid = vfork();
    if (pid == 0) {
        execl("/nonexistent/program", "program", static_cast<char*>(nullptr));
        _exit(127);
    }
    int missing = wait_code(pid);

    pid_t spawned = -1;
    int spawn_err = posix_spawn(&spawned, "/proc/self/exe", nullptr, nullptr, child_argv, environ);
    int mine = rounds(id, n);
    int spawned_code = spawn_err == 0 ? wait_code(spawned) : -1;

    int shell = std::system("exit 7");
    std::printf("%d %d %d %d %d\n", vforked, missing, spawned_code, mine, WIFEXITED(shell) ? WEXITSTATUS(shell) : -1);
    return 0;
}

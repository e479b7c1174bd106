// Tries to outlive the run: a double fork, and the grandchild starts a new
// session (setsid), ignores SIGTERM and SIGHUP, and sleeps. The program
// itself exits at once, as a daemon's launcher does.
#include <csignal>
#include <unistd.h>

int main() {
    if (fork() == 0) {
        if (fork() == 0) {
            setsid();
            std::signal(SIGTERM, SIG_IGN);
            std::signal(SIGHUP, SIG_IGN);
            for (;;) sleep(100);
        }
        _exit(0);
    }
    return 0;
}

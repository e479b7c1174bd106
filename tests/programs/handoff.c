/* Parent/child hand-off on two semaphores, as the course's first
 * synchronisation exercise writes it: the child goes first (V 0), the
 * parent answers (P 0, V 1), the child waits for the answer (P 1).
 *   handoff [ROUNDS]          default 5; prints "handoff N rounds" */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

static void sem_change(int id, int member, int delta) {
    struct sembuf op = {member, delta, 0};
    if (semop(id, &op, 1) == -1) {
        perror("semop");
        exit(1);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (id == -1) {
        perror("semget");
        return 1;
    }
    /* both start at 0: a fresh set is zeroed on Linux, but say it */
    semctl(id, 0, SETVAL, 0);
    semctl(id, 1, SETVAL, 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < rounds; i++) {
            sem_change(id, 0, 1);
            sem_change(id, 1, -1);
        }
        exit(0);
    }
    for (int i = 0; i < rounds; i++) {
        sem_change(id, 0, -1);
        sem_change(id, 1, 1);
    }
    int status;
    wait(&status);
    semctl(id, 0, IPC_RMID);
    printf("handoff %d rounds\n", rounds);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

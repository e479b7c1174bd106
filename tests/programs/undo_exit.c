/* SEM_UNDO at exit, the course's way: a child takes the mutex with
 * SEM_UNDO and exits without giving it back (the kernel gives it back);
 * another posts 5 with SEM_UNDO, the parent takes 4 of them, and when that
 * child exits the kernel would take 5 back from the 1 left: it stops at 0.
 *   undo_exit [KEY]    the set: its own (IPC_PRIVATE, mutex set to 1), or
 *                      the one on KEY (3 members: mutex 1, items 0, go 0)
 * Prints "mutex 1, items 0". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MUTEX, ITEMS, GO };

static int id;

static void op(int member, int delta, int flags) {
    struct sembuf b = {(unsigned short)member, (short)delta, (short)flags};
    if (semop(id, &b, 1) == -1) perror("semop"), exit(1);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        id = semget((key_t)atoi(argv[1]), 3, 0);
    } else {
        id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
        if (id != -1) semctl(id, MUTEX, SETVAL, 1);
    }
    if (id == -1) return perror("semget"), 1;

    pid_t holder = fork();
    if (holder == 0) {
        op(MUTEX, -1, SEM_UNDO);
        exit(0); /* forgets its V: the kernel undoes the P */
    }
    waitpid(holder, NULL, 0);
    op(MUTEX, -1, 0);
    op(MUTEX, 1, 0);

    pid_t poster = fork();
    if (poster == 0) {
        op(ITEMS, 5, SEM_UNDO);
        op(GO, -1, 0);
        exit(0); /* the kernel takes 5 back: the 1 left, and stops at 0 */
    }
    op(ITEMS, -4, 0);
    op(GO, 1, 0);
    waitpid(poster, NULL, 0);
    int mutex = semctl(id, MUTEX, GETVAL), items = semctl(id, ITEMS, GETVAL);
    if (argc == 1) semctl(id, 0, IPC_RMID);
    printf("mutex %d, items %d\n", mutex, items);
    return 0;
}

// A "student program" that forgets to clean up: it makes one object of each
// kind (System V semaphore set, shared memory and message queue; POSIX
// shared memory, named semaphore and message queue) and exits without
// removing any. Used by the end-to-end tests of leftover detection.
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdio>

int main() {
    int failed = 0;
    failed += semget(IPC_PRIVATE, 2, IPC_CREAT | 0600) < 0;
    failed += shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600) < 0;
    failed += msgget(IPC_PRIVATE, IPC_CREAT | 0600) < 0;
    int fd = shm_open("/leak_shm", O_CREAT | O_RDWR, 0600);
    failed += fd < 0;
    sem_t* s = sem_open("/leak_sem", O_CREAT, 0600, 1);
    failed += s == SEM_FAILED;
    mqd_t q = mq_open("/leak_mq", O_CREAT | O_RDWR, 0600, nullptr);
    failed += q == static_cast<mqd_t>(-1);
    std::printf("%d failed\n", failed);
    return failed;
}

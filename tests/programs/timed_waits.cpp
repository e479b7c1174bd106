// Three waits with a timeout that nobody ends: semtimedop on the first
// semaphore of the set with key argv[1] (which must be 0), sem_timedwait on
// an unnamed semaphore at 0, mq_timedreceive on an empty queue of its own.
// Prints the errno name each one failed with: "EAGAIN ETIMEDOUT ETIMEDOUT".
//   timed_waits KEY
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

static const char* name(int r, int err) { return r == 0 ? "OK" : strerrorname_np(err); }

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    int id = semget(static_cast<key_t>(std::atoi(argv[1])), 0, 0);
    if (id < 0) return std::perror("semget"), 1;
    sembuf p = {0, -1, 0};
    timespec rel = {0, 100'000'000};
    int r1 = semtimedop(id, &p, 1, &rel);
    int e1 = errno;

    sem_t s;
    sem_init(&s, 0, 0);
    timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 100'000'000;
    if (abs.tv_nsec >= 1'000'000'000) abs.tv_sec += 1, abs.tv_nsec -= 1'000'000'000;
    int r2 = sem_timedwait(&s, &abs);
    int e2 = errno;

    char qname[32];
    std::snprintf(qname, sizeof qname, "/timed_waits.%d", static_cast<int>(getpid()));
    mq_attr attr = {};
    attr.mq_maxmsg = 1, attr.mq_msgsize = 16;
    mqd_t q = mq_open(qname, O_CREAT | O_RDWR, 0600, &attr);
    if (q == static_cast<mqd_t>(-1)) return std::perror("mq_open"), 1;
    mq_unlink(qname);
    char buf[16];
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 100'000'000;
    if (abs.tv_nsec >= 1'000'000'000) abs.tv_sec += 1, abs.tv_nsec -= 1'000'000'000;
    int r3 = static_cast<int>(mq_timedreceive(q, buf, sizeof buf, nullptr, &abs));
    int e3 = errno;
    mq_close(q);
    std::printf("%s %s %s\n", name(r1, e1), name(r2, e2), name(r3 < 0 ? -1 : 0, e3));
    return 0;
}

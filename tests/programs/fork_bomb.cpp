// A fork bomb: every process forks for ever. simrun must stop it at its
// process limit (RLIMIT_NPROC where that counts, its process group's size
// otherwise) and kill the whole family.
#include <unistd.h>

int main() {
    for (;;) fork();
}

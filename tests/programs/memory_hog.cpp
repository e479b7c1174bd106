// Takes memory 16 MiB at a time and touches it, until an allocation fails;
// then uses the null pointer like careless code would (SIGSEGV).
#include <cstdlib>
#include <cstring>

char* volatile last;  // the blocks escape: the compiler may not drop them

int main() {
    for (;;) {
        last = static_cast<char*>(std::malloc(16 << 20));
        std::memset(last, 1, 16 << 20);
    }
}

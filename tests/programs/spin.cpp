// An endless loop: only the CPU time limit (SIGXCPU) or the wall time
// limit stops it.
int main() {
    volatile unsigned long n = 0;
    for (;;) n = n + 1;
}

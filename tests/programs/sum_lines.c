/* The course's online-judge exercise: read pairs of numbers from standard
 * input until end of file, answer each with its sum. Written as a student
 * would, with scanf and printf.
 *   sum_lines            answers each line at once (fflush after printf)
 *   sum_lines noflush    forgets fflush: on a pipe stdout is fully
 *                        buffered, so an interactive judge waits for an
 *                        answer that sits in the buffer until exit
 * At end of file it says "bye" on stderr and exits 0. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    int flush = !(argc > 1 && strcmp(argv[1], "noflush") == 0);
    long a, b;
    int answered = 0;
    while (scanf("%ld %ld", &a, &b) == 2) {
        printf("%ld\n", a + b);
        answered++;
        if (flush) fflush(stdout);
    }
    fprintf(stderr, "bye after %d\n", answered);
    return 0;
}

/* Two ends of a shell pipeline, with read(2) and write(2) as the course's
 * pipe chapter writes them:
 *   line_tools gen N      writes "line 1\n" ... "line N\n", one write each;
 *                         a reader that has gone kills it with SIGPIPE, as
 *                         in a shell (it does not ignore the signal)
 *   line_tools count      reads standard input to end of file, prints how
 *                         many lines it read
 *   line_tools first      reads until the first newline, prints that line,
 *                         exits without reading the rest (as `head -1`) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: line_tools gen N | count | first\n"), 2;
    if (strcmp(argv[1], "gen") == 0 && argc > 2) {
        long n = atol(argv[2]);
        for (long i = 1; i <= n; i++) {
            char line[32];
            int len = snprintf(line, sizeof line, "line %ld\n", i);
            if (write(1, line, (size_t)len) != len) return perror("write"), 1;
        }
        return 0;
    }
    char buf[4096];
    ssize_t got;
    long lines = 0;
    if (strcmp(argv[1], "count") == 0) {
        while ((got = read(0, buf, sizeof buf)) > 0)
            for (ssize_t i = 0; i < got; i++) lines += buf[i] == '\n';
        printf("%ld\n", lines);
        return got < 0;
    }
    if (strcmp(argv[1], "first") == 0) {
        size_t have = 0;
        while (have < sizeof buf - 1 && (got = read(0, buf + have, 1)) == 1)
            if (buf[have++] == '\n') break;
        buf[have] = 0;
        printf("%s", buf);
        return 0;
    }
    return fprintf(stderr, "line_tools: unknown mode %s\n", argv[1]), 2;
}

/* Tries to change the host's files, as a careless or hostile program would:
 * for each folder on the command line it creates, appends to, truncates,
 * chmods, renames and unlinks files there, makes a folder, a symlink and a
 * FIFO (unlinking the old one first, like a course program that makes its
 * FIFO at /tmp/2); then it tries to remount the root read-write, to unmount
 * /tmp, and to write through /proc/1/root. Each attempt prints one line,
 * "op path: ok" or "op path: <errno name>". Exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void said(const char *op, const char *path, int rc)
{
    if (rc == 0)
        printf("%s %s: ok\n", op, path);
    else
        printf("%s %s: %s\n", op, path, strerrorname_np(errno));
}

static int create(const char *path, int flags)
{
    int fd = open(path, flags, 0644);
    if (fd < 0)
        return -1;
    if (write(fd, "x", 1) != 1) {
        close(fd);
        return -1;
    }
    return close(fd);
}

int main(int argc, char **argv)
{
    char a[4096], b[4096];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        const char *dir = argv[i];
        snprintf(a, sizeof a, "%s/new", dir);
        said("create", a, create(a, O_WRONLY | O_CREAT | O_EXCL));
        snprintf(a, sizeof a, "%s/marker", dir);
        said("append", a, create(a, O_WRONLY | O_APPEND));
        said("chmod", a, chmod(a, 0777));
        said("truncate", a, truncate(a, 0));
        snprintf(a, sizeof a, "%s/marker2", dir);
        snprintf(b, sizeof b, "%s/renamed", dir);
        said("rename", a, rename(a, b));
        snprintf(a, sizeof a, "%s/victim", dir);
        said("unlink", a, unlink(a));
        snprintf(a, sizeof a, "%s/sub", dir);
        said("mkdir", a, mkdir(a, 0755));
        snprintf(a, sizeof a, "%s/link", dir);
        said("symlink", a, symlink("/etc/passwd", a));
        /* The course program: its FIFO at a fixed name, the old one unlinked first. */
        snprintf(a, sizeof a, "%s/2", dir);
        unlink(a);
        said("mkfifo", a, mkfifo(a, 0666));
        snprintf(a, sizeof a, "/proc/1/root%s/via_proc", dir);
        said("create", a, create(a, O_WRONLY | O_CREAT));
    }
    said("remount", "/", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
    said("umount", "/tmp", umount2("/tmp", MNT_DETACH));
    return 0;
}

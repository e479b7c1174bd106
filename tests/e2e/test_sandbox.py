"""End-to-end tests: sandbox."""
import json
import stat
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from support import *


@pytest.mark.serial
def test_no_sandbox():
    """Without namespaces the run still works, says so once, and removes its objects."""
    with tempfile.TemporaryDirectory() as out:
        r = Run(["scenarios/prodcons.toml", "--no-sandbox", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        check(r.stderr.count("running without a sandbox") == 1, r.stderr)
        check(r.trace(out, "prodcons")[0]["sandbox"] == "none", "trace says no sandbox")
        r.assert_nothing_left()


@pytest.mark.serial
def test_clean():
    """Without a sandbox, a run whose supervisor is killed leaves its objects, files and an escaped process;
    `simrun clean` finds them through the run's registry and removes them all (and touches no live run)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "crash"
timeout = "60s"
[ipc.sem.s]
members = {{ m = 1 }}
[ipc.shm.b]
cells = {{ x = 0 }}
[ipc.msg.q]
[ipc.mq.pq]
[ipc.psem.ps]
named = true
value = 1
[ipc.fifo.f]
[[process]]
name = "worker"
run = ["P s.m", "V s.m", "sleep 30s"]
[[process]]
name = "daemon"
exec = ["{program_path('escape')}"]
""")
        tag = new_tag()
        before, shm_before = ipc_objects(), set(os.listdir("/dev/shm"))
        env = dict(os.environ, SIMRUN_TEST_TAG=tag)
        p = subprocess.Popen([SIMRUN, path, "--out", d, "-q", "--no-sandbox"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while len(tagged_processes(tag)) < 4 and time.monotonic() < deadline:  # simrun, supervisor, worker, the escaped grandchild
            time.sleep(0.02)
        time.sleep(0.2)
        # Kill the supervisor itself (not simrun: its death would make the supervisor clean up).
        supervisor = [pid for pid in tagged_processes(tag) if open(f"/proc/{pid}/stat").read().split(")")[-1].split()[1] == str(p.pid)]
        check(len(supervisor) == 1, f"found the supervisor: {supervisor}")
        os.kill(supervisor[0], signal.SIGKILL)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        time.sleep(0.3)
        check(ipc_objects() - before, "the crashed run left its System V objects")
        check(set(os.listdir("/dev/shm")) - shm_before, "and its /dev/shm files")
        check(tagged_processes(tag), "and the escaped process")
        r = subprocess.run([SIMRUN, "clean"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and re.search(r"[1-9]\d* crashed runs? cleaned", r.stdout), r.stdout + r.stderr)
        for item in ("sem id=", "shm id=", "msg id=", "mqueue /simrun-", "/dev/shm/sem.simrun-", "process "):
            check(item in r.stdout, f"{item} removed: {r.stdout}")
        check(wait_gone(tag), f"processes left: {tagged_processes(tag)}")
        check(not (ipc_objects() - before), f"IPC objects left: {ipc_objects() - before}")
        check(not (set(os.listdir("/dev/shm")) - shm_before), f"/dev/shm left: {set(os.listdir('/dev/shm')) - shm_before}")
        r = subprocess.run([SIMRUN, "clean"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith("0 crashed runs cleaned"), "a second clean finds nothing: " + r.stdout)


@pytest.mark.serial
def test_clean_waits_for_what_it_killed():
    """A killed process holds its attachments until it has finished dying (a large one takes a while), and a
    segment removed while attached stays listed until then: `simrun clean` returns only when the processes it
    killed are dead, so the segments it names are gone when it says so. Without the wait this fails: the
    segment is still listed, its key already zero."""
    with tempfile.TemporaryDirectory() as d:
        key = 0x51e000 + os.getpid() % 4096
        path = write_scenario(d, f"""
[scenario]
name = "crash_held"
timeout = "60s"
[ipc.shm.b]
key = {key}
cells = {{ x = 0 }}
[[process]]
name = "holder"
exec = ["{program_path('hold_shm')}", "{key}", "400"]
""")
        tag = new_tag()
        before = ipc_objects()
        env = dict(os.environ, SIMRUN_TEST_TAG=tag)
        p = subprocess.Popen([SIMRUN, path, "--out", d, "-q", "--no-sandbox"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def holder_ready():  # found by its command line: a program's environment is the scenario's
            for pid in (int(e) for e in os.listdir("/proc") if e.isdigit()):
                try:
                    if f"hold_shm\0{key}\0".encode() not in open(f"/proc/{pid}/cmdline", "rb").read():
                        continue
                    status = open(f"/proc/{pid}/status").read()
                except OSError:
                    continue
                rss = re.search(r"VmRSS:\s+(\d+) kB", status)
                if rss and int(rss.group(1)) > 390 * 1024:
                    return True
            return False

        deadline = time.monotonic() + 20
        while not holder_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        check(holder_ready(), "the holder filled its 400 MB")
        supervisor = [pid for pid in tagged_processes(tag) if open(f"/proc/{pid}/stat").read().split(")")[-1].split()[1] == str(p.pid)]
        check(len(supervisor) == 1, f"found the supervisor: {supervisor}")
        os.kill(supervisor[0], signal.SIGKILL)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        check(ipc_objects() - before, "the crashed run left its segment")
        r = subprocess.run([SIMRUN, "clean"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "shm id=" in r.stdout and "process " in r.stdout, r.stdout + r.stderr)
        check(not (ipc_objects() - before), f"IPC objects left when clean returned: {ipc_objects() - before}")
        wait_gone(tag)


@pytest.mark.serial
def test_key_sweep():
    """A set a process creates under a declared key after simrun's was removed is removed at the end too,
    also without a sandbox (where it would otherwise outlive the run)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "sweep"
[ipc.sem.s]
members = { a = 1 }
key = 31337
[[process]]
name = "p"
run = ["semctl s IPC_RMID", "semget s 1 create excl"]
[[expect]]
final = "count(semget s 1 create excl) == 1"
""")
        r = Run([path, "-q", "--no-sandbox"], d)
        check(r.code == 0, r.stdout + r.stderr)
        r.assert_nothing_left()


@pytest.mark.serial
def test_leftovers_reported():
    """Without a sandbox, what a program leaves behind is listed; simrun removes what the program's traced
    calls made (ipcmk's msgget and semget) and only reports the rest (a /dev/shm file written by `echo`,
    which no traced call opened)."""
    with tempfile.TemporaryDirectory() as d:
        before = ipc_objects()
        r = Run(["scenarios/leaky_program.toml", "-q", "--no-sandbox"], d)
        left = ipc_objects() - before
        for kind, ident in left:
            subprocess.run(["ipcrm", {"sem": "-s", "shm": "-m", "msg": "-q"}[kind], ident], check=False)
        forgotten = os.path.exists("/dev/shm/forgotten")
        if forgotten:
            os.unlink("/dev/shm/forgotten")
        check(r.code == 0, r.stdout + r.stderr)
        check(r.stdout.count("left behind by the processes") == 3 and "/dev/shm/forgotten" in r.stdout, r.stdout)
        check(r.stdout.count("(simrun removed it)") == 2, r.stdout)
        check("/dev/shm/forgotten (not made by this run's processes" in r.stdout, r.stdout)
        check(not left, f"the two System V objects were still there: {left}")
        check(forgotten, "the file no traced call made was removed")


@pytest.mark.serial
def test_leftovers_of_every_kind_removed_without_a_sandbox():
    """Without a sandbox, each object a program's calls made and left (System V set, segment and queue;
    POSIX shared memory, semaphore and message queue) is listed and removed."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "leak"
timeout = "5s"
[[process]]
name = "student"
exec = ["{program_path('leak_ipc')}"]
[[expect]]
final = "ipc_left() == 6 && exit(student) == 0"
""")
        r = Run([path, "--no-sandbox"], d)
        check(r.code == 0, r.stdout + r.stderr)
        for name in ("mqueue /leak_mq", "/dev/shm/leak_shm", "/dev/shm/sem.leak_sem", "sem id=", "shm id=", "msg id="):
            check(re.search(f"left behind by the processes: {re.escape(name)}.*simrun removed it", r.stdout), f"{name} removed: {r.stdout}")
        opened = subprocess.run(["python3", "-c", "import ctypes, os; rt = ctypes.CDLL(None); "
                                 "print(rt.mq_open(b'/leak_mq', os.O_RDONLY))"], capture_output=True, text=True)
        check(opened.stdout.strip() == "-1", f"the queue was removed: mq_open gave {opened.stdout}")


def test_leftovers_every_kind():
    """In the sandbox, one leftover of each kind is found (System V set, segment and queue; POSIX shared
    memory, semaphore and message queue), listed, and gone after the run."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "leak"
timeout = "5s"
[[process]]
name = "student"
exec = ["{program_path('leak_ipc')}"]
[[expect]]
final = "ipc_left() == 6 && exit(student) == 0"
""")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        for name in ("mqueue /leak_mq", "/dev/shm/leak_shm", "/dev/shm/sem.leak_sem", "sem id=", "shm id=", "msg id="):
            check(f"left behind by the processes: {name}" in r.stdout, f"{name} listed: {r.stdout}")
        r.assert_nothing_left()
        check(not os.path.exists("/dev/mqueue/leak_mq"), "the queue died with the run's IPC namespace")


@pytest.mark.serial
def test_zombies_left():
    """A program that never waits for its children: zombies_left() counts them, the trace has a `reaped`
event for each, the report says so; in both sandbox modes, and a program that waits has none."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "zombies"
timeout = "5s"
[[process]]
name = "careless"
exec = ["{program_path('leave_zombies')}", "3"]
[[process]]
name = "careful"
exec = ["sh", "-c", "sleep 0.01 & wait"]
[[expect]]
final = "zombies_left() == 0"
""")
        for extra in ([], ["--no-sandbox"]):
            r = Run([path] + extra, d)
            check(r.code == 1 and "zombies_left() = 3" in r.stdout, r.stdout + r.stderr)
            check("simrun reaped 3 processes the programs started and never waited for" in r.stdout, r.stdout)
            reaped = [e for e in r.trace(d, "zombies") if e["kind"] == "reaped"]
            check(sorted(e["code"] for e in reaped) == [0, 1, 2], str(reaped))
            r.assert_nothing_left()


@pytest.mark.serial
def test_zombies_left_adopted():
    """A declared child whose parent dies before waiting: its exit is marked adopted."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "adopted"
timeout = "5s"
[[process]]
name = "parent"
run = ["sleep 10ms", "crash segv"]
[[process]]
name = "child"
parent = "parent"
run = ["sleep 50ms"]
[[expect]]
final = "zombies_left() == 1 && signal(parent) == SIGSEGV && exit(child) == 0"
""")
        r = Run([path], d)
        check(r.code == 0 and "(reaped by simrun: its parent never waited)" in r.stdout, r.stdout + r.stderr)
        exits = {e["proc"]: e for e in r.trace(d, "adopted") if e["kind"] == "exit"}
        check(exits["child"].get("adopted") is True and "adopted" not in exits["parent"], str(exits))


def test_a_child_left_running_is_left_behind():
    """A program that exits and leaves its child running: simrun kills the child once every declared process has
ended, and zombies_left() counts it, whichever ends first (before, a child killed there did not count, and a
grading run on a loaded machine gave a careless program full marks for its cleanup)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "left_running"
timeout = "5s"
[[process]]
name = "student"
exec = ["sh", "-c", "sleep 5 & exit 0"]
[[expect]]
final = "zombies_left() == 1 && exit(student) == 0"
""")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        end = [e for e in r.trace(d, "left_running") if e["kind"] == "run_end"][0]
        check(end["t"] < 3_000_000_000, "the run did not wait for the sleep")
        r.assert_nothing_left()


def test_no_network():
    """The sandbox has no network: a program sees only the loopback device."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "net"
timeout = "5s"
[[process]]
name = "probe"
exec = ["cat", "/proc/net/dev"]
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        out = "".join(e["data"] for e in r.trace(d, "net") if e["kind"] == "output")
        devices = sorted(line.split(":")[0].strip() for line in out.splitlines() if ":" in line)
        check(devices == ["lo"], f"only the loopback device: {devices}")


@pytest.mark.serial  # one run with --no-sandbox
def test_temporary_files_go_with_the_run():
    """In the sandbox a program's TMPDIR is /tmp, the run's own: what mktemp (or a compiler killed halfway)
    leaves there goes with the run, and nothing lands in the TMPDIR simrun was given. A TMPDIR the scenario
    sets is kept; without the sandbox TMPDIR is left as it was."""
    with tempfile.TemporaryDirectory() as d:
        host_tmp = os.path.join(d, "host_tmp")
        os.makedirs(host_tmp)
        text = """
[scenario]
name = "tmp"
timeout = "5s"
[[process]]
name = "maker"
exec = ["sh", "-c", "f=$(mktemp) && echo made $f && echo data > $f"]
"""
        path = write_scenario(d, text)
        env = dict(os.environ, TMPDIR=host_tmp)

        def made(extra):
            p = subprocess.run([SIMRUN, path, "-q", "--out", d] + extra, env=env, capture_output=True, text=True, timeout=60)
            check(p.returncode == 0, p.stdout + p.stderr)
            with open(os.path.join(d, "tmp", "trace.jsonl")) as f:
                out = "".join(e.get("data", "") for e in map(json.loads, f) if e["kind"] == "output")
            m = re.search(r"made (\S+)", out)
            check(m, out)
            return m.group(1)
        f = made([])
        check(f.startswith("/tmp/tmp."), f)
        check(os.listdir(host_tmp) == [] and not os.path.exists(f), f"{os.listdir(host_tmp)}, {f}")
        f = made(["--no-sandbox"])
        check(os.path.dirname(f) == host_tmp, f)
        os.unlink(f)
        # Kept, and writable there only as a declared workdir: the rest of the host is read-only.
        write_scenario(d, text.replace('exec = ', f'env = {{ TMPDIR = "{host_tmp}" }}\nworkdir = "{host_tmp}"\nexec = '))
        f = made([])
        check(os.path.dirname(f) == host_tmp, f)
        os.unlink(f)


@pytest.mark.serial
def test_out_in_dev_shm():
    """--out inside /dev/shm: the sandbox's private /dev/shm would hide it, so it is bound in at the same
    path; the trace and schedule land there, and the run's /dev/shm stays private otherwise."""
    marker = f"/dev/shm/simrun-test-marker-{uuid.uuid4().hex}"
    open(marker, "w").close()
    try:
        with tempfile.TemporaryDirectory(dir="/dev/shm") as out, tempfile.TemporaryDirectory() as d:
            path = write_scenario(d, """
[scenario]
name = "shm_out"
mode = "controlled"
timeout = "5s"
[[process]]
name = "lister"
exec = ["ls", "/dev/shm"]
""")
            for mode in ([], ["--no-sandbox"]):
                r = Run([path, "-q", "--out", out] + mode, d)
                check(r.code == 0, r.stdout + r.stderr)
                files = sorted(os.listdir(os.path.join(out, "shm_out")))
                check(files == ["schedule.toml", "trace.jsonl", "trace.simrun"], f"{mode}: the run's files in {out}: {files}")
                seen = "".join(e["data"] for e in r.trace(out, "shm_out") if e["kind"] == "output").split()
                sandboxed = not mode
                check((os.path.basename(marker) in seen) != sandboxed, f"{mode}: the program saw {seen}")
                if sandboxed:
                    check(seen == [os.path.basename(out)], f"only the bound output folder is shared: {seen}")
                    check("left behind" not in r.stdout + r.stderr, r.stdout + r.stderr)
                shutil.rmtree(os.path.join(out, "shm_out"))
    finally:
        os.unlink(marker)


@pytest.mark.serial
def test_permissions():
    """unprivileged = true drops every capability, also across exec; IPC_SET changes mode and owner. In the
    sandbox the run is uid 1000 (whoever started simrun) and exec'd programs have no capabilities; with
    [scenario] root = true it is uid 0 and programs keep every capability but CAP_SYS_ADMIN. Only the mapped
    uid exists there: IPC_SET to another is the kernel's EINVAL."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["scenarios/permissions.toml", "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        stat = [e for e in r.trace(d, "permissions") if e.get("cmd") == "IPC_STAT"][0]
        check(stat["mode"] == "0600" and stat["uid"] == 1000, str(stat))
        text = """
[scenario]
name = "caps"
timeout = "5s"
[ipc.sem.s]
members = { a = 1 }
[[process]]
name = "plain"
exec = ["grep", "CapEff", "/proc/self/status"]
[[process]]
name = "guest"
unprivileged = true
exec = ["grep", "CapEff", "/proc/self/status"]
[[process]]
name = "owner"
run = ["semctl s IPC_SET uid UID gid UID", "semctl s IPC_STAT"]
[[expect]]
stdout = "guest"
equals = "CapEff:\\t0000000000000000\\n"
"""
        none = "CapEff:\t0000000000000000\n"
        cap_sys_admin = 1 << 21
        for extra, root in (([], False), ([], True), (["--no-sandbox"], False)):
            path = write_scenario(d, text.replace("UID", "0" if not root else "1000").replace(
                'timeout = "5s"', 'timeout = "5s"\nroot = true' if root else 'timeout = "5s"'))
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, r.stdout + r.stderr)
            events = r.trace(d, "caps")
            out = {e["proc"]: e["data"] for e in events if e["kind"] == "output"}
            check(out["guest"] == none, f"{extra}: the guest has none: {out}")
            plain = int(out["plain"].split()[1], 16)
            setop, stat = [e for e in events if e.get("cmd") in ("IPC_SET", "IPC_STAT")]
            if extra:
                if os.geteuid() == 0:  # an unprivileged user has none to keep without a sandbox
                    check(plain != 0, f"without a sandbox root's program keeps its capabilities: {out}")
                    # The machine's own ids: the owner changes.
                    check(setop["result"] == 0 and stat["uid"] == 0 and stat["gid"] == 0, f"{setop} {stat}")
            elif root:
                check(plain != 0 and not plain & cap_sys_admin, f"root = true: every capability but CAP_SYS_ADMIN: {out}")
                check(setop.get("errno") == "EINVAL" and stat["uid"] == 0, f"{setop} {stat}")
            else:
                check(plain == 0, f"an exec'd program has no capabilities in the sandbox: {out}")
                check(setop.get("errno") == "EINVAL" and stat["uid"] == 1000, f"{setop} {stat}")
            r.assert_nothing_left()


@pytest.mark.serial
def test_explain_blocked():
    """At a timeout, a live exec'd program is explained from /proc: the system call it is blocked in, its
arguments, and the semaphore's value and waiters. Programs blocked for good in semops are a free-mode
deadlock."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "stuck"
timeout = "300ms"
[ipc.sem.lock]
members = {{ mutex = 0, empty = 1 }}
key = 4343
[[process]]
name = "student"
exec = ["{program_path('sem_block')}", "4343"]
[[process]]
name = "sleeper"
exec = ["sleep", "10"]
[[expect]]
outcome = "timeout"
""")
        for extra in ([], ["--no-sandbox"]):
            r = Run([path] + extra, d)
            check(r.code == 0, r.stdout + r.stderr)
            diagnosis = r.trace(d, "stuck")[-1]["diagnosis"]
            student = [line for line in diagnosis if "student" in line]
            check(len(student) == 1 and re.search(r"sleeping in semtimedop\(semid \d+ = lock, \[mutex -1\]\): lock.mutex = 0, 1 waiting",
                                                  student[0]), f"{extra}: {diagnosis}")
            check(any("sleeper runs sleep: sleeping in clock_nanosleep" in line for line in diagnosis), str(diagnosis))
            check("student: time limit (still running at the run's timeout)" in r.stdout, r.stdout)
            r.assert_nothing_left()


@pytest.mark.serial
def test_explain_blocked_programs_deadlock():
    """Two programs waiting on a semaphore nobody posts: a free-mode deadlock, found from /proc long before the timeout, each explained."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "programs_deadlock"
timeout = "20s"
[ipc.sem.gate]
members = {{ door = 0 }}
key = 4344
[[process]]
name = "w1"
exec = ["{program_path('sem_block')}", "4344"]
[[process]]
name = "w2"
exec = ["{program_path('sem_block')}", "4344"]
[[expect]]
outcome = "deadlock"
""", name="dl")
        for extra in ([], ["--no-sandbox"]):
            started = time.monotonic()
            r = Run([path, "-q"] + extra, d)
            end = r.trace(d, "programs_deadlock")[-1]
            check(r.code == 0 and time.monotonic() - started < 10, f"{extra}: {r.stdout}{r.stderr}")
            check(sum("semtimedop(semid" in l and "gate.door = 0, 2 waiting" in l for l in end["diagnosis"]) == 2, str(end["diagnosis"]))
            check(end["verdicts"]["w1"]["verdict"] == "stopped", str(end["verdicts"]))
            r.assert_nothing_left()


def test_not_executable():
    """A file without execute permission: could not start, EACCES."""
    with tempfile.TemporaryDirectory() as d:
        prog = os.path.join(d, "prog")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(prog, 0o644)
        path = write_scenario(d, f"""
[scenario]
name = "noexec"
timeout = "5s"
[[process]]
name = "student"
exec = ["{prog}"]
[[expect]]
final = "verdict(student) == NOT_STARTED"
""")
        r = Run([path], d)
        check(r.code == 0 and "student: could not start (exec " + prog + ": EACCES)" in r.stdout, r.stdout + r.stderr)
        r.assert_nothing_left()


def marker_tree(path):
    """A folder of files for host_writer to try to change."""
    os.makedirs(path)
    for name in ("marker", "marker2", "victim", "2"):
        with open(os.path.join(path, name), "w") as f:
            f.write(f"{name}\n")
        os.chmod(os.path.join(path, name), 0o644)


def tree_sum(path):
    """Names, kinds, modes and contents below `path`: equal before and after iff nothing changed."""
    import hashlib
    h = hashlib.sha256()
    for top, dirs, files in sorted(os.walk(path)):
        for name in sorted(dirs + files):
            p = os.path.join(top, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, path)} {st.st_mode:o} {st.st_size}\n".encode())
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


@pytest.mark.parametrize("root", [False, True], ids=["user", "root"])
def test_the_host_is_read_only_in_the_sandbox(root):
    """A program that tries to change files under /tmp, $HOME, the checkout and (as root) /etc, to remount
    the root read-write, to unmount the private /tmp and to write through /proc/1/root: every attempt fails,
    or under /tmp lands in the run's private copy; the marker trees on the host are unchanged. Its declared
    workdir is the one host folder it may change. With [scenario] root = true (uid 0, capabilities but
    CAP_SYS_ADMIN) the same holds."""
    tag = uuid.uuid4().hex[:12]
    places = {"tmp": f"/tmp/e2e-marker-{tag}", "checkout": os.path.join(ROOT, "build", f"e2e-marker-{tag}")}
    home = os.path.expanduser("~")
    if os.path.isdir(home) and os.access(home, os.W_OK):
        places["home"] = os.path.join(home, f".e2e-marker-{tag}")
    if os.geteuid() == 0:
        places["etc"] = f"/etc/e2e-marker-{tag}"
    try:
        for where, path in list(places.items()):
            try:
                marker_tree(path)
            except OSError:
                del places[where]  # not writable by this user: nothing to protect there
        check("tmp" in places, "a marker tree in /tmp")
        before = {w: tree_sum(p) for w, p in places.items()}
        with tempfile.TemporaryDirectory() as d:
            work = os.path.join(d, "work")
            marker_tree(work)
            argv = [program_path("host_writer")] + list(places.values()) + [work]
            path = write_scenario(d, f"""
[scenario]
name = "writer"
timeout = "10s"
root = {"true" if root else "false"}
[[process]]
name = "student"
workdir = "{work}"
exec = {json.dumps(argv)}
""")
            r = Run([path, "-q"], d)
            check(r.code == 0, r.stdout + r.stderr)
            out = "".join(e["data"] for e in r.trace(d, "writer") if e["kind"] == "output")
            lines = dict(line.rsplit(": ", 1) for line in out.splitlines())
            check(len(lines) == 10 * (len(places) + 1) + 2, out)
            for op, result in lines.items():
                path = op.split(" ", 1)[1]
                through_proc = path.startswith("/proc/1/root/")
                if through_proc:
                    path = path[len("/proc/1/root"):]  # the run's own root: the same view, as far as it is reachable
                if path.startswith(work) and not through_proc:
                    check(result == "ok", f"the workdir is writable: {op}: {result}")
                elif path.startswith("/tmp/") or path.startswith(work):
                    pass  # the private /tmp (it may succeed there: the host's tree is checked below), or the workdir
                else:
                    check(result != "ok", f"{op} must fail: {out}")
            after = {w: tree_sum(p) for w, p in places.items()}
            check(before == after, f"the host's marker trees changed: {[w for w in places if before[w] != after[w]]}")
            check(os.path.exists(os.path.join(work, "new")) and stat.S_ISFIFO(os.lstat(os.path.join(work, "2")).st_mode),
                  "what it did in its workdir is on the host")
            r.assert_nothing_left()
    finally:
        for path in places.values():
            shutil.rmtree(path, ignore_errors=True)


def test_without_a_sandbox_simrun_says_programs_can_touch_the_host():
    with tempfile.TemporaryDirectory() as d:
        r = Run(["scenarios/pipe_parent_child.toml", "-q", "--no-sandbox"], d)
        check(r.code == 0, r.stdout + r.stderr)
        check("the programs run as you and can change any file you can" in r.stderr, r.stderr)

"""End-to-end tests: limits."""
import json
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


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.serial
def test_hostile(name):
    """A hostile program is contained in both sandbox modes: it gets the right verdict, the run ends well
    within its timeout, and no process, IPC object, scratch folder or file is left."""
    argv, limits, verdict = HOSTILE[name]
    argv = [program_path(a[1:]) if a.startswith("@") else a for a in argv]
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "hostile"
timeout = "10s"
[[process]]
name = "student"
exec = {json.dumps(argv)}
limits = {limits}
""")
        scratch_before = {f for f in os.listdir(tempfile.gettempdir()) if f.startswith("simrun-work-")}
        for extra in ([], ["--no-sandbox"]):
            started = time.monotonic()
            r = Run([path, "-q"] + extra, d)
            elapsed = time.monotonic() - started
            end = r.trace(d, "hostile")[-1]
            got = end["verdicts"]["student"]
            check(got["verdict"] == verdict, f"{extra}: {got} {r.stdout}{r.stderr}")
            check(end["outcome"] == "completed" and elapsed < 8, f"{extra}: {end['outcome']} after {elapsed:.1f} s")
            check(f"student: {verdict}" in r.stdout or verdict == "ok", r.stdout)
            r.assert_nothing_left()
            scratch = {f for f in os.listdir(tempfile.gettempdir()) if f.startswith("simrun-work-")} - scratch_before
            check(not scratch, f"scratch folders left: {scratch}")
            check(not os.path.exists(os.path.join(ROOT, "big")) and not os.path.exists(os.path.join(d, "big")),
                  "the program wrote in the scratch folder, not the user's")


def test_online_judge():
    """stdout expectations: a wrong answer fails with what the program wrote; a crash is a signal."""
    with open(os.path.join(ROOT, "scenarios", "online_judge.toml")) as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "online_judge.in"), "w") as f:
            f.write("10 20\n")
        r = Run([write_scenario(d, text.replace('equals = "7\\n"', 'equals = "8\\n"'), "wrong"), "-q"], d)
        check(r.code == 1 and 'adder wrote "7\\n"' in r.stdout, r.stdout + r.stderr)
        path = write_scenario(d, """
[scenario]
name = "crashes"
[[process]]
name = "segv"
run = ["crash segv"]
[[process]]
name = "abrt"
run = ["crash abort"]
[[expect]]
final = "signal(segv) == 11 && signal(abrt) == 6"
""", "crash")
        for mode in ([], ["--controlled", "--seed", "1"]):
            r = Run([path, "-q"] + mode, d)
            check(r.code == 0, r.stdout + r.stderr)
            r.assert_nothing_left()
        check(not [f for f in os.listdir(ROOT) if f.startswith("core")], "no core file left")
        os.unlink(os.path.join(d, "online_judge.in"))
        fresh = os.path.join(d, "fresh")
        r = Run([os.path.join(d, "wrong.toml"), "--out", fresh], d)
        check(r.code == 2 and "stdin_file = \"online_judge.in\"" in r.stderr and "cannot read" in r.stderr, r.stderr)
        check(not os.path.exists(fresh), "nothing ran")


@pytest.mark.serial
def test_closed_stdio_idle():
    """A program that closes its stdout and stderr, then waits, leaves the supervisor idle: the pipes' end
    of file is seen once, not at every turn (before the fix the supervisor spun on their POLLHUP, a core
    taken from the programs it traces). Measured as simrun's CPU time against the same run with the
    pipes kept open; a spin costs about the whole second."""
    def cpu_of(d, command, extra):
        path = write_scenario(d, f"""
[scenario]
name = "idle"
timeout = "10s"
[[process]]
name = "quiet"
exec = ["sh", "-c", {json.dumps(command)}]
""")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = Run([path, "-q"] + extra, d)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        check(r.code == 0, r.stdout + r.stderr)
        r.assert_nothing_left()
        return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    with tempfile.TemporaryDirectory() as d:
        for extra in ([], ["--no-sandbox"]):
            kept = cpu_of(d, "sleep 1", extra)
            closed = cpu_of(d, "exec >&- 2>&-; sleep 1", extra)
            check(closed < kept + 0.3, f"{extra}: {closed:.2f} s of CPU with stdout and stderr closed, {kept:.2f} s with them open")


def bomb_scenario(d, name, command, timeout):
    return write_scenario(d, f"""
[scenario]
name = "{name}"
timeout = "{timeout}"
[[process]]
name = "bomb"
exec = ["sh", "-c", {json.dumps(command)}]
limits = {{ processes = 50 }}
""", name)


@pytest.mark.serial
def test_a_fork_bomb_whose_first_process_exits_at_once_ends_within_its_timeout():
    """`sh -c 'f() { f | f & }; f'`: the first process exits at once, its descendants grow. The run ends
    when it does, within its timeout, killing them all (before the fix simrun stopped counting the group
    as the run ended, then killed one per pass: 15 s, once 340 s for a 3 s timeout, 19 000 processes)."""
    with tempfile.TemporaryDirectory() as d:
        path = bomb_scenario(d, "bomb", "f() { f | f & }; f", "3s")
        for extra in ([], ["--no-sandbox"]):
            for _ in range(8):
                started = time.monotonic()
                r = Run([path, "-q"] + extra, d)
                elapsed = time.monotonic() - started
                end = r.trace(d, "bomb")[-1]
                check(elapsed < 5 and end["outcome"] == "completed", f"{extra}: {end['outcome']} after {elapsed:.1f} s")
                # Unprivileged, RLIMIT_NPROC can make the shell's own fork fail: "Cannot fork", exit 2.
                allowed = ("ok", "process limit") if os.geteuid() == 0 else ("ok", "process limit", "runtime error")
                check(end["verdicts"]["bomb"]["verdict"] in allowed, f"{extra}: {end['verdicts']}")
                r.assert_nothing_left()


@pytest.mark.serial
def test_a_fork_bomb_that_leaves_its_process_group_is_stopped_at_the_runs_process_limit():
    """A bomb started with setsid leaves the process group simrun counts; the run's processes together
    (every declared process plus the programs' process limits) still bound it, where RLIMIT_NPROC does not
    count (simrun run as root): the program is killed with every process of the run, well before its
    `sleep 5` or the timeout. Unprivileged, RLIMIT_NPROC holds the bomb and the sleep ends the run."""
    with tempfile.TemporaryDirectory() as d:
        path = bomb_scenario(d, "setsid_bomb", "setsid sh -c 'f() { f | f & }; f'; sleep 5", "20s")
        for extra in ([], ["--no-sandbox"]):
            started = time.monotonic()
            r = Run([path, "-q"] + extra, d)
            elapsed = time.monotonic() - started
            end = r.trace(d, "setsid_bomb")[-1]
            verdict = end["verdicts"]["bomb"]["verdict"]
            if os.geteuid() == 0:
                check(verdict == "process limit" and elapsed < 10, f"{extra}: {verdict} after {elapsed:.1f} s\n{r.stdout}")
            else:  # RLIMIT_NPROC holds the bomb: the shell's 5 s sleep ends the run (before: a 30 s sleep ran into the 20 s timeout)
                check(verdict in ("ok", "process limit") and elapsed < 15, f"{extra}: {verdict} after {elapsed:.1f} s")
            r.assert_nothing_left()


MANY = """
[scenario]
name = "many"
max_processes = 300
[ipc.shm.c]
cells = { n = 0 }
[[process]]
name = "w"
count = 300
run = ["c.n += 1 atomic"]
[[expect]]
final = "c.n == 300"
"""


def test_more_processes_than_the_user_may_start_is_an_error_before_anything_runs():
    """A scenario of 300 processes under a process limit (RLIMIT_NPROC) of 60: exit 2 with the limit named and
what to raise, nothing spawned (no output folder, no process of the run), instead of forks failing halfway;
the same scenario without the limit runs."""
    with tempfile.TemporaryDirectory() as d:
        os.chmod(os.path.dirname(d), 0o711)  # the test's own temporary folder: nobody may pass through it
        os.chmod(d, 0o777)
        path = write_scenario(d, MANY, "many")
        os.chmod(path, 0o644)
        # RLIMIT_NPROC binds an ordinary user only: as root, the run is made as nobody.
        as_user = [] if os.geteuid() != 0 else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        tag = new_tag()
        env = dict(os.environ, SIMRUN_TEST_TAG=tag, NO_COLOR="1", HOME=d)
        p = subprocess.run(as_user + ["prlimit", "--nproc=60:60", SIMRUN, path, "--out", d, "-q"], cwd=d, env=env,
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 2, f"exit {p.returncode}\n{p.stdout}{p.stderr}")
        check("the run needs 300 processes" in p.stderr and "RLIMIT_NPROC" in p.stderr and "ulimit -u" in p.stderr, p.stderr)
        check(not os.path.exists(os.path.join(d, "many", "trace.jsonl")), "nothing ran")
        check(not tagged_processes(tag), "nothing spawned")
        r = Run([path, "-q"], d)
        check(r.code == 0, f"exit {r.code}\n{r.stdout}{r.stderr}")
        r.assert_nothing_left()

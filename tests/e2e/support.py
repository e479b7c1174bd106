"""What the end-to-end tests share: running the real simrun binary, reading
its trace, and looking for what a run may have left behind (processes,
System V objects, /dev/shm files).

The binary is $SIMRUN_BIN, the test programs are in $SIMRUN_TEST_PROGRAMS
(CTest sets both; see tests/e2e/README.md)."""
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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIMRUN = os.path.abspath(os.environ.get("SIMRUN_BIN", os.path.join(ROOT, "build", "simrun")))
# Every run's tag, for the leak check after each test (conftest.py).
RUN_TAGS = []


def new_tag():
    """A tag for a run's processes (SIMRUN_TEST_TAG in their environment), checked after the test."""
    tag = uuid.uuid4().hex
    RUN_TAGS.append(tag)
    return tag


def scenario_names():
    """Every scenario of the library (scenarios/*.toml), by name."""
    return sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "scenarios")) if f.endswith(".toml"))

# Scenarios whose own expectations are meant to fail.
EXPECTED_EXIT = {"race": 1, "race_explore": 1, "peterson_wrong": 1}


# Free-mode races: the kernel decides whether the two processes overlap, and
# on a loaded machine one may now and then finish before the other starts.
# They are run up to this many times until the race shows.
RACE_ATTEMPTS = {"race": 5}


class Failure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def ipc_objects():
    """System V objects visible here, as (kind, id) pairs."""
    found = set()
    for kind in ("sem", "shm", "msg"):
        with open(f"/proc/sysvipc/{kind}") as f:
            next(f)
            for line in f:
                found.add((kind, line.split()[1]))
    return found


def tagged_processes(tag):
    """Pids of live processes whose environment carries our tag."""
    pids = []
    needle = f"SIMRUN_TEST_TAG={tag}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    with open(f"/proc/{entry}/stat") as s:
                        if s.read().split(")")[-1].split()[0] != "Z":
                            pids.append(int(entry))
        except OSError:
            pass
    return pids


class Run:
    def __init__(self, args, out_dir, timeout=60):
        self.tag = new_tag()
        env = dict(os.environ, SIMRUN_TEST_TAG=self.tag, NO_COLOR="1")
        self.ipc_before = ipc_objects()
        if args[0] != "check" and "--out" not in args:
            args = args + ["--out", out_dir]
        self.shm_before = set(os.listdir("/dev/shm"))
        p = subprocess.run([SIMRUN] + args, cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=timeout)
        self.code, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        # No test's programs write over their trace rings: a record the decoder
        # refused here is the decoder's mistake (it once refused the reaped).
        check("trace record" not in p.stdout + p.stderr or "did not make sense" not in p.stdout + p.stderr,
              "the decoder skipped records of an ordinary run: " + p.stdout + p.stderr)

    def trace(self, out_dir, name):
        with open(os.path.join(out_dir, name, "trace.jsonl")) as f:
            return [json.loads(line) for line in f]

    def assert_nothing_left(self):
        check(not tagged_processes(self.tag), "processes of the run outlived it")
        leaked = ipc_objects() - self.ipc_before
        check(not leaked, f"IPC objects left behind: {leaked}")
        files = set(os.listdir("/dev/shm")) - self.shm_before
        check(not files, f"files left in /dev/shm: {files}")


def check_trace(events, scenario_name, completed=True):
    """Invariants every trace must satisfy."""
    check(events[0]["kind"] == "run_start" and events[0]["schema"] == "simrun-trace/3", "first line is run_start v3")
    check(events[-1]["kind"] == "run_end", "last line is run_end")
    seqs = [e["seq"] for e in events]
    check(seqs == list(range(len(events))), "seq numbers are 0..n-1 in order")
    times = [e["t"] for e in events if "t" in e]
    check(times == sorted(times), "timestamps never go backwards")
    procs = events[0]["processes"]
    spawns = {e["proc"]: e["pid"] for e in events if e["kind"] == "spawn"}
    exits = [e for e in events if e["kind"] == "exit"]
    check(set(spawns) == set(procs), f"every process spawned once: {sorted(spawns)} vs {sorted(procs)}")
    check(len(exits) == len(procs), "every process exited once")
    for e in exits:
        check(e["pid"] == spawns[e["proc"]], f"exit pid of {e['proc']} matches its spawn")
    for e in events:
        if e["kind"] in ("op", "block") and e.get("sem") is not None and "value" in e:
            check(e["value"] >= 0, f"semaphore value never negative: {e}")
    # Cause before effect: no message received before as many were sent, no byte
    # read from a pipe before it was written (writes and sends are dated when they begin).
    sent, received, written, read = {}, {}, {}, {}
    # A pipe an exec'd program writes (its stdout) has no write ops: its writes are the program's calls.
    scripted_writes = {e.get("obj") for e in events if e["kind"] == "op" and e["op"] == "write"}
    for e in events:
        if e["kind"] != "op" or e.get("result", -1) < 0:
            continue
        obj = e.get("obj")
        if e["op"] == "send":
            sent[obj] = sent.get(obj, 0) + 1
        elif e["op"] == "recv":
            received[obj] = received.get(obj, 0) + 1
            check(received[obj] <= sent.get(obj, 0), f"a recv on {obj} before its send: {e}")
        elif e["op"] == "write":
            written[obj] = written.get(obj, 0) + e["result"]
        elif e["op"] == "read" and obj in scripted_writes:
            read[obj] = read.get(obj, 0) + e["result"]
            check(read[obj] <= written.get(obj, 0), f"bytes read from {obj} before they were written: {e}")
    return spawns, exits


def ops_per_index(events, proc):
    counts = {}
    for e in events:
        if e["kind"] == "op" and e["proc"] == proc:
            counts[e["op_index"]] = counts.get(e["op_index"], 0) + 1
    return counts


def write_scenario(directory, text, name="t"):
    path = os.path.join(directory, f"{name}.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def program_scenario(directory, name, argv, mode="free", timeout="20s", extra=""):
    """A scenario that runs one program of tests/programs (argv[0] by its name) as process "student";
    `extra` is appended (expectations, more keys of the process)."""
    exec_argv = [program_path(argv[0])] + list(argv[1:])
    return write_scenario(directory, f"""
[scenario]
name = "{name}"
timeout = "{timeout}"
mode = "{mode}"
[[process]]
name = "student"
exec = {json.dumps(exec_argv)}
{extra}""", name=name)


LONG_RUN = """
[scenario]
name = "long"
timeout = "60s"
[ipc.sem.s]
members = { m = 1 }
[ipc.shm.b]
cells = { x = 0 }
[[process]]
name = "worker"
count = 3
run = ["P s.m", "V s.m", "sleep 30s"]
[[process]]
name = "kid"
parent = "worker#0"
run = ["sleep 30s"]
"""


def start_long_run(d, extra):
    path = write_scenario(d, LONG_RUN)
    tag = new_tag()
    before = ipc_objects()
    env = dict(os.environ, SIMRUN_TEST_TAG=tag)
    p = subprocess.Popen([SIMRUN, path, "--out", d, "-q"] + extra, cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while len(tagged_processes(tag)) < 6 and time.monotonic() < deadline:  # simrun, supervisor, 4 processes
        time.sleep(0.02)
    check(len(tagged_processes(tag)) >= 6, "the run started its processes")
    return p, tag, before


def wait_gone(tag, seconds=5):
    deadline = time.monotonic() + seconds
    while tagged_processes(tag) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not tagged_processes(tag)


def normalized(events):
    """The event sequence without what legitimately differs between runs: time and pids (run_end's contention
    figures in ns and the processes' context switches included)."""
    def timeless(e):
        e = {k: v for k, v in e.items() if k not in ("t", "pid", "parent_pid")}
        if "contention" in e:
            e["contention"] = {kind: [{k: v for k, v in row.items() if not k.endswith(("_ns", "_switches"))} for row in rows]
                               for kind, rows in e["contention"].items()}
        return e
    return [timeless(e) for e in events]


def prodcons_with_fault(undo, step):
    with open(os.path.join(ROOT, "scenarios", "prodcons.toml")) as f:
        text = f.read()
    text = text.replace('timeout     = "10s"', 'timeout = "10s"\nmode = "controlled"\nseed = 11')
    if not undo:
        text = text.replace("members = { mutex = 1 }\nundo    = true", "members = { mutex = 1 }")
    text = text.replace('name   = "consumer"\ncount  = 2', 'name   = "consumer"\ncount  = 2\nmay_end_blocked = true')
    text = text[:text.index('[[expect]]\nname  = "every item consumed"')]
    if step is not None:
        text += f'\n[[fault]]\nprocess = "producer#0"\nsignal = "SIGKILL"\nat_step = {step}\n'
    return text


def held_mutex_at_fault(events):
    held = False
    for e in events:
        if e["kind"] == "fault":
            return held
        if e["kind"] == "op" and e["proc"] == "producer#0" and e.get("obj") == "lock.mutex" and e["result"] == 0:
            held = e["op"] == "P"
    return None  # the fault never fired: the victim had already exited


def fault_seq(events):
    for e in events:
        if e["kind"] == "fault":
            return e["seq"]
    return 1 << 60


def program_path(name):
    return os.path.join(os.environ["SIMRUN_TEST_PROGRAMS"], name)


# Hostile programs: (exec argv, limits, the verdict they must get). Paths
# starting with '@' are test programs.
HOSTILE = {
    "fork_bomb": (["@fork_bomb"], "{ processes = 40 }", "process limit"),
    "endless_loop": (["@spin"], '{ cpu = "1s" }', "time limit"),
    "memory_hog": (["@memory_hog"], '{ memory = "128MiB" }', "memory limit"),
    "output_flood": (["yes", "flood"], '{ output = "64KiB" }', "output limit"),
    "stderr_flood": (["sh", "-c", "exec yes >&2"], '{ output = "64KiB" }', "output limit"),
    "closed_stdout": (["sh", "-c", "exec 1>&-; echo lost; exec >/dev/null; echo gone"], "{}", "ok"),
    "ignores_sigterm": (["sh", "-c", "trap '' TERM; sleep 30"], '{ wall = "300ms" }', "time limit"),
    "escape": (["@escape"], "{}", "ok"),
    "huge_file": (["sh", "-c", "exec head -c 10000000 /dev/zero > big"], '{ file_size = "1MiB" }', "killed by a signal"),
    "missing_program": (["/nonexistent/program"], "{}", "could not start"),
}

#!/usr/bin/env python3
"""End-to-end tests: run the real simrun binary on real scenarios.

Usage: e2e.py SIMRUN_BINARY CASE [ARG]
Each case spawns real processes and kernel objects, then asserts on the exit
code, the terminal output, trace.jsonl, and on what is left behind (nothing:
no process, no IPC object, no file in /dev/shm).
"""
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
SIMRUN = None

# Scenarios whose own expectations are meant to fail.
EXPECTED_EXIT = {"race": 1, "race_explore": 1}
# Free-mode races: the kernel decides whether the two processes overlap, and
# on a loaded machine one may now and then finish before the other starts.
# They are run up to this many times until the race shows.
RACE_ATTEMPTS = {"race": 5}


class Failure(Exception):
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
        self.tag = uuid.uuid4().hex
        env = dict(os.environ, SIMRUN_TEST_TAG=self.tag, NO_COLOR="1")
        self.ipc_before = ipc_objects()
        if args[0] != "check" and "--out" not in args:
            args = args + ["--out", out_dir]
        self.shm_before = set(os.listdir("/dev/shm"))
        p = subprocess.run([SIMRUN] + args, cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=timeout)
        self.code, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr

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
    check(events[0]["kind"] == "run_start" and events[0]["schema"] == "simrun-trace/1", "first line is run_start v1")
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
        elif e["op"] == "read":
            read[obj] = read.get(obj, 0) + e["result"]
            check(read[obj] <= written.get(obj, 0), f"bytes read from {obj} before they were written: {e}")
    return spawns, exits


def ops_per_index(events, proc):
    counts = {}
    for e in events:
        if e["kind"] == "op" and e["proc"] == proc:
            counts[e["op_index"]] = counts.get(e["op_index"], 0) + 1
    return counts


# ---- cases -----------------------------------------------------------------

def case_scenario(name):
    """Every scenario in scenarios/ runs with its expected exit code, a sound trace, and no leftovers."""
    with tempfile.TemporaryDirectory() as out:
        want = EXPECTED_EXIT.get(name, 0)
        for _ in range(RACE_ATTEMPTS.get(name, 1)):
            r = Run([f"scenarios/{name}.toml"], out)
            if r.code == want:
                break
        check(r.code == want, f"exit {r.code}, expected {want}\n{r.stdout}\n{r.stderr}")
        events = r.trace(out, name)
        check_trace(events, name)
        r.assert_nothing_left()
        check("differ from the kernel" not in r.stdout, "replayed semaphore values agree with the kernel's")
        expects = [e for e in events if e["kind"] == "expect"]
        check(expects, "expectation results are in the trace")
        check(all(e["passed"] for e in expects) == (want == 0), "expectation results agree with the exit code")


def case_prodcons_counts():
    """Each op of each script ran `repeat` times; P/V counts match; the buffer stays within 0..5."""
    with tempfile.TemporaryDirectory() as out:
        r = Run(["scenarios/prodcons.toml", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(out, "prodcons")
        check_trace(events, "prodcons")
        for proc in ("producer#0", "producer#1", "consumer#0", "consumer#1"):
            counts = ops_per_index(events, proc)
            # ops 0,1,3,4 are P/V (one event each); op 2 is a racy += (load and store steps).
            check(counts == {0: 10, 1: 10, 2: 20, 3: 10, 4: 10}, f"{proc} op counts {counts}")
        pv = [e for e in events if e["kind"] == "op" and e["op"] in ("P", "V")]
        check(len([e for e in pv if e["op"] == "P"]) == 80 and len([e for e in pv if e["op"] == "V"]) == 80, "80 P and 80 V")
        check(all(e["result"] == 0 for e in pv), "every P and V succeeded")
        stores = [e["value"] for e in events if e.get("step") == "store"]
        check(stores and all(0 <= v <= 5 for v in stores), "buf.count stayed within 0..5")
        undo = {e["obj"]: e["undo"] for e in pv}
        check(undo["lock.mutex"] is True and undo["slots.empty"] is False, "SEM_UNDO follows the set's default")


def case_race_loses_updates():
    """The racy counter loses updates; the failed expectation shows the final value."""
    with tempfile.TemporaryDirectory() as out:
        for _ in range(RACE_ATTEMPTS["race"]):  # free mode: the race shows in most runs, not in all
            r = Run(["scenarios/race.toml", "-q"], out)
            if r.code == 1:
                break
        check(r.code == 1, r.stdout + r.stderr)
        m = re.search(r"counter\.value = (\d+)", r.stdout)
        check(m and int(m.group(1)) < 100000, f"final value shown and below 100000: {r.stdout}")
        events = r.trace(out, "race")
        loads = [e for e in events if e.get("step") == "load"]
        stores = [e for e in events if e.get("step") == "store"]
        check(len(loads) == len(stores) == 100000, "each += is one load step and one store step")


def case_deadlock_reported():
    """Opposite lock order deadlocks; the report names who waits on what, long before the timeout."""
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        r = Run(["scenarios/deadlock.toml"], out)
        check(r.code == 0, r.stdout + r.stderr)
        check(time.monotonic() - start < 5, "deadlock found well before the 10 s timeout")
        check("left waits in 'P locks.b' (locks.b = 0)" in r.stdout, r.stdout)
        check("right waits in 'P locks.a' (locks.a = 0)" in r.stdout, r.stdout)
        # Free mode names the wait-for graph's cycle too (run/wait_for.hpp), as controlled mode does.
        check("cycle: left → right → left" in r.stdout, r.stdout)
        events = r.trace(out, "deadlock")
        check(events[-1]["outcome"] == "deadlock", "run_end says deadlock")
        blocks = [e for e in events if e["kind"] == "block"]
        check(len(blocks) == 2, "both blocks recorded")
        r.assert_nothing_left()


def write_scenario(directory, text, name="t"):
    path = os.path.join(directory, f"{name}.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def case_timeout():
    """The timeout kills every process; the report says who was alive and in which op."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "slow"
timeout = "300ms"
[ipc.sem.s]
members = { gate = 0 }
[[process]]
name = "sleeper"
run = ["sleep 20s"]
[[process]]
name = "waiter"
run = ["P s.gate"]
[[process]]
name = "kid"
parent = "sleeper"
run = ["sleep 30s"]
""")
        start = time.monotonic()
        r = Run([path], d)
        check(time.monotonic() - start < 5, "the run ended at its timeout")
        check(r.code == 1, f"timeout not expected: exit 1, got {r.code}\n{r.stdout}{r.stderr}")
        check("outcome: timeout" in r.stdout, r.stdout)
        check("sleeper sleeps in 'sleep 20s'" in r.stdout, r.stdout)
        check("waiter waits in 'P s.gate' (s.gate = 0)" in r.stdout, r.stdout)
        check("kid sleeps in 'sleep 30s'" in r.stdout, r.stdout)
        events = r.trace(d, "slow")
        kills = [e for e in events if e["kind"] == "exit" and e.get("signal") == "SIGKILL"]
        check(len(kills) == 3, f"three processes killed: {kills}")
        r.assert_nothing_left()


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
    tag = uuid.uuid4().hex
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


def case_sigkill(mode):
    """SIGKILL of simrun mid-run leaves no process and no IPC object behind."""
    extra = ["--no-sandbox"] if mode == "nosandbox" else []
    with tempfile.TemporaryDirectory() as d:
        p, tag, before = start_long_run(d, extra)
        if mode == "nosandbox":
            check(ipc_objects() - before, "without a sandbox the objects are visible here while it runs")
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        check(wait_gone(tag), f"processes left after SIGKILL of simrun: {tagged_processes(tag)}")
        deadline = time.monotonic() + 5
        while ipc_objects() - before and time.monotonic() < deadline:
            time.sleep(0.02)
        check(not (ipc_objects() - before), f"IPC objects left: {ipc_objects() - before}")


def case_clean():
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
exec = ["{test_program('escape')}"]
""")
        tag = uuid.uuid4().hex
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


def case_sigterm(which="TERM", mode="ns"):
    """SIGTERM or SIGINT (Ctrl-C) stops the run cleanly, with or without a sandbox: outcome interrupted,
    exit 130, a complete trace, no process, IPC object or /dev/shm file left."""
    extra = ["--no-sandbox"] if mode == "nosandbox" else []
    with tempfile.TemporaryDirectory() as d:
        shm_before = set(os.listdir("/dev/shm"))
        p, tag, before = start_long_run(d, extra)
        os.kill(p.pid, signal.SIGTERM if which == "TERM" else signal.SIGINT)
        out, err = p.communicate(timeout=10)
        check(p.returncode == 130, f"exit {p.returncode}\n{out}{err}")
        check(wait_gone(tag), "processes left after SIGTERM")
        with open(os.path.join(d, "long", "trace.jsonl")) as f:
            events = [json.loads(line) for line in f]
        check(events[-1]["kind"] == "run_end" and events[-1]["outcome"] == "interrupted", "trace ends with interrupted")
        check(len([e for e in events if e["kind"] == "exit"]) == 4, "every process's death recorded")
        check(not (ipc_objects() - before), f"IPC objects left: {ipc_objects() - before}")
        check(not (set(os.listdir("/dev/shm")) - shm_before), "/dev/shm files left")


def case_no_sandbox():
    """Without namespaces the run still works, says so once, and removes its objects."""
    with tempfile.TemporaryDirectory() as out:
        r = Run(["scenarios/prodcons.toml", "--no-sandbox", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        check(r.stderr.count("running without a sandbox") == 1, r.stderr)
        check(r.trace(out, "prodcons")[0]["sandbox"] == "none", "trace says no sandbox")
        r.assert_nothing_left()


def case_exec_stdio():
    """An exec'd program gets its stdin text; its stdout is captured into the trace; exit codes are checked."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "execs"
[[process]]
name = "cat"
exec = ["cat"]
stdin = "3 4\\n"
[[process]]
name = "fails"
exec = ["sh", "-c", "echo out; exit 3"]
[[process]]
name = "missing"
exec = ["/nonexistent/program"]
[[expect]]
final = "exit(cat) == 0 && exit(fails) == 3 && exit(missing) == 127"
""")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "execs")
        check_trace(events, "execs")
        out = "".join(e["data"] for e in events if e["kind"] == "output" and e["proc"] == "cat")
        check(out == "3 4\n", f"cat echoed its stdin: {out!r}")
        failed = [e for e in events if e["kind"] == "exec_failed"]
        check(len(failed) == 1 and failed[0]["errno"] == "ENOENT", f"exec failure recorded: {failed}")
        r.assert_nothing_left()


def case_bad_scenario():
    """A bad scenario: positioned error with the line and a caret, exit 2, nothing spawned or written."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """[ipc.sem.slots]
members = { empty = 5, full = 0 }
[[process]]
name = "p"
run = ["P slots.emtpy"]
""")
        r = Run([path], d)
        check(r.code == 2, f"exit {r.code}")
        want = (f"{path}:5:11: error: unknown semaphore 'slots.emtpy' (did you mean 'slots.empty'?)\n"
                'run = ["P slots.emtpy"]\n'
                "          ^\n")
        check(r.stderr == want, f"got:\n{r.stderr}\nwant:\n{want}")
        check(os.listdir(d) == ["t.toml"], "nothing written")
        r2 = Run(["check", path], d)
        check(r2.code == 2 and r2.stderr == want, "simrun check reports the same error")


def case_bad_paths():
    """Paths a run needs (an ftok path) are checked before anything runs: positioned error, exit 2."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """[ipc.msg.q]
key = { ftok = "/nonexistent/simrun", proj = 1 }
[[process]]
name = "p"
run = ["recv q nowait"]
""")
        r = Run([path], d)
        check(r.code == 2, f"exit {r.code}: {r.stderr}")
        check(r.stderr.startswith(f"{path}:2:16: error: ftok needs an existing path: /nonexistent/simrun: No such file or directory"), r.stderr)
        check(os.listdir(d) == ["t.toml"], "nothing ran")
        path = write_scenario(d, """[[process]]
name = "p"
exec = ["true"]
workdir = "missing"
""")
        r = Run([path], d)
        check(r.code == 2 and r.stderr.startswith(f"{path}:4:11: error: workdir {d}/missing is not a folder: it does not exist"), r.stderr)
        check("^" in r.stderr and os.listdir(d) == ["t.toml"], "nothing ran")


def case_check_ok():
    """simrun check validates without running."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["check", "scenarios/prodcons.toml"], d)
        check(r.code == 0 and "ok (4 processes" in r.stdout, r.stdout + r.stderr)
        check(os.listdir(d) == [], "check writes nothing")


def case_usage_errors():
    """Command-line mistakes exit 2 with a message; --help exits 0."""
    with tempfile.TemporaryDirectory() as d:
        check(Run(["--help"], d).code == 0, "--help")
        r = Run(["--bogus", "scenarios/prodcons.toml"], d)
        check(r.code == 2 and "bogus" in r.stderr, r.stderr)
        r = Run(["/nonexistent.toml"], d)
        check(r.code == 2 and "cannot read scenario" in r.stderr, r.stderr)
        r = Run(["scenarios/prodcons.toml", "--out", "/etc/passwd/sub"], d)
        check(r.code == 2 and "cannot create the output folder /etc/passwd/sub/prodcons: Not a directory" in r.stderr, r.stderr)
        check(not tagged_processes(r.tag), "nothing spawned")


def case_docs_examples():
    """Every toml block in docs/scenario-format.md is a complete scenario that runs and passes."""
    with open(os.path.join(ROOT, "docs", "scenario-format.md")) as f:
        blocks = re.findall(r"```toml\n(.*?)```", f.read(), re.S)
    check(len(blocks) >= 4, f"found {len(blocks)} examples")
    for i, text in enumerate(blocks):
        with tempfile.TemporaryDirectory() as d:
            path = write_scenario(d, text, f"example{i}")
            r = Run([path, "-q"], d)
            check(r.code == 0, f"docs example {i} exited {r.code}:\n{text}\n{r.stdout}{r.stderr}")
            r.assert_nothing_left()


def case_undo_at_exit():
    """The kernel applies SEM_UNDO when a process exits; the trace shows it, value before and after."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "undo"
timeout = "5s"
[ipc.sem.lock]
members = { mutex = 1 }
undo = true
[ipc.sem.slots]
members = { full = 0 }
[[process]]
name = "holder"
run = ["P lock.mutex", "V slots.full undo", "V slots.full undo", "V slots.full undo", "exit 0"]
[[process]]
name = "waiter"
run = ["sleep 100ms", "P lock.mutex", "V lock.mutex"]
[[expect]]
name = "the dead holder's mutex came back, its posts to full were taken back"
final = "lock.mutex == 1 && slots.full == 0"
""")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        check("differ from the kernel" not in r.stdout, "replayed values agree with the kernel's")
        events = r.trace(d, "undo")
        undo = {e["obj"]: e for e in events if e["kind"] == "undo"}
        check(set(undo) == {"lock.mutex", "slots.full"}, f"undo events: {undo}")
        check(undo["lock.mutex"]["before"] == 0 and undo["lock.mutex"]["after"] == 1, str(undo["lock.mutex"]))
        check(undo["slots.full"]["before"] == 3 and undo["slots.full"]["after"] == 0 and undo["slots.full"]["adj"] == -3,
              str(undo["slots.full"]))
        check("undo slots.full 3 → 0" in r.stdout, r.stdout)
        r.assert_nothing_left()


# ---- controlled scheduling (issue 4) ------------------------------------------

def normalized(events):
    """The event sequence without what legitimately differs between runs: time and pids."""
    return [{k: v for k, v in e.items() if k not in ("t", "pid", "parent_pid")} for e in events]


def case_determinism():
    """For 20 seeds, two controlled runs of prodcons and of the race give identical event sequences."""
    for scenario in ("prodcons", "race_explore"):
        sequences = set()
        for seed in range(1, 21):
            runs = []
            for _ in range(2):
                with tempfile.TemporaryDirectory() as out:
                    r = Run([f"scenarios/{scenario}.toml", "--controlled", "--seed", str(seed), "-q"], out)
                    check(r.code == EXPECTED_EXIT.get(scenario, 0) or scenario == "race_explore", r.stdout + r.stderr)
                    runs.append(normalized(r.trace(out, scenario)))
            check(runs[0] == runs[1], f"{scenario} seed {seed}: two runs differ")
            sequences.add(json.dumps(runs[0]))
        check(len(sequences) > 1, f"{scenario}: different seeds give different schedules")


def case_explore_race():
    """explore finds a lost update in the 3-increment race; replaying its file loses it 20 times out of 20."""
    with tempfile.TemporaryDirectory() as out:
        r = Run(["explore", "scenarios/race_explore.toml", "--seed", "100", "--runs", "500"], out)
        check(r.code == 1, f"explore exit {r.code}\n{r.stdout}{r.stderr}")
        check("fails: no update lost" in r.stdout and "shrunk in" in r.stdout, r.stdout)
        schedule = os.path.join(out, "race_explore", "failure.schedule.toml")
        check(os.path.exists(schedule), "schedule file written")
        check(f"simrun replay scenarios/race_explore.toml {schedule}" in r.stdout, "the replay command is printed")
        traces = set()
        for _ in range(20):
            rr = Run(["replay", "scenarios/race_explore.toml", schedule, "-q"], out)
            check(rr.code == 1, f"replay exit {rr.code}\n{rr.stdout}{rr.stderr}")
            m = re.search(r"counter\.value = (\d+)", rr.stdout)
            check(m and int(m.group(1)) < 6, f"the update is lost: {rr.stdout}")
            traces.add(json.dumps(normalized(rr.trace(out, "race_explore"))))
        check(len(traces) == 1, "every replay gives the same trace")


def case_explore_exhaustive():
    """Exhaustive exploration: the race fails within one preemption; the atomic variant passes every
    schedule within each bound, and a higher bound means more schedules."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["explore", "scenarios/race_explore.toml", "--exhaustive", "--preemptions", "1", "--events", "0"], d)
        check(r.code == 1 and "fails (1 preemptions)" in r.stdout, r.stdout + r.stderr)
        r = Run(["explore", "scenarios/race_explore.toml", "--exhaustive", "--preemptions", "0"], d)
        check(r.code == 0 and "every schedule with at most 0 preemptions passes: 2 runs" in r.stdout, r.stdout)
        with open(os.path.join(ROOT, "scenarios", "race_explore.toml")) as f:
            safe = write_scenario(d, f.read().replace('counter.value += 1"', 'counter.value += 1 atomic"'), "safe")
        counts = []
        for k in range(4):
            r = Run(["explore", safe, "--exhaustive", "--preemptions", str(k)], d)
            m = re.search(r"passes: (\d+) runs", r.stdout)
            check(r.code == 0 and m, r.stdout + r.stderr)
            counts.append(int(m.group(1)))
        check(counts == sorted(counts) and counts[0] < counts[-1], f"runs per bound: {counts}")


def case_explore_deadlock():
    """explore finds the deadlock of two locks taken in opposite orders and names the cycle."""
    with open(os.path.join(ROOT, "scenarios", "deadlock.toml")) as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, text[:text.index("[[expect]]")], "lock_order")
        r = Run(["explore", path, "--seed", "1", "--runs", "200"], d)
        check(r.code == 1, r.stdout + r.stderr)
        check("outcome: deadlock" in r.stdout, r.stdout)
        check("cycle: left → right → left" in r.stdout or "cycle: right → left → right" in r.stdout, r.stdout)
        check("left  waits in 'P locks.b' (locks.b = 0; last taken by right" in r.stdout, r.stdout)


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


def case_kill_every_step(mode):
    """kill -9 of a producer at every step of prodcons: with SEM_UNDO never a deadlock and the
    invariant holds; without it a deadlock, naming the dead holder, exactly when it held the mutex."""
    undo = mode == "undo"
    with tempfile.TemporaryDirectory() as d:
        base = Run([write_scenario(d, prodcons_with_fault(undo, None), "base"), "-q"], d)
        check(base.code == 0, base.stdout + base.stderr)
        steps = len([e for e in base.trace(d, "prodcons") if "step" in e])
        check(steps > 100, f"the baseline run takes {steps} steps")
        held_count = 0
        for step in range(0, steps + 1):
            path = write_scenario(d, prodcons_with_fault(undo, step), f"s{step}")
            start = time.monotonic()
            r = Run([path, "-q"], d, timeout=30)
            check(time.monotonic() - start < 10, f"step {step}: the run hangs")
            events = r.trace(d, "prodcons")
            outcome = events[-1]["outcome"]
            held = held_mutex_at_fault(events)
            always = [e for e in events if e["kind"] == "expect" and e["type"] == "always"]
            check(always and always[0]["passed"], f"step {step}: the buffer invariant broke")
            if undo:
                check(outcome == "completed", f"step {step}: outcome {outcome} with SEM_UNDO\n{r.stdout}")
                if held:
                    undos = [e for e in events if e["kind"] == "undo" and e["obj"] == "lock.mutex"]
                    check(undos and undos[0]["before"] == 0 and undos[0]["after"] == 1, f"step {step}: mutex given back")
            else:
                others_done = all(any(e["kind"] == "exit" and e["proc"] == p and e["seq"] < fault_seq(events) for e in events)
                                  for p in ("producer#1",))
                expect_deadlock = bool(held) and not others_done
                check((outcome == "deadlock") == expect_deadlock,
                      f"step {step}: held={held} outcome={outcome}\n{r.stdout}")
                if expect_deadlock:
                    check("lock.mutex = 0: last taken by producer#0, which died (the set has no SEM_UNDO)" in r.stdout, r.stdout)
            held_count += bool(held)
        check(held_count > 10, f"the victim held the mutex at {held_count} of the kill points")


def fault_seq(events):
    for e in events:
        if e["kind"] == "fault":
            return e["seq"]
    return 1 << 60


def case_timed_fault():
    """Free mode: a [[fault]] at a time kills its process then; the trace shows the fault and the death."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "timed"
timeout = "5s"
[ipc.sem.lock]
members = { mutex = 1 }
undo = true
[[process]]
name = "sleeper"
run = ["P lock.mutex", "sleep 3s", "V lock.mutex"]
[[process]]
name = "waiter"
run = ["sleep 10ms", "P lock.mutex", "V lock.mutex"]
[[fault]]
process = "sleeper"
signal = "SIGTERM"
at = "100ms"
[[expect]]
final = "signal(sleeper) == 15 && exit(waiter) == 0 && lock.mutex == 1"
""")
        start = time.monotonic()
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        check(time.monotonic() - start < 2, "the fault ended the sleep early")
        events = r.trace(d, "timed")
        fault = [e for e in events if e["kind"] == "fault"]
        check(len(fault) == 1 and fault[0]["signal"] == "SIGTERM" and 90e6 <= fault[0]["t"] < 1e9, str(fault))
        undo = [e for e in events if e["kind"] == "undo"]
        check(undo and undo[0]["before"] == 0 and undo[0]["after"] == 1, str(undo))


def case_two_after_faults(mode="free"):
    """Two `after` faults of one process both fire, in free mode (the agent fires them) as in controlled mode."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "two_faults"
timeout = "5s"
mode = "{mode}"
[ipc.sem.s]
members = {{ x = 0 }}
[[process]]
name = "victim"
signals = {{ SIGUSR1 = "count", SIGUSR2 = "count" }}
run = ["V s.x", "V s.x", "V s.x", "sleep 50ms"]
[[fault]]
process = "victim"
signal = "SIGUSR1"
after = "V s.x"
[[fault]]
process = "victim"
signal = "SIGUSR2"
after = "V s.x"
count = 2
[[expect]]
final = "s.x == 3 && exit(victim) == 0"
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "two_faults")
        faults = [e["signal"] for e in events if e["kind"] == "fault"]
        check(faults == ["SIGUSR1", "SIGUSR2"], f"both faults fire, in order: {faults}")
        handled = sorted(e["signal"] for e in events if e["kind"] == "signal")
        check(handled == ["SIGUSR1", "SIGUSR2"], f"both signals reach the victim: {handled}")
        r.assert_nothing_left()


def case_queue_order():
    """Message queues deliver as the kernel says: by type for System V, by priority (FIFO within one) for POSIX."""
    with tempfile.TemporaryDirectory() as out:
        r = Run(["scenarios/mq_priorities.toml", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        recvs = [e for e in r.trace(out, "mq_priorities") if e["kind"] == "op" and e["op"] == "recv"]
        check([e.get("data") for e in recvs[:4]] == ["urgent", "urgent, second", "normal", "low"], str(recvs))
        check([e.get("prio") for e in recvs[:4]] == [9, 9, 5, 1], str(recvs))
        check(recvs[4]["errno"] == "EAGAIN" and recvs[4]["result"] == -1, str(recvs[4]))
        for mode in ([], ["--controlled", "--seed", "5"]):
            r = Run(["scenarios/msg_client_server.toml", "-q"] + mode, out)
            check(r.code == 0, r.stdout + r.stderr)
            events = r.trace(out, "msg_client_server")
            got = {e["proc"]: e["data"] for e in events if e["kind"] == "op" and e["op"] == "recv" and e["proc"] != "server"}
            check(got == {"client0": "reply for client 0", "client1": "reply for client 1"}, str(got))
        # message() fails when the text differs, and says what came.
        with open(os.path.join(ROOT, "scenarios/mq_priorities.toml")) as f:
            text = f.read()
        path = write_scenario(out, text + """
[[expect]]
name = "wrong order"
final = 'message(recv jobs, 0) == "low"'
""")
        r = Run([path, "-q"], out)
        check(r.code == 1 and 'message(recv jobs, 0) = "urgent"' in r.stdout, r.stdout + r.stderr)


def case_posix_sem_timeout():
    """sem_timedwait times out with ETIMEDOUT: after its time in free mode; in controlled mode when nothing
    else can move (time jumps ahead). sem_trywait on zero fails with EAGAIN."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "timed"
timeout = "5s"
[ipc.psem.never]
value = 0
[[process]]
name = "waiter"
run = ["P never nowait", "P never timeout 50ms", 'print "gave up"']
[[expect]]
final = "never.value == 0 && exit(waiter) == 0"
""")
        for mode in ([], ["--controlled", "--seed", "1"]):
            start = time.monotonic()
            r = Run([path, "-q"] + mode, d)
            check(r.code == 0, r.stdout + r.stderr)
            ops = [e for e in r.trace(d, "timed") if e["kind"] == "op" and e["op"] == "P"]
            check(ops[0]["errno"] == "EAGAIN" and ops[1]["errno"] == "ETIMEDOUT", str(ops))
            if not mode:
                check(time.monotonic() - start >= 0.05, "free mode waited its 50 ms")
            r.assert_nothing_left()


def case_fifo():
    """FIFOs: blocking opens meet, data flows, EOF after the last writer closes, in free and controlled mode."""
    with tempfile.TemporaryDirectory() as out:
        for mode in ([], ["--controlled", "--seed", "1"], ["--controlled", "--seed", "2"], ["--controlled", "--seed", "3"]):
            r = Run(["scenarios/fifo_client_server.toml", "-q"] + mode, out)
            check(r.code == 0, f"{mode}: {r.stdout}{r.stderr}")
            events = r.trace(out, "fifo_client_server")
            server = "".join(e.get("data", "") for e in events if e["kind"] == "op" and e["op"] == "read" and e["proc"] == "server")
            client = "".join(e.get("data", "") for e in events if e["kind"] == "op" and e["op"] == "read" and e["proc"] == "client")
            check(server == "first\nsecond\n" and client == "2 requests served\n", f"{mode}: {server!r} {client!r}")
            eofs = [e for e in events if e["kind"] == "op" and e["op"] == "read" and e["result"] == 0]
            check(len(eofs) == 2, f"{mode}: each reader saw EOF once")
            r.assert_nothing_left()
        with tempfile.TemporaryDirectory() as d:
            path = write_scenario(d, """
[scenario]
name = "nowriter"
[ipc.fifo.f]
[[process]]
name = "w"
run = ["open f write nowait"]
""")
            r = Run([path, "-q"], d)
            ops = [e for e in r.trace(d, "nowriter") if e["kind"] == "op"]
            check(ops[0]["errno"] == "ENXIO", "a non-blocking write-open with no reader fails with ENXIO")


def case_signals():
    """Signals in the trace: sigqueue values in order, coalesced standard signals, the pending set at
    unblock, SIGCHLD from the kernel, a zombie until reaped, SIGPIPE, the undo that starves a consumer."""
    with tempfile.TemporaryDirectory() as out:
        r = Run(["scenarios/sigqueue_blocked.toml", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(out, "sigqueue_blocked")
        rt = [e for e in events if e["kind"] == "signal" and e["signal"] == "SIGRTMIN"]
        check([e.get("value") for e in rt] == [10, 20, 30] and all(e["code"] == "SI_QUEUE" for e in rt), str(rt))
        sender = [e for e in events if e["kind"] == "spawn" and e["proc"] == "sender"][0]["pid"]
        check(all(e["from_pid"] == sender for e in rt), "the sender's pid is recorded")
        unblock = [e for e in events if e["kind"] == "op" and e["op"] == "unblock"][0]
        check(unblock["pending"] == ["SIGUSR2", "SIGRTMIN"], str(unblock))
        check(len([e for e in events if e["kind"] == "signal" and e["signal"] == "SIGUSR2"]) == 1, "SIGUSR2 pending once")

        r = Run(["scenarios/zombie_late.toml", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(out, "zombie_late")
        kinds = [(e["kind"], e.get("proc")) for e in events if e.get("proc") == "child" and e["kind"] in ("zombie", "exit")]
        check(kinds == [("zombie", "child"), ("exit", "child")], str(kinds))
        zombie = [e for e in events if e["kind"] == "zombie"][0]
        reaped = [e for e in events if e["kind"] == "exit" and e["proc"] == "child"][0]
        check(reaped["t"] - zombie["t"] > 50e6, "a zombie for most of the parent's 100 ms sleep")
        chld = [e for e in events if e["kind"] == "signal" and e["signal"] == "SIGCHLD"]
        check(len(chld) == 1 and chld[0]["code"] == "CLD_EXITED" and chld[0]["from_pid"] == reaped["pid"], str(chld))

        r = Run(["scenarios/sigpipe.toml", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        writer = [e for e in r.trace(out, "sigpipe") if e["kind"] == "exit" and e["proc"] == "writer"][0]
        check(writer["signal"] == "SIGPIPE", str(writer))

        r = Run(["scenarios/sem_undo_starve.toml", "-q"], out)
        check(r.code == 0, r.stdout + r.stderr)
        undo = [e for e in r.trace(out, "sem_undo_starve") if e["kind"] == "undo"]
        full = [e for e in undo if e["obj"] == "slots.full"]
        check(full and full[0]["before"] == 3 and full[0]["after"] == 0 and full[0]["adj"] == -3, str(undo))


def case_online_judge():
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


def case_key_sweep():
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


def case_leftovers_reported():
    """Without a sandbox, what a program leaves behind is listed (and said not removed); the test removes it."""
    with tempfile.TemporaryDirectory() as d:
        before = ipc_objects()
        r = Run(["scenarios/leaky_program.toml", "-q", "--no-sandbox"], d)
        left = ipc_objects() - before
        for kind, ident in left:
            subprocess.run(["ipcrm", {"sem": "-s", "shm": "-m", "msg": "-q"}[kind], ident], check=False)
        if os.path.exists("/dev/shm/forgotten"):
            os.unlink("/dev/shm/forgotten")
        check(r.code == 0, r.stdout + r.stderr)
        check(r.stdout.count("left behind by the processes") == 3 and "/dev/shm/forgotten" in r.stdout, r.stdout)
        check("not removed without a sandbox" in r.stdout, r.stdout)
        check(len(left) == 2, f"the two System V objects were still there: {left}")


def test_program(name):
    return os.path.join(os.environ["SIMRUN_TEST_PROGRAMS"], name)


def case_leftovers_every_kind():
    """In the sandbox, one leftover of each kind is found (System V set, segment and queue; POSIX shared
    memory, semaphore and message queue), listed, and gone after the run."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "leak"
timeout = "5s"
[[process]]
name = "student"
exec = ["{test_program('leak_ipc')}"]
[[expect]]
final = "ipc_left() == 6 && exit(student) == 0"
""")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        for name in ("mqueue /leak_mq", "/dev/shm/leak_shm", "/dev/shm/sem.leak_sem", "sem id=", "shm id=", "msg id="):
            check(f"left behind by the processes: {name}" in r.stdout, f"{name} listed: {r.stdout}")
        r.assert_nothing_left()
        check(not os.path.exists("/dev/mqueue/leak_mq"), "the queue died with the run's IPC namespace")

def case_zombies_left():
    """A program that never waits for its children: zombies_left() counts them, the trace has a `reaped`
    event for each, the report says so; in both sandbox modes, and a program that waits has none."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "zombies"
timeout = "5s"
[[process]]
name = "careless"
exec = ["{test_program('leave_zombies')}", "3"]
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
        # A declared child whose parent dies before waiting: its exit is marked adopted.
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


def case_hostile(name):
    """A hostile program is contained in both sandbox modes: it gets the right verdict, the run ends well
    within its timeout, and no process, IPC object, scratch folder or file is left."""
    argv, limits, verdict = HOSTILE[name]
    argv = [test_program(a[1:]) if a.startswith("@") else a for a in argv]
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


def case_closed_stdio_idle():
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


def case_no_network():
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


def case_out_in_dev_shm():
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
                check(files == ["schedule.toml", "trace.jsonl"], f"{mode}: the run's files in {out}: {files}")
                seen = "".join(e["data"] for e in r.trace(out, "shm_out") if e["kind"] == "output").split()
                sandboxed = not mode
                check((os.path.basename(marker) in seen) != sandboxed, f"{mode}: the program saw {seen}")
                if sandboxed:
                    check(seen == [os.path.basename(out)], f"only the bound output folder is shared: {seen}")
                    check("left behind" not in r.stdout + r.stderr, r.stdout + r.stderr)
                shutil.rmtree(os.path.join(out, "shm_out"))
    finally:
        os.unlink(marker)


def case_explain_blocked():
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
exec = ["{test_program('sem_block')}", "4343"]
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
        # Two programs waiting on a semaphore nobody posts: a free-mode deadlock, found from /proc
        # long before the timeout, each explained.
        path = write_scenario(d, f"""
[scenario]
name = "programs_deadlock"
timeout = "20s"
[ipc.sem.gate]
members = {{ door = 0 }}
key = 4344
[[process]]
name = "w1"
exec = ["{test_program('sem_block')}", "4344"]
[[process]]
name = "w2"
exec = ["{test_program('sem_block')}", "4344"]
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


def case_preload():
    """An unmodified program is traced by the preload tracer: its semget/semop (with the set's name and
    sembufs), msgsnd/msgrcv texts, pipe, fork, write, wait status, sigaction and the handler run of a raise,
    and exit; the child it forks is traced in a slot of its own (student/1). The replayed semaphore values stay exact. A static binary runs with lifecycle events only,
    and the report says so. trace = false turns the tracer off. The library exports the wrapped C functions only."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "preload"
timeout = "5s"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6161
[ipc.msg.q]
key = 6162
[[process]]
name = "student"
exec = ["{test_program('ipc_calls')}", "6161", "6162"]
[[process]]
name = "static"
exec = ["{test_program('ipc_calls_static')}", "6161", "6162"]
[[process]]
name = "quiet"
exec = ["{test_program('ipc_calls')}", "6161", "6162"]
trace = false
[[process]]
name = "chain"
exec = ["sh", "-c", "exec {test_program('ipc_calls')} 6161 6162"]
[[expect]]
final = "lock.mutex == 1"
[[expect]]
stdout = "student"
equals = "hello 1 3\\n"
""")
        for extra in ([], ["--no-sandbox"]):
            r = Run([path] + extra, d)
            check(r.code == 0, r.stdout + r.stderr)
            events = r.trace(d, "preload")
            check_trace(events, "preload")
            calls = [e for e in events if e["kind"] == "call"]
            mine = [e for e in calls if e["proc"] == "student"]
            check(not [e for e in calls if e["proc"] in ("static", "quiet")], "nothing traced in the static binary or with trace = false")
            names = [e["call"] for e in mine]
            check(names[0] == "attach", str(names))
            for want in ("semget", "msgget", "sigaction", "handler", "raise", "pipe", "fork", "write", "wait", "msgsnd", "msgrcv", "exit"):
                check(want in names, f"{want} traced: {names}")
            semops = [e for e in mine if e["call"] == "semop"]
            check(len(semops) == 4 and all(e["obj"] == "lock" and e["result"] == 0 for e in semops), str(semops))
            check([s["op"] for e in semops for s in e["sops"]] == [-1, 1, -1, 1] and all(s["undo"] for e in semops for s in e["sops"]),
                  str(semops))
            by = {e["call"]: e for e in mine}
            check(by["msgsnd"]["obj"] == "q" and by["msgsnd"]["text"].startswith("hello") and by["msgrcv"]["got_type"] == 2, str(by["msgrcv"]))
            check(by["write"]["data"] == "ping" and by["wait"]["status"] == "exited 3" and by["exit"]["code"] == 0, str(by["wait"]))
            check(by["handler"]["signal"] == "SIGUSR1" and names.index("handler") < names.index("pipe"), str(names))
            diagnosis = events[-1]["diagnosis"]
            check(any(l.startswith("static: no call detail") for l in diagnosis), str(diagnosis))
            check(not any(l.startswith("quiet:") or l.startswith("student:") for l in diagnosis), str(diagnosis))
            check(not any("differ from the kernel" in l for l in diagnosis), "replayed semaphore values stay exact")
            # The child it forked has a slot of its own: its read of the pipe and its exit are there.
            fork = by["fork"]
            child = [e for e in calls if e["proc"] == "student/1"]
            check([e["call"] for e in child] == ["attach", "read", "exit"], str(child))
            check(child[0]["pid"] == fork["result"] and child[1]["data"] == "ping" and child[2]["code"] == 3, str(child))
            check(fork["seq"] < child[0]["seq"] and by["write"]["seq"] < child[1]["seq"] < by["wait"]["seq"], "causal order")
            # sh execs the program: the new image is traced in the same slot.
            chain = [e["call"] for e in calls if e["proc"] == "chain"]
            check(chain[0] == "attach" and chain.count("attach") == 2 and chain[chain.index("exec") + 1] == "attach" and
                  chain.count("semop") == 4 and chain[-1] == "exit", str(chain))
            r.assert_nothing_left()
    # It exports the wrapped C functions and nothing of its own C++ (no
    # simrun:: symbol a traced program could bind to or collide with).
    lib = os.path.join(os.path.dirname(SIMRUN), "libsimrun_preload.so")
    nm = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    check({"semop", "semtimedop", "fork", "vfork", "execve", "sigaction", "mq_send", "read"} <= exported, str(sorted(exported)))
    check(not [name for name in exported if name.startswith("_Z")], str(sorted(exported)))


def case_controlled_programs():
    """Controlled mode schedules traced programs call by call: the same seed gives the same sequence of
    calls and ops, a program's P on a semaphore at 0 parks until a scripted V, replay reproduces a run,
    and a static binary still runs free (on a semaphore of its own: its P and V, unscheduled, would
    otherwise make the scheduled ones block now and then, and the sequence differ)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "ctlprog"
timeout = "10s"
mode = "controlled"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6171
[ipc.sem.gate]
members = {{ door = 0 }}
key = 6172
[ipc.sem.apart]
members = {{ m = 1 }}
key = 6175
[[process]]
name = "a"
exec = ["{test_program('sem_rounds')}", "6171", "4"]
[[process]]
name = "b"
exec = ["{test_program('sem_rounds')}", "6171", "4"]
[[process]]
name = "waiter"
exec = ["{test_program('sem_block')}", "6172"]
[[process]]
name = "opener"
run = ["P lock.mutex", "V lock.mutex", "V gate.door"]
[[process]]
name = "static"
exec = ["{test_program('ipc_calls_static')}", "6175", "6173"]
[[expect]]
final = "lock.mutex == 1 && apart.m == 1 && gate.door == 0 && exit(waiter) == 0 && exit(a) == 0 && exit(b) == 0"
""")

        def sequence():
            events = r.trace(d, "ctlprog")
            return [(e.get("proc"), e.get("call", e.get("op")), e.get("result")) for e in events
                    if e["kind"] in ("op", "call") and e.get("proc") != "static"]

        seen = set()
        for seed in range(1, 6):
            r = Run([path, "-q", "--seed", str(seed)], d)
            check(r.code == 0, r.stdout + r.stderr)
            first = sequence()
            r = Run([path, "-q", "--seed", str(seed)], d)
            check(sequence() == first, f"seed {seed}: the same calls in the same order twice")
            seen.add(tuple(p for p, _, _ in first))
            waiter = [c for p, c, _ in first if p == "waiter"]
            check(waiter.count("semop") == 1, f"the waiter's P completes once, after the V: {waiter}")
            events = r.trace(d, "ctlprog")
            v = [e["seq"] for e in events if e["kind"] == "op" and e.get("obj") == "gate.door"][0]
            p = [e["seq"] for e in events if e["kind"] == "call" and e["proc"] == "waiter" and e["call"] == "semop"][0]
            check(v < p, f"seed {seed}: the waiter's P completes after the opener's V")
        check(len(seen) > 1, "different seeds interleave the programs differently")
        # The schedule names the programs' steps, and replay reproduces the run.
        r = Run([path, "-q", "--seed", "3"], d)
        first = sequence()
        schedule = os.path.join(d, "ctlprog", "schedule.toml")
        with open(schedule) as f:
            text = f.read()
        check('"a' in text and '"b' in text and '"waiter' in text, text)
        saved = os.path.join(d, "saved.toml")
        with open(saved, "w") as f:
            f.write(text)
        r = Run(["replay", path, saved, "-q"], d)
        check(r.code == 0 and sequence() == first, r.stdout + r.stderr)
        r.assert_nothing_left()
        # A program parked for good is a deadlock, and the report names its call.
        path = write_scenario(d, f"""
[scenario]
name = "ctlstuck"
timeout = "10s"
mode = "controlled"
[ipc.sem.gate]
members = {{ door = 0 }}
key = 6174
[[process]]
name = "waiter"
exec = ["{test_program('sem_block')}", "6174"]
[[expect]]
outcome = "deadlock"
""", name="stuck")
        r = Run([path, "-q"], d)
        diagnosis = r.trace(d, "ctlstuck")[-1]["diagnosis"]
        check(r.code == 0 and any("waiter waits in its semop" in l for l in diagnosis), f"{r.stdout}{diagnosis}")
        r.assert_nothing_left()


def case_spawned_children():
    """Children a traced program starts without fork(): a vfork child records nothing before its exec (its
    kill(getpid(), 0) is nowhere in the trace) and the image it execs gets a slot of its own; so do the images
    of posix_spawn (while the parent keeps working) and system(). A vfork child whose exec fails leaves no
    record. In controlled mode a program that waits for a child running free completes, as ipc_calls (fork,
    pipe, wait) does."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "kids"
timeout = "20s"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6181
[[process]]
name = "student"
exec = ["{test_program('spawn_kids')}", "6181", "200"]
[[expect]]
final = "lock.mutex == 1"
[[expect]]
stdout = "student"
equals = "5 127 5 0 7\\n"
""")
        for extra in ([], ["--no-sandbox"], ["--controlled", "--seed", "1"], ["--controlled", "--seed", "2"]):
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, f"{extra}: {r.stdout}{r.stderr}")
            events = r.trace(d, "kids")
            check_trace(events, "kids")
            calls = [e for e in events if e["kind"] == "call"]
            check(not [e for e in calls if e["call"] == "kill"], "the vfork child's call before its exec is not recorded")
            forks = [e for e in calls if e["proc"] == "student" and e["call"] == "fork"]
            check([e["how"] for e in forks] == ["vfork", "vfork", "posix_spawn", "system"], str(forks))
            check(forks[3]["name"] == "exit 7" and forks[3]["status"] == "exited 7", str(forks[3]))
            waits = {e["for"]: e["status"] for e in calls if e["proc"] == "student" and e["call"] == "wait"}
            check(waits.get(forks[1]["result"]) == "exited 127", f"the failed exec: {waits}")
            check(not [e for e in calls if e["pid"] == forks[1]["result"]], "a vfork child whose exec failed records nothing")
            for name, fork in (("student/1", forks[0]), ("student/2", forks[2])):
                mine = [e for e in calls if e["proc"] == name]
                check(mine[0]["call"] == "attach" and mine[0]["pid"] == fork["result"], f"{name}: {mine[:2]}")
                check(mine[1]["call"] == "exec" and mine[1]["name"].endswith("spawn_kids"), f"{name}: {mine[:2]}")
                check(sum(e["call"] == "semop" for e in mine) == 400, f"{name}: every semop in its own slot")
                check(waits.get(fork["result"]) == "exited 5", str(waits))
            shell = [e for e in calls if e["proc"] == "student/3"]
            check(shell[0]["call"] == "attach" and shell[1]["call"] == "exec" and shell[-1] == dict(shell[-1], call="exit", code=7), str(shell))
            check(sum(e["call"] == "semop" for e in calls if e["proc"] == "student") == 400, "the parent's own semops")
            check(not any("differ from the kernel" in l for l in events[-1]["diagnosis"]), "replayed semaphore values stay exact")
            r.assert_nothing_left()
        # More children than spare slots. One after another: each reaped child's slot is reused, so all 40
        # are traced. All alive at once: 32 are traced, the rest run untraced and the report counts them.
        for how, traced, untraced in (("", 40, 0), ("together", 32, 8)):
            path = write_scenario(d, f"""
[scenario]
name = "many"
timeout = "20s"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6184
[[process]]
name = "student"
exec = ["{test_program('many_children')}", "6184", "40"{', "together"' if how else ''}]
[[expect]]
stdout = "student"
equals = "40\\n"
""", name="many")
            r = Run([path, "-q"], d)
            check(r.code == 0, r.stdout + r.stderr)
            events = r.trace(d, "many")
            check_trace(events, "many")
            children = {e["proc"] for e in events if e["kind"] == "call" and e["proc"].startswith("student/")}
            check(children == {f"student/{i}" for i in range(1, traced + 1)}, f"{how}: {traced} traced children: {sorted(children)}")
            check(all(sum(1 for e in events if e.get("proc") == c and e.get("call") == "semop") == 2 for c in children),
                  f"{how}: each traced child's P and V, in its own name")
            attaches = [e for e in events if e.get("call") == "attach" and e["proc"].startswith("student/")]
            check(len({e["pid"] for e in attaches}) == traced, f"{how}: {traced} different processes attached")
            missed = [l for l in events[-1]["diagnosis"] if "ran untraced" in l]
            if untraced:
                check(missed == [f"{untraced} processes started by traced programs ran untraced: all of the run's 32 spare trace slots were held by live processes"],
                      str(events[-1]["diagnosis"]))
            else:
                check(not missed, str(events[-1]["diagnosis"]))
            check(not any("differ from the kernel" in l for l in events[-1]["diagnosis"]), f"{how}: replayed semaphore values stay exact")
            r.assert_nothing_left()
        path = write_scenario(d, f"""
[scenario]
name = "forky"
timeout = "20s"
mode = "controlled"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6182
[ipc.msg.q]
key = 6183
[[process]]
name = "student"
exec = ["{test_program('ipc_calls')}", "6182", "6183"]
[[expect]]
stdout = "student"
equals = "hello 1 3\\n"
""", name="forky")
        for seed in ("1", "2", "3"):
            r = Run([path, "-q", "--seed", seed], d)
            check(r.code == 0, f"seed {seed}: {r.stdout}{r.stderr}")
        r.assert_nothing_left()


def case_program_timed_waits():
    """A traced program's waits with a timeout (semtimedop, sem_timedwait, mq_timedreceive) time out for real
    in free mode; in controlled mode no time passes but by steps, so they end with the timeout's error only
    when no process can step, and a V that can come first always does."""
    with tempfile.TemporaryDirectory() as d:
        scenario = f"""
[scenario]
name = "timed"
timeout = "10s"
[ipc.sem.gate]
members = {{{{ door = 0 }}}}
key = 6187
[[process]]
name = "student"
exec = ["{test_program('timed_waits')}", "6187"]
{{opener}}
[[expect]]
stdout = "student"
equals = "{{first}} ETIMEDOUT ETIMEDOUT\\n"
"""
        path = write_scenario(d, scenario.format(opener="", first="EAGAIN"))
        for extra in ([], ["--controlled", "--seed", "1"], ["--controlled", "--seed", "2"]):
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, f"{extra}: {r.stdout}{r.stderr}")
            calls = [e for e in r.trace(d, "timed") if e["kind"] == "call"]
            failed = [(e["call"], e.get("errno")) for e in calls if e.get("result") == -1]
            check(failed == [("semop", "EAGAIN"), ("sem_timedwait", "ETIMEDOUT"), ("mq_receive", "ETIMEDOUT")], f"{extra}: {failed}")
        # A scripted V can always come first: the program's semtimedop takes it, whatever the seed.
        path = write_scenario(d, scenario.format(opener='[[process]]\nname = "opener"\nrun = ["V gate.door"]', first="OK"), name="opened")
        for seed in ("1", "2", "3", "4"):
            r = Run([path, "-q", "--controlled", "--seed", seed], d)
            check(r.code == 0, f"seed {seed}: {r.stdout}{r.stderr}")
        r.assert_nothing_left()


def case_program_signals():
    """Controlled mode settles the signals a step sends before the next step: a program's kill to a program
    with a handler, a program's kill to its scripted parent that records, a scripted kill to a program, and
    a program's SIGTERM to a program that dies of it (waiting in pause()). Each delivery (handler run or death)
    comes right after its kill in the trace, whatever the seed, no SIGUSR1 is lost to another one still
    pending, and a seed gives the same order twice. sigsuspend, sigwait, sleeps and alarm() of a program work
    in free and controlled mode."""
    with tempfile.TemporaryDirectory() as d:
        prog = test_program('signal_pair')
        path = write_scenario(d, f"""
[scenario]
name = "sigs"
timeout = "20s"
mode = "controlled"
[ipc.sem.s]
members = {{ ack = 0, x = 0, ready = 0 }}
key = 6191
[ipc.msg.q]
key = 6192
[[process]]
name = "listener"
signals = {{ SIGUSR2 = "record" }}
repeat = 6
run = ["V s.x", "P s.x"]
[[process]]
name = "sender"
parent = "listener"
exec = ["{prog}", "send", "6191", "6192", "5"]
[[process]]
name = "catcher"
exec = ["{prog}", "catch", "6191", "6192", "5"]
[[process]]
name = "victim"
exec = ["{prog}", "victim", "6192"]
[[process]]
name = "pinger"
repeat = 3
run = ["P s.ready", "kill catcher SIGUSR1", "V s.x", "P s.x"]
[[expect]]
stdout = "catcher"
equals = "caught 8\\n"
[[expect]]
final = "received(listener, SIGUSR2) == 5 && signal(victim) == 15"
""")
        for seed in range(1, 7):
            r = Run([path, "-q", "--seed", str(seed)], d)
            check(r.code == 0, f"seed {seed}: {r.stdout}{r.stderr}")
            steps = [e for e in r.trace(d, "sigs") if e["kind"] in ("op", "call", "signal", "exit")]
            for i, e in enumerate(steps):
                sent = (e["kind"] == "call" and e["call"] == "kill") or (e["kind"] == "op" and e.get("op") == "kill")
                if not sent or i + 1 == len(steps):
                    continue
                after = steps[i + 1]
                to = {"SIGUSR1": "catcher", "SIGUSR2": "listener", "SIGTERM": "victim"}[e["signal"]]
                delivered = after["proc"] == to and (after["kind"] == "signal" or after.get("call") == "handler" or
                                                    (after["kind"] == "exit" and after.get("signal") == "SIGTERM"))
                check(delivered, f"seed {seed}: {e['proc']}'s kill of {to} with {e['signal']} is followed by "
                                 f"{after['proc']} {after['kind']} {after.get('call', after.get('op'))}")
            if seed == 1:
                first = [(e["proc"], e["kind"], e.get("call", e.get("op"))) for e in steps]
            elif seed == 6:
                r = Run([path, "-q", "--seed", "1"], d)
                again = [(e["proc"], e["kind"], e.get("call", e.get("op"))) for e in r.trace(d, "sigs")
                         if e["kind"] in ("op", "call", "signal", "exit")]
                check(again == first, "seed 1 twice: the same calls, deliveries and deaths in the same order")
        r.assert_nothing_left()
        # sigsuspend waits for its handler, sigwait for the pending signal, sleeps are recorded; in controlled
        # mode they are steps (a sleep takes no time).
        path = write_scenario(d, f"""
[scenario]
name = "waits"
timeout = "10s"
[ipc.sem.s]
members = {{ ready = 0 }}
key = 6193
[[process]]
name = "waiter"
exec = ["{prog}", "waits", "6193"]
[[process]]
name = "poker"
run = ["P s.ready", "kill waiter SIGUSR1", "kill waiter SIGUSR2"]
[[expect]]
stdout = "waiter"
equals = "sigsuspend EINTR after 1 handler run, sigwait SIGUSR2\\n"
""", name="waits")
        for extra in ([], ["--controlled", "--seed", "1"], ["--controlled", "--seed", "2"], ["--controlled", "--seed", "3"]):
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, f"{extra}: {r.stdout}{r.stderr}")
            calls = [e for e in r.trace(d, "waits") if e["kind"] == "call" and e["proc"] == "waiter"]
            waited = [(e["call"], e.get("errno", e.get("signal")), e.get("ns")) for e in calls
                      if e["call"] in ("sigsuspend", "sigwait", "sleep")]
            check(waited == [("sigsuspend", "EINTR", None), ("sigwait", "SIGUSR2", None), ("sleep", None, 1000000),
                             ("sleep", None, 1000000)], f"{extra}: {waited}")
        r.assert_nothing_left()
        # alarm(): a real timer in free mode; in controlled mode simrun rings it when nothing else can step.
        path = write_scenario(d, f"""
[scenario]
name = "alarm"
timeout = "10s"
[[process]]
name = "clock"
exec = ["{prog}", "alarm"]
[[expect]]
stdout = "clock"
equals = "alarm rang, the first had 1 s left\\n"
""", name="alarm")
        for extra in ([], ["--controlled", "--seed", "1"]):
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, f"{extra}: {r.stdout}{r.stderr}")
            calls = [(e["call"], e.get("signal")) for e in r.trace(d, "alarm") if e["kind"] == "call" and e["proc"] == "clock"
                     and e["call"] in ("alarm", "pause", "handler")]
            check(calls == [("alarm", None), ("alarm", None), ("handler", "SIGALRM"), ("pause", None)], f"{extra}: {calls}")
        r.assert_nothing_left()


def case_handler_inside_call():
    """A signal handler that runs while the program is inside a traced call has its own calls traced: a
    timer's SIGALRM handler Vs the semaphore the program waits on in its P; the trace shows the handler,
    its V, the P that the signal interrupted (EINTR) and the P that then succeeds, in that order. A handler
    run inside the program's own raise() does the same, in controlled mode too, where its V is part of the
    raise's step (as a step of its own it would wait for ever for a grant). A handler that siglongjmps out
    of a blocked P leaves tracing on: the calls after the jump are in the trace, and the jump is, with the
    call it abandoned (which never returns). In controlled mode a jump out of the handler run inside
    raise() ends raise's step (left open, none of the program's later calls was a step: it ran unscheduled
    while the supervisor waited for that step to end), and the classic
    alarm(1) timeout of a P that blocks works as a step would: the alarm rings when nothing can step, the
    handler jumps out of the wait, the program goes on. A handler on a sigaltstack is followed the same way;
    a jump that stays inside its handler (to a sigsetjmp of its own) records nothing."""
    prog = test_program('signal_pair')
    handler_v = [("handler", "SIGALRM", None), ("semop", 1, None)]
    runs = [  # (argv, mode, sandbox flags, the calls expected, the output expected)
        ([prog, "wake"], "free", extra, handler_v + [("semop", -1, "EINTR"), ("semop", -1, None)], "woken, interrupted 1\n")
        for extra in ([], ["--no-sandbox"])
    ] + [
        ([prog, "wake", "raise"], mode, [], handler_v + [("raise", "SIGALRM", None), ("semop", -1, None)], "woken, interrupted 0\n")
        for mode in ("free", "controlled")
    ] + [
        ([prog, "jump"] + alt, "free", [], [("handler", "SIGALRM", None), ("longjmp", "semop", None), ("semop", 1, None),
                                            ("semop", -1, None)], "jumped\n")
        for alt in ([], ["altstack"])
    ] + [
        ([prog, "jump", "inner"], "free", [], handler_v + [("semop", -1, "EINTR"), ("semop", -1, None)], "jumped inside\n"),
    ] + [
        ([prog, "jump", "raise"], mode, [], [("handler", "SIGALRM", None), ("longjmp", "raise", None), ("semop", 1, None),
                                             ("semop", -1, None)], "jumped\n")
        for mode in ("free", "controlled")
    ] + [
        ([prog, "jump", "alarm"], "controlled", [], [("alarm", None, None), ("handler", "SIGALRM", None), ("longjmp", "semop", None),
                                                     ("semop", 1, None), ("semop", -1, None)], "jumped\n"),
    ]
    with tempfile.TemporaryDirectory() as d:
        for argv, mode, extra, want, want_out in runs:
            path = write_scenario(d, f"""
[scenario]
name = "wake"
timeout = "10s"
mode = "{mode}"
[[process]]
name = "waker"
exec = {json.dumps(argv)}
""")
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, f"{argv} {mode} {extra}: {r.stdout}{r.stderr}")
            events = r.trace(d, "wake")
            check_trace(events, "wake")
            out = "".join(e["data"] for e in events if e["kind"] == "output")
            check(out == want_out, f"{argv} {mode} {extra}: {out!r}")
            def what(e):
                return e.get("abandoned") if e["call"] in ("longjmp", "alarm") else e.get("signal") or e["sops"][0]["op"]
            calls = [(e["call"], what(e), e.get("errno"))
                     for e in events if e["kind"] == "call" and e["call"] in ("handler", "semop", "raise", "longjmp", "alarm")]
            check(calls == want, f"{argv} {mode} {extra}: {calls}")
            check(any(e.get("cmd") == "IPC_RMID" for e in events), f"{argv} {mode} {extra}: the last call, semctl IPC_RMID")
            if mode == "controlled" and "jump" in argv:  # its handler makes no call of its own
                steps = events[0]["steps"]
                made = sum(1 for e in events if e["kind"] == "call" and e["call"] not in ("attach", "handler", "longjmp"))
                check(steps > made, f"{argv}: each of the {made} calls is a step (and the start), {steps} steps")
            r.assert_nothing_left()


def case_tracer_fd_taken():
    """A program puts a file of its own on the descriptor number where the tracer keeps the trace arena
    (SIMRUN_TRACE names it), then execs: the new image does not take that file for the arena (before, it
    wrote its records into the file and died of SIGBUS past its end); it runs untraced, and the report says
    the detail after the exec is missing. A program that shrinks the arena through that descriptor is
    refused (the memfd's size is sealed; before, simrun's supervisor died of SIGBUS). closefrom(3) is
    followed like close."""
    with tempfile.TemporaryDirectory() as d:
        victim = os.path.join(d, "victim.bin")
        with open(victim, "wb") as f:
            f.write(b"A" * (1 << 20))
        path = write_scenario(d, f"""
[scenario]
name = "taken"
timeout = "5s"
[ipc.sem.s]
members = {{ m = 1 }}
key = 7311
[[process]]
name = "p"
exec = ["{test_program('reuse_tracer_fd')}", "{victim}", "{test_program('sem_rounds')}", "7311", "3"]
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        with open(victim, "rb") as f:
            check(f.read() == b"A" * (1 << 20), "the program's file is untouched")
        events = r.trace(d, "taken")
        check_trace(events, "taken")
        check(events[-1]["verdicts"]["p"]["verdict"] == "ok", str(events[-1]["verdicts"]))
        check(not [e for e in events if e["kind"] == "call" and e["call"] == "semop"], "the exec'd image ran untraced")
        check(any("no call detail after its last exec" in l for l in events[-1]["diagnosis"]), str(events[-1]["diagnosis"]))
        path = write_scenario(d, f"""
[scenario]
name = "shrink"
timeout = "5s"
[[process]]
name = "p"
exec = ["{test_program('reuse_tracer_fd')}", "truncate"]
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "shrink")
        check_trace(events, "shrink")
        out = "".join(e["data"] for e in events if e["kind"] == "output")
        check(out == "ftruncate Operation not permitted\n", repr(out))
        check([e["call"] for e in events if e["kind"] == "call" and e["call"] in ("semop", "semctl")] == ["semop", "semctl"],
              "traced on after the refused ftruncate")
        check(not events[-1]["diagnosis"], str(events[-1]["diagnosis"]))
        r.assert_nothing_left()
        # closefrom(3) takes the tracer's descriptors and a pipe; the file opened on the pipe's old number
        # is no pipe (before, its write was traced as one), and the exec'd image runs untraced.
        path = write_scenario(d, f"""
[scenario]
name = "closed"
timeout = "5s"
[ipc.sem.s]
members = {{ m = 1 }}
key = 7312
[[process]]
name = "p"
exec = ["{test_program('reuse_tracer_fd')}", "closefrom", "{victim}", "{test_program('sem_rounds')}", "7312", "3"]
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "closed")
        check_trace(events, "closed")
        check(events[-1]["verdicts"]["p"]["verdict"] == "ok", str(events[-1]["verdicts"]))
        writes = [e.get("data") for e in events if e["kind"] == "call" and e["call"] == "write"]
        check(writes == ["a"], f"only the pipe write: {writes}")
        check(any("no call detail after its last exec" in l for l in events[-1]["diagnosis"]), str(events[-1]["diagnosis"]))


def case_jump_storm():
    """A thread sends SIGUSR1 to the main thread over and over while both make semops; the main thread's
    handler siglongjmps (through __longjmp_chk, fortified) back into its loop from wherever the signal
    found it, the tracer's own record included. The other thread is never left waiting for a record lock
    the jump abandoned (before, it spun until the CPU limit): the run ends, every jump and every one of the
    other thread's calls is in the trace, and no record is torn."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "storm"
timeout = "20s"
[[process]]
name = "p"
exec = ["{test_program('jump_storm')}", "2000"]
""")
        r = Run([path, "-q"], d)
        check(r.code == 0 and "time limit" not in r.stdout, r.stdout + r.stderr)
        events = r.trace(d, "storm")
        check_trace(events, "storm")
        out = "".join(e["data"] for e in events if e["kind"] == "output")
        m = re.fullmatch(r"jumps (\d+), rounds (\d+), other (\d+)\n", out)
        check(m is not None, f"output {out!r}; {r.stdout}")
        jumps, other = int(m.group(1)), int(m.group(3))
        calls = [e for e in events if e["kind"] == "call"]
        handlers = sum(1 for e in calls if e["call"] == "handler")
        longjmps = [e for e in calls if e["call"] == "longjmp"]
        # A jump that lands before the program counts the last one is not counted by it; each is in the trace.
        check(jumps <= len(longjmps) <= handlers, f"{jumps} jumps counted, {len(longjmps)} recorded, {handlers} handler runs")
        check(all(e["handlers"] == 1 and e.get("abandoned") in (None, "semop") for e in longjmps), "one handler left each time")
        check(sum(1 for e in longjmps if e.get("abandoned") == "semop") > 0, "some jumps abandon a semop")
        semops = [e for e in calls if e["call"] == "semop"]
        check(all(len(e["sops"]) == 1 and e["sops"][0]["op"] in (-1, 1) and e["sops"][0]["num"] in (0, 1) for e in semops), "none torn")
        theirs = sum(1 for e in semops if e["sops"][0]["num"] == 1)
        check(theirs == 2 * other, f"the other thread made {2 * other} semops, {theirs} traced")
        r.assert_nothing_left()


def case_preload_threads():
    """Four threads of a traced program call semop at once: every call is in the trace, whole, in time order."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "threads"
timeout = "20s"
[[process]]
name = "student"
exec = ["{test_program('threads')}", "2000"]
[[expect]]
stdout = "student"
equals = "16000\\n"
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "threads")
        check_trace(events, "threads")
        semops = [e for e in events if e["kind"] == "call" and e["call"] == "semop"]
        check(len(semops) == 16000, f"16000 semop calls traced, got {len(semops)}")
        check(all(e["result"] == 0 and len(e["sops"]) == 1 and e["sops"][0]["op"] in (-1, 1) for e in semops), "none torn")
        r.assert_nothing_left()

def case_not_executable():
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

def case_keys_and_semctl():
    """semget with keys reports the kernel's errors; GETNCNT sees the waiter; IPC_RMID wakes it with EIDRM;
    the same happens under controlled scheduling."""
    with tempfile.TemporaryDirectory() as out:
        seen = set()
        for mode in [[]] + [["--controlled", "--seed", str(seed)] for seed in range(1, 13)]:
            r = Run(["scenarios/semget_keys.toml", "-q"] + mode, out)
            events = r.trace(out, "semget_keys")
            # The waiter's second P: done before the set is removed, it succeeds; blocked when the
            # set is removed, it fails with EIDRM; started after, with EINVAL.
            removed = [e["seq"] for e in events if e.get("cmd") == "IPC_RMID"][0]
            second = [e for e in events if e["kind"] == "op" and e["proc"] == "waiter" and e["op"] == "P"][-1]
            parked = any(e["kind"] == "block" and e["proc"] == "waiter" and e["op_index"] == second["op_index"] and e["seq"] < removed
                         for e in events)
            case = None if second["seq"] < removed else "EIDRM" if parked else "EINVAL"
            check(second.get("errno") == case, f"{mode}: expected {case}: {second}")
            seen.add(case)
            if not mode:  # in controlled runs other ops may also come after the removal
                check(r.code == 0, f"{mode}: {r.stdout}{r.stderr}")
            if not mode:  # free mode: the probe runs long before the removal
                gets = {e["op_index"]: e for e in events if e["kind"] == "op" and e["op"] == "semget"}
                check(gets[0]["errno"] == "EINVAL" and gets[0]["size"] == 3 and gets[0]["key"] == 4242, str(gets[0]))
                check(gets[1]["errno"] == "EEXIST" and gets[1]["flags"] == "IPC_CREAT|IPC_EXCL|0600", str(gets[1]))
                check(gets[2]["result"] >= 0 and "errno" not in gets[2], str(gets[2]))
                ncnt = [e for e in events if e.get("cmd") == "GETNCNT"][0]
                check(ncnt["result"] == 1, f"one waiter in the semop: {ncnt}")
            r.assert_nothing_left()
        check({"EIDRM", "EINVAL"} <= seen, f"the seeds cover a waiter removed while blocked and one that came after: {seen}")


def case_msgctl():
    """msgctl IPC_STAT counts the messages; IPC_RMID wakes a blocked receiver with EIDRM, in both modes."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "msgctl"
timeout = "5s"
[ipc.msg.q]
[[process]]
name = "owner"
run = ['send q "one"', 'send q "two"', "msgctl q IPC_STAT", "sleep 100ms", "msgctl q IPC_RMID"]
[[process]]
name = "reader"
run = ["sleep 20ms", "recv q", "recv q", "recv q"]
[[expect]]
final = "count(recv q) == 2"
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "msgctl")
        stat = [e for e in events if e.get("cmd") == "IPC_STAT"][0]
        check(stat["qnum"] == 2 and stat["qbytes"] > 0, str(stat))
        last = [e for e in events if e["kind"] == "op" and e["op"] == "recv"][-1]
        check(last.get("errno") == "EIDRM", str(last))
        for seed in range(1, 6):  # controlled: EIDRM if the reader waited when the queue went, EINVAL if it came after
            r = Run([path, "-q", "--controlled", "--seed", str(seed)], d)
            events = r.trace(d, "msgctl")
            removed = [e["seq"] for e in events if e.get("cmd") == "IPC_RMID"][0]
            last = [e for e in events if e["kind"] == "op" and e["op"] == "recv"][-1]
            waited = any(e["kind"] == "block" and e["proc"] == "reader" and e["op_index"] == last["op_index"] and e["seq"] < removed
                         for e in events)
            if last["seq"] > removed:
                check(last.get("errno") == ("EIDRM" if waited else "EINVAL"), f"seed {seed}: {last}")
            r.assert_nothing_left()


def case_controlled_exec():
    """Controlled mode: a scheduled parent reaping an exec'd child is not a deadlock (sleep(1) in the child
    is a step that takes no time); a timeout while one computes is a timeout."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "execchild"
mode = "controlled"
seed = 1
timeout = "5s"
[[process]]
name = "parent"
run = ['print "forked"']
[[process]]
name = "child"
parent = "parent"
exec = ["sleep", "1"]
[[expect]]
final = "exit(child) == 0 && exit(parent) == 0"
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        sleeps = [e.get("ns") for e in r.trace(d, "execchild") if e["kind"] == "call" and e["call"] == "sleep"]
        check(sleeps == [1000000000], f"the child's sleep is one step in the trace: {sleeps}")
        path = write_scenario(d, f"""
[scenario]
name = "slowchild"
mode = "controlled"
timeout = "300ms"
[[process]]
name = "parent"
run = ['print "forked"']
[[process]]
name = "child"
parent = "parent"
exec = ["{test_program('spin')}"]
""", "slow")
        start = time.monotonic()
        r = Run([path, "-q"], d)
        check(r.code == 1 and "outcome: timeout" in r.stdout, r.stdout + r.stderr)
        check(time.monotonic() - start < 3, "ended at the timeout")
        r.assert_nothing_left()


def case_replay_errors():
    """A schedule for another version of the scenario, or naming an unknown process, is a clear error (exit 2)."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["scenarios/race_explore.toml", "-q"], d)
        schedule = os.path.join(d, "race_explore", "schedule.toml")
        check(os.path.exists(schedule), "a controlled run writes its schedule")
        with open(os.path.join(ROOT, "scenarios", "race_explore.toml")) as f:
            changed = write_scenario(d, f.read().replace("repeat = 3", "repeat = 4"), "changed")
        r = Run(["replay", changed, schedule], d)
        check(r.code == 2 and "recorded for another version of" in r.stderr, r.stderr)
        with open(schedule) as f:
            text = f.read()
        bad = os.path.join(d, "bad.toml")
        with open(bad, "w") as f:
            f.write(re.sub(r'"incrementer#1', '"incrementer#7', text, count=1))
        r = Run(["replay", "scenarios/race_explore.toml", bad], d)
        check(r.code == 2 and "unknown process 'incrementer#7' in the schedule" in r.stderr and "^" in r.stderr, r.stderr)


def case_permissions():
    """unprivileged = true drops every capability, also across exec; IPC_SET changes mode and owner
    (in the sandbox only the mapped uid 0 exists: another uid is the kernel's EINVAL)."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["scenarios/permissions.toml", "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        stat = [e for e in r.trace(d, "permissions") if e.get("cmd") == "IPC_STAT"][0]
        check(stat["mode"] == "0600" and stat["uid"] == 0, str(stat))
        path = write_scenario(d, """
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
run = ["semctl s IPC_SET uid 1000 gid 1000", "semctl s IPC_STAT"]
[[expect]]
stdout = "guest"
equals = "CapEff:\\t0000000000000000\\n"
""")
        for extra in ([], ["--no-sandbox"]):
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, r.stdout + r.stderr)
            events = r.trace(d, "caps")
            out = {e["proc"]: e["data"] for e in events if e["kind"] == "output"}
            check(out["guest"] == "CapEff:\t0000000000000000\n", f"{extra}: the guest has none: {out}")
            if not extra or os.geteuid() == 0:  # an unprivileged user has none to keep without a sandbox
                check(out["plain"] != out["guest"], f"{extra}: the plain process keeps its capabilities: {out}")
            setop, stat = [e for e in events if e.get("cmd") in ("IPC_SET", "IPC_STAT")]
            if extra:  # the machine's own ids: the owner changes
                check(setop["result"] == 0 and stat["uid"] == 1000 and stat["gid"] == 1000, f"{setop} {stat}")
            else:
                check(setop.get("errno") == "EINVAL" and stat["uid"] == 0, f"{setop} {stat}")
            r.assert_nothing_left()


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global SIMRUN
    if len(sys.argv) < 3 or sys.argv[2] not in CASES:
        print(f"usage: e2e.py SIMRUN CASE [ARG]; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    SIMRUN = os.path.abspath(sys.argv[1])
    try:
        CASES[sys.argv[2]](*sys.argv[3:])
    except Failure as f:
        print(f"FAIL: {f}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

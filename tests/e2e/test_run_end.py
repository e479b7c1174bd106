"""End-to-end tests: run_end."""
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


def test_timeout():
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


@pytest.mark.parametrize("mode", [[], ["--controlled", "--seed", "3"]], ids=["free", "controlled"])
def test_trace_limit(mode):
    """A loop of a billion P/V pairs with trace_limit = 20 000: the run stops as `trace limit` at once, not at
    its timeout, and the trace is whole up to there (every process spawned and exited, ending in run_end)."""
    with tempfile.TemporaryDirectory() as d:
        text = """
[scenario]
name = "endless"
timeout = "60s"
trace_limit = 20000
[ipc.sem.s]
members = { m = 1 }
[[process]]
name = "looper"
repeat = 1000000000
run = ["P s.m", "V s.m"]
[[process]]
name = "other"
run = ["P s.m", "V s.m"]
"""
        path = write_scenario(d, text)
        start = time.monotonic()
        r = Run([path] + mode, d)
        check(time.monotonic() - start < 30, "the run stopped at its trace limit, not its timeout")
        check(r.code == 1 and "outcome: trace limit" in r.stdout, f"exit {r.code}\n{r.stdout}{r.stderr}")
        check("still alive when the trace reached its limit" in r.stdout and "looper runs" in r.stdout, r.stdout)
        events = r.trace(d, "endless")
        check_trace(events, "endless")
        end = events[-1]
        check(end["outcome"] == "trace limit" and end["verdicts"]["looper"]["verdict"] == "stopped", end)
        check(20000 <= len(events) < 200000, f"{len(events)} events for a limit of 20 000")
        r = Run([write_scenario(d, text + '[[expect]]\noutcome = "trace limit"\n', "expected")] + mode, d)
        check(r.code == 0, r.stdout + r.stderr)
        r.assert_nothing_left()
        bad = write_scenario(d, text.replace("trace_limit = 20000", "trace_limit = 5"), "bad")
        r = Run([bad], d)
        check(r.code == 2 and "bad.toml:5:15: error: trace_limit" in r.stderr and "^" in r.stderr, r.stderr)


def test_timed_fault():
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


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_two_after_faults(mode):
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


@pytest.mark.parametrize("which, mode", [("TERM", "ns"), pytest.param("INT", "ns"), pytest.param("INT", "nosandbox", marks=pytest.mark.serial), pytest.param("TERM", "nosandbox", marks=pytest.mark.serial)])
def test_sigterm(which, mode):
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


@pytest.mark.parametrize("mode", ["ns", pytest.param("nosandbox", marks=pytest.mark.serial)])
def test_sigkill(mode):
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


@pytest.mark.parametrize("mode", ["undo", "noundo"])
def test_kill_every_step(mode):
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


@pytest.mark.parametrize("which", ["TERM", "INT"])
@pytest.mark.serial
def test_a_stop_request_with_programs_running_cleans_up_what_they_made(which):
    """With an exec'd program the supervisor has a second thread (the process-limit watch); a stop request once
    found it with SIGTERM unblocked and killed the supervisor by the default action ('the supervisor was killed
    by SIGTERM', exit 3): the programs' semaphore set, queue and FIFO stayed. Now: exit 130, outcome interrupted,
    and without a sandbox what the programs made on the host is removed too, FIFO included."""
    for extra in ([], ["--no-sandbox"]):
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "fifo-made-by-the-program")
            path = write_scenario(d, f"""
[scenario]
name = "programs"
timeout = "30s"
[[process]]
name = "student"
exec = ["sh", "-c", "ipcmk -S 2 >/dev/null; ipcmk -Q >/dev/null; mkfifo {fifo}; echo ready; sleep 30"]
""")
            before, shm_before = ipc_objects(), set(os.listdir("/dev/shm"))
            tag = new_tag()
            p = subprocess.Popen([SIMRUN, path, "--out", d, "-q"] + extra, cwd=ROOT, env=dict(os.environ, SIMRUN_TEST_TAG=tag),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 10
            while not any(comm_of(pid) == "sleep" for pid in tagged_processes(tag)) and time.monotonic() < deadline:
                time.sleep(0.02)
            p.send_signal(signal.SIGTERM if which == "TERM" else signal.SIGINT)
            out, err = p.communicate(timeout=20)
            check(p.returncode == 130 and "killed by" not in err, f"{extra}: exit {p.returncode}\n{out}{err}")
            with open(os.path.join(d, "programs", "trace.jsonl")) as f:
                end = [json.loads(line) for line in f][-1]
            check(end["kind"] == "run_end" and end["outcome"] == "interrupted", f"{extra}: {end}")
            check(wait_gone(tag), f"{extra}: processes left")
            check(not (ipc_objects() - before), f"{extra}: IPC objects left: {ipc_objects() - before}")
            check(not (set(os.listdir("/dev/shm")) - shm_before), f"{extra}: /dev/shm files left")
            check(not os.path.exists(fifo), f"{extra}: the program's FIFO left")


def comm_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


@pytest.mark.serial
def test_the_kill_soak():
    """tools/soak, 30 runs from a fixed seed: simrun killed (SIGKILL, SIGTERM, SIGINT) at random moments over
    scripted, exec'd, controlled and explore runs in both sandbox modes leaves no process, IPC object, /dev/shm
    entry, FIFO, scratch file or registry entry once `simrun clean` has run."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "soak"), "--runs", "30", "--seed", "2026", "--simrun", SIMRUN],
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0 and "30 runs" in r.stdout and "; 0 failures" in r.stdout, r.stdout + r.stderr)


@pytest.mark.parametrize("mode", [[], ["--controlled", "--seed", "1"]], ids=["free", "controlled"])
def test_a_deadlock_is_drawn(mode):
    """A deadlock writes deadlock.dot and, Graphviz installed, deadlock.svg beside the trace: read back by Graphviz
    itself (dot -Tjson), the graph has both processes and both semaphores, each process's edge to the lock it
    waits on and the lock's edge to its holder, all four red (the cycle); the SVG is well-formed XML. The report
    names both files; a later run without a deadlock removes them."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([os.path.join(ROOT, "scenarios", "deadlock.toml"), "-q"] + mode, d)
        folder = os.path.join(d, "deadlock")
        dot, svg = os.path.join(folder, "deadlock.dot"), os.path.join(folder, "deadlock.svg")
        check(r.code == 0 and f"wait-for graph: {dot}, {svg}" in r.stdout, r.stdout + r.stderr)
        g = json.loads(subprocess.run(["dot", "-Tjson", dot], capture_output=True, text=True, check=True).stdout)
        label = {o["_gvid"]: o.get("label", o["name"]).replace("\\n", " ") for o in g["objects"]}
        edges = {(label[e["tail"]], label[e["head"]]): e.get("color") for e in g["edges"]}
        want = {("left", "locks.b (semaphore)"), ("locks.b (semaphore)", "right"), ("right", "locks.a (semaphore)"),
                ("locks.a (semaphore)", "left")}
        check(set(edges) == want and set(edges.values()) == {"red"}, f"{edges}")
        check(subprocess.run(["xmllint", "--noout", svg]).returncode == 0, "the SVG is XML")
        events = r.trace(d, "deadlock")
        check(any("wait-for graph:" in line for line in events[-1]["diagnosis"]), "run_end names the picture")
        ok = write_scenario(d, "[scenario]\nname = \"deadlock\"\n[[process]]\nname = \"p\"\nrun = [\"sleep 1ms\"]\n", "ok")
        r = Run([ok, "-q"], d)
        check(r.code == 0 and not os.path.exists(dot) and not os.path.exists(svg), "the earlier run's pictures removed")


def test_where_the_time_went():
    """--stats and run_end's contention: per object the completed and blocked takes, waits and hand-offs; per
    process its waits. Controlled (a seed that interleaves the locked pair), the figures hold together: the mutex
    was taken 40 000 times, some P's blocked and the blocked ones are exactly the processes' waits; the unlocked
    pair never waits. The terminal shows both tables."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([os.path.join(ROOT, "scenarios", "counter_cost.toml"), "-q", "--stats", "--controlled", "--seed", "5"], d, timeout=120)
        check(r.code == 0, r.stdout + r.stderr)
        check("contention by object" in r.stdout and "time by process" in r.stdout, r.stdout)
        c = r.trace(d, "counter_cost")[-1]["contention"]
        mutex = [o for o in c["objects"] if o["name"] == "lock.mutex"]
        check(len(mutex) == 1 and mutex[0]["ops"] == 40000, str(c["objects"]))
        procs = {p["name"]: p for p in c["processes"]}
        locked_waits = procs["with_lock#0"]["waits"] + procs["with_lock#1"]["waits"]
        check(mutex[0]["blocked"] > 0 and mutex[0]["blocked"] == locked_waits, f"{mutex[0]} vs {locked_waits} waits")
        check(mutex[0]["handoffs"] >= mutex[0]["blocked"] and mutex[0]["longest_ns"] <= mutex[0]["wait_ns"], str(mutex[0]))
        check(procs["no_lock#0"]["waits"] == 0 and procs["no_lock#1"]["waits"] == 0, str(procs))
        check(all(p["cpu_ns"] > 0 and p["voluntary_switches"] >= 0 for p in procs.values()), f"each process's rusage: {procs}")
        check(re.search(r"with_lock#0 .* running · .* blocked · .* waiting its turn", r.stdout), r.stdout)
        check(re.search(r"lock\.mutex\s+40000 · ", r.stdout), r.stdout)
        r = Run([os.path.join(ROOT, "scenarios", "counter_cost.toml"), "-q"], d, timeout=120)
        check("contention by object" not in r.stdout, "only with --stats")
        # A program's children: a spare slot passes from one that ended to the next, each keeps its own row.
        r = Run([os.path.join(ROOT, "scenarios", "traced_program.toml"), "-q"], d)
        events = r.trace(d, "traced_program")
        rows = [p["name"] for p in events[-1]["contention"]["processes"]]
        check(sorted(rows) == sorted({e["proc"] for e in events if "proc" in e}), f"one row per process: {rows}")

"""End-to-end tests: controlled."""
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


def test_determinism():
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


def test_explore_race():
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


def test_explore_long_race():
    """explore on scenarios/race.toml as it is (2 x 50 000 increments, 200 000 steps a run): it finds a lost update,
shrinks it within its time bound and writes a schedule that replays the lost update, twice with the same trace."""
    with tempfile.TemporaryDirectory() as out:
        r = Run(["explore", "scenarios/race.toml", "--seed", "1", "--runs", "20", "--events", "0"], out)
        check(r.code == 1, f"explore exit {r.code}\n{r.stdout}{r.stderr}")
        check("fails: no update lost" in r.stdout and "shrunk in" in r.stdout, r.stdout)
        schedule = os.path.join(out, "race", "failure.schedule.toml")
        traces = set()
        for _ in range(2):
            rr = Run(["replay", "scenarios/race.toml", schedule, "-q"], out)
            check(rr.code == 1, f"replay exit {rr.code}\n{rr.stdout}{rr.stderr}")
            m = re.search(r"counter\.value = (\d+)", rr.stdout)
            check(m and int(m.group(1)) < 100000, f"the update is lost: {rr.stdout}")
            traces.add(json.dumps(normalized(rr.trace(out, "race"))))
        check(len(traces) == 1, "both replays give the same trace")


SLOW_RACE = """
[scenario]
name = "slow_race"
timeout = "60s"
[ipc.shm.counter]
cells = { value = 0 }
[[process]]
name   = "incrementer"
count  = 2
repeat = 5000
run    = ["counter.value += 1", "sleep 1us"]
[[expect]]
name  = "no update lost"
final = "counter.value == 10000"
"""


def test_explore_stopped_while_shrinking():
    """SIGTERM while explore shrinks a long failing schedule (a 30 000-step race whose sleeps make every replay
take a few tenths of a second): explore stops within a few seconds, not at the end of its shrinking, exit 130,
and keeps the smallest failing schedule found so far, saying where; replaying that file loses the update."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, SLOW_RACE, "slow_race")
        tag = new_tag()
        env = dict(os.environ, SIMRUN_TEST_TAG=tag, NO_COLOR="1")
        p = subprocess.Popen([SIMRUN, "explore", path, "--seed", "2", "--out", d, "--shrink-time", "10m"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = ""
        while "fails:" not in seen:
            line = p.stdout.readline()
            if not line:
                check(False, f"explore ended before it found the race: {seen}{p.stderr.read()}")
            seen += line
        time.sleep(0.5)  # inside a shrinking replay
        stopped_at = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        took = time.monotonic() - stopped_at
        out = seen + out
        check(p.returncode == 130, f"exit {p.returncode} {took:.1f} s after SIGTERM\n{out}{err}")
        check(took < 5, f"explore stopped {took:.1f} s after SIGTERM")
        check("shrinking stopped after" in out and "the smallest failing schedule so far:" in out, out)
        schedule = os.path.join(d, "slow_race", "failure.schedule.toml")
        check(os.path.exists(schedule) and schedule in out, out)
        check(wait_gone(tag), "processes left after SIGTERM")
        rr = Run(["replay", path, schedule, "-q"], d)
        check(rr.code == 1 and "no update lost" in rr.stdout, f"replay exit {rr.code}\n{rr.stdout}{rr.stderr}")


def test_explore_exhaustive():
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


def test_explore_deadlock():
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


def test_controlled_exec():
    """Controlled mode: a scheduled parent reaping an exec'd child is not a deadlock (sleep(1) in the child
is a step that takes no time)."""
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


def test_controlled_exec_slowchild():
    """Controlled mode: a timeout while an exec'd child computes is a timeout."""
    with tempfile.TemporaryDirectory() as d:
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
exec = ["{program_path('spin')}"]
""", "slow")
        start = time.monotonic()
        r = Run([path, "-q"], d)
        check(r.code == 1 and "outcome: timeout" in r.stdout, r.stdout + r.stderr)
        check(time.monotonic() - start < 3, "ended at the timeout")
        r.assert_nothing_left()


def test_controlled_programs():
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
exec = ["{program_path('sem_rounds')}", "6171", "4"]
[[process]]
name = "b"
exec = ["{program_path('sem_rounds')}", "6171", "4"]
[[process]]
name = "waiter"
exec = ["{program_path('sem_block')}", "6172"]
[[process]]
name = "opener"
run = ["P lock.mutex", "V lock.mutex", "V gate.door"]
[[process]]
name = "static"
exec = ["{program_path('ipc_calls_static')}", "6175", "6173"]
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


def test_controlled_programs_ctlstuck():
    """A program parked for good is a deadlock, and the report names its call."""
    with tempfile.TemporaryDirectory() as d:
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
exec = ["{program_path('sem_block')}", "6174"]
[[expect]]
outcome = "deadlock"
""", name="stuck")
        r = Run([path, "-q"], d)
        diagnosis = r.trace(d, "ctlstuck")[-1]["diagnosis"]
        check(r.code == 0 and any("waiter waits in its semop" in l for l in diagnosis), f"{r.stdout}{diagnosis}")
        r.assert_nothing_left()

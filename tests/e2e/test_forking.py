"""Controlled runs of real programs that fork their own children (issue 16): the
course's patterns as C programs (tests/programs/*.c), every process of the
tree scheduled at the same gate. Correct programs complete on every seed;
buggy ones show their bug on some seeds and never hang to the timeout; a
seed gives the same run twice; explore finds the bug where there is one,
and the schedule it saves fails again when replayed."""
import json
import os
import re
import tempfile

import pytest

from support import *

# program argv, and what its runs may end as: "ok" (every seed completes
# with this stdout) or "bug" (the outcome its bug gives on some seeds).
PROGRAMS = {
    "handoff": (["handoff", "5"], "ok", "handoff 5 rounds\n"),
    "pc_fork": (["pc_fork", "ok", "10", "2"], "ok", "consumed 10 items, sum 55\n"),
    "pc_fork_mutex_first": (["pc_fork", "mutex-first", "10", "2"], "bug", "deadlock"),
    "pc_fork_undo": (["pc_fork", "undo", "10", "2"], "bug", "deadlock"),
    "msg_server": (["msg_server", "7311", "3"], "ok", "served 3\n"),
    "msg_server_one_more": (["msg_server", "7312", "3", "one-more"], "bug", "deadlock"),
    "pingpong": (["pingpong", "ok", "5"], "ok", "ping-pong 5 rounds\n"),
    "pingpong_lost": (["pingpong", "lost", "5"], "bug", "deadlock"),
    "flood": (["flood", "3000"], "ok", None),
    "pipe_forget_ok": (["pipe_forget", "ok"], "ok", "read 3 lines\n"),
    "pipe_forget": (["pipe_forget", "forget"], "bug", "deadlock"),
    "generations": (["generations"], "ok", "child exited 4\n"),
    # Its handler's write comes while main is parked in sigsuspend, waiting for its next step.
    "handler_calls": (["handler_calls"], "ok", "handled 3, read hhh\n"),
}


def scenario(d, name):
    argv, kind, want = PROGRAMS[name]
    expect = ""
    if kind == "ok" and want is not None:
        expect = f'[[expect]]\nstdout = "student"\nequals = {json.dumps(want)}\n'
    return program_scenario(d, name, argv, "controlled", extra=expect)


def calls(events):
    """What the processes did, in order: their calls with arguments and results, their exits."""
    keep = ("call", "exit", "signal", "reaped")
    return [{k: v for k, v in e.items() if k not in ("seq", "t")} for e in events if e["kind"] in keep]


def first_difference(a, b):
    """Where two lists of calls part, for the failure message."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"at call {i}: {x} != {y}"
    return f"lengths {len(a)} and {len(b)}"


def outcome_of(r, d, name):
    return r.trace(d, name)[-1]["outcome"]


# Every program without a sandbox too: what a program killed at a deadlock
# leaves, simrun removes (the autouse leak check of conftest.py fails the
# test otherwise).
NO_SANDBOX = sorted(PROGRAMS)
SAME_RUN = ["handoff", "pc_fork_mutex_first", "pingpong_lost", "msg_server", "generations", "handler_calls"]


@pytest.mark.parametrize("name, extra", [pytest.param(n, [], id=n) for n in sorted(PROGRAMS)] +
                         [pytest.param(n, ["--no-sandbox"], marks=pytest.mark.serial, id=f"{n}-no_sandbox") for n in NO_SANDBOX])
def test_every_seed_ends_as_the_program_does(name, extra):
    """Seeds 1..20 (10 without a sandbox): a correct program completes every time (with its output); a buggy
    one shows its bug on some seeds, and no seed hangs to the timeout."""
    _, kind, want = PROGRAMS[name]
    with tempfile.TemporaryDirectory() as d:
        path = scenario(d, name)
        outcomes = []
        for seed in range(1, 11 if extra else 21):
            r = Run([path, "-q", "--seed", str(seed)] + extra, d)
            outcome = outcome_of(r, d, name)
            outcomes.append(outcome)
            check(outcome != "timeout", f"seed {seed}: timeout\n{r.stdout}{r.stderr}")
            if kind == "ok":
                check(r.code == 0 and outcome == "completed", f"seed {seed}: exit {r.code}, {outcome}\n{r.stdout}{r.stderr}")
        if kind == "bug":
            check(want in outcomes, f"the bug ({want}) never showed: {outcomes}")


def host_pids_renamed(events):
    """Without a sandbox the pids (and System V ids) are the host's and grow from run to run: each one
    becomes its order of first appearance, so that two runs compare by what they did. Message texts are
    left out: a client that sends its pid sends different bytes. Pids are renamed wherever they appear
    (a host pid is never a small number), ids only where they are ids: the host's first set has id 0,
    which is also every semaphore number and most results."""
    seen = {}
    count = [0]
    pids = {e["pid"] for e in events if isinstance(e.get("pid"), int) and e["pid"] > 1}
    pids |= {e["result"] for e in events if e.get("call") == "fork" and isinstance(e.get("result"), int) and e["result"] > 1}
    id_keys = ("semid", "msqid", "shmid", "id")
    id_calls = ("semget", "msgget", "shmget")

    def fresh(key):
        if key not in seen:
            seen[key] = f"#{count[0]}"
            count[0] += 1
        return seen[key]

    def name(v):
        return fresh(("id", v))

    def rename(v, key=None, call=None):
        if isinstance(v, dict):
            c = v.get("call", call)
            return {k: (name(x) if isinstance(x, int) and (k in id_keys or (k == "result" and c in id_calls and x >= 0))
                        else rename(x, k, c)) for k, x in v.items() if not k.startswith("text")}
        if isinstance(v, list):
            return [rename(x, key, call) for x in v]
        if isinstance(v, int) and not isinstance(v, bool) and v in pids:
            return fresh(("pid", v))
        return v
    out = []
    for e in events:
        out.append(rename(e))
        # Once a process has exited its pid may be reused (pid_max wraps on a busy machine): a later
        # process with the same number is another one, and gets a name of its own.
        if (e.get("kind") == "exit" or e.get("call") == "exit") and isinstance(e.get("pid"), int):
            seen.pop(("pid", e["pid"]), None)
    return out


@pytest.mark.parametrize("name, extra", [pytest.param(n, [], id=n) for n in SAME_RUN] +
                         [pytest.param(n, ["--no-sandbox"], marks=pytest.mark.serial, id=f"{n}-no_sandbox") for n in SAME_RUN])
def test_a_seed_gives_the_same_run_twice(name, extra):
    """The same seed: the same calls with the same arguments, results and pids, the same outcome, the same
    schedule file. Without a sandbox the pids and ids are the host's, so they compare by first appearance."""
    with tempfile.TemporaryDirectory() as d:
        path = scenario(d, name)
        for seed in (1, 2, 3):
            runs = []
            for _ in range(2):
                r = Run([path, "-q", "--seed", str(seed)] + extra, d)
                seen = calls(r.trace(d, name))
                if extra:
                    seen = host_pids_renamed(seen)
                with open(os.path.join(d, name, "schedule.toml")) as f:
                    runs.append((seen, outcome_of(r, d, name), f.read()))
            check(runs[0][1] == runs[1][1], f"seed {seed}: outcomes {runs[0][1]} and {runs[1][1]}")
            check(runs[0][0] == runs[1][0], f"seed {seed}: the calls differ: {first_difference(runs[0][0], runs[1][0])}")
            check(runs[0][2] == runs[1][2], f"seed {seed}: the schedules differ:\n{runs[0][2]}\n{runs[1][2]}")


def test_a_deadlock_names_every_process_of_the_tree():
    """The mutex-before-empty deadlock: the parent and its child are both listed with the call they are
    parked in, who holds what, and the cycle between them; simrun's own kill of the child at the end is not a zombie the program left."""
    with tempfile.TemporaryDirectory() as d:
        path = scenario(d, "pc_fork_mutex_first")
        for seed in range(1, 21):
            r = Run([path, "-q", "--seed", str(seed)], d)
            if outcome_of(r, d, "pc_fork_mutex_first") == "deadlock":
                break
        check("student   waits in its semop" in r.stdout and "student/1 waits in its semop" in r.stdout, r.stdout)
        check("never waited for" not in r.stdout, r.stdout)
        check("last taken by student/1" in r.stdout, r.stdout)  # the mutex the child holds
        check("cycle: student → student/1 → student" in r.stdout, r.stdout)
        reaped = [e for e in r.trace(d, "pc_fork_mutex_first") if e["kind"] == "reaped"]
        check(all(e.get("killed_at_end") for e in reaped), str(reaped))


def test_a_server_blocked_in_msgrcv_is_explained():
    """The server that waits for one request more than there are clients: the report says it waits in
    msgrcv on its queue, that the queue is empty, who sent to it (all dead by then), and that main waits
    for the server."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([scenario(d, "msg_server_one_more"), "-q", "--seed", "1"], d)
        check(outcome_of(r, d, "msg_server_one_more") == "deadlock", r.stdout)
        check(re.search(r"student/1 waits in its msgrcv\(msqid \d+, type 1\); the queue is empty; sent to by "
                        r"student/2 \(dead\), student/3 \(dead\), student/4 \(dead\)", r.stdout), r.stdout)
        check("student   waits in its wait, for student/1" in r.stdout, r.stdout)


def test_a_reader_that_kept_its_own_write_end_is_explained():
    """The parent that never closes its copy of the pipe's write end: once its child has written and
    gone, its read waits for ever. The report says so: the pipe, and that the only write end open is its
    own; the child it had no chance to wait for is not counted as a zombie it left."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([scenario(d, "pipe_forget"), "-q", "--seed", "1"], d)
        check(outcome_of(r, d, "pipe_forget") == "deadlock", r.stdout)
        check(re.search(r"student waits in its read\(fd \d+, pipe:\[\d+\]\); the write end is open in itself", r.stdout), r.stdout)
        check("never waited for" not in r.stdout, r.stdout)


def test_a_lost_wake_up_names_both_waits_and_the_cycle():
    """The ping-pong whose pause comes after the check: on a seed where both end in pause, each is said
    to wait for a signal, who has sent one, and the cycle between them."""
    with tempfile.TemporaryDirectory() as d:
        path = scenario(d, "pingpong_lost")
        for seed in range(1, 21):
            r = Run([path, "-q", "--seed", str(seed)], d)
            if "cycle:" in r.stdout:
                break
        check("student   waits for a signal in its pause; signals sent so far by student/1" in r.stdout, r.stdout)
        check("student/1 waits for a signal in its pause; signals sent so far by student" in r.stdout, r.stdout)
        check("cycle: student → student/1 → student" in r.stdout, r.stdout)


def both_modes(names):
    """Each name in the sandbox and without one (serial: without a sandbox, runs share the machine)."""
    return [pytest.param(n, [], id=n) for n in names] + \
           [pytest.param(n, ["--no-sandbox"], marks=pytest.mark.serial, id=f"{n}-no_sandbox") for n in names]


BUGGY = sorted(n for n, (_, kind, _) in PROGRAMS.items() if kind == "bug")
CORRECT = sorted(n for n, (_, kind, _) in PROGRAMS.items() if kind == "ok")


# 200 schedules of flood (6000 writes each) take 35 s here, 50-60 s under ASan:
# Run's default of 60 s is too close.
EXPLORE_TIMEOUT = 240


@pytest.mark.parametrize("name, extra", both_modes(BUGGY))
def test_explore_finds_the_bug_and_its_schedule_replays(name, extra):
    """explore finds the bug; the schedule it saves fails again, the same way, 10 times out of 10."""
    with tempfile.TemporaryDirectory() as d:
        path = scenario(d, name)
        r = Run(["explore", path, "--runs", "200", "--seed", "1"] + extra, d, timeout=EXPLORE_TIMEOUT)
        check(r.code == 1, f"explore exit {r.code}\n{r.stdout}{r.stderr}")
        schedule = os.path.join(d, name, "failure.schedule.toml")
        check(os.path.exists(schedule), r.stdout)
        for _ in range(10):
            rr = Run(["replay", path, schedule, "-q"] + extra, d)
            check(rr.code == 1 and outcome_of(rr, d, name) == "deadlock", f"replay exit {rr.code}\n{rr.stdout}{rr.stderr}")


@pytest.mark.parametrize("name, extra", both_modes(CORRECT))
def test_explore_finds_nothing_in_a_correct_program(name, extra):
    """explore over 200 schedules of a correct forking program finds no failure."""
    with tempfile.TemporaryDirectory() as d:
        path = scenario(d, name)
        r = Run(["explore", path, "--runs", "200", "--seed", "1"] + extra, d, timeout=EXPLORE_TIMEOUT)
        check(r.code == 0, f"explore exit {r.code}\n{r.stdout}{r.stderr}")


def test_explore_runs_every_schedule_in_a_fresh_sandbox():
    """A program that creates a queue on a fixed key exclusively and never removes it, and prints its pid:
    every explore run starts from a fresh IPC and PID namespace, so none sees the queue an earlier run left
    and every one prints the same pid (before, the second run failed with EEXIST)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "fixed"
timeout = "10s"
mode = "controlled"
[[process]]
name = "server"
exec = ["{program_path('fixed_key')}", "75"]
[[expect]]
stdout = "server"
equals = "created by pid 3\\n"
""", name="fixed")
        r = Run(["explore", path, "--runs", "20", "--seed", "1"], d)
        check(r.code == 0 and "no failure in 20 runs" in r.stdout, f"explore exit {r.code}\n{r.stdout}{r.stderr}")


def test_output_is_progress_and_its_limit_holds():
    """A parent and child writing 20 000 lines each to stdout as fast as they can: simrun drains the pipe,
    the run completes with every line; with a 64 KiB output limit the program is stopped at it."""
    with tempfile.TemporaryDirectory() as d:
        for limit, verdict in (("", "ok"), ('limits = { output = "64KiB" }', "output limit")):
            path = write_scenario(d, f"""
[scenario]
name = "flood"
timeout = "20s"
mode = "controlled"
[[process]]
name = "student"
exec = ["{program_path('flood')}", "20000"]
{limit}
""", name="flood")
            r = Run([path, "-q", "--seed", "1"], d)
            events = r.trace(d, "flood")
            check(events[-1]["outcome"] == "completed", f"{limit}: {r.stdout}{r.stderr}")
            check(events[-1]["verdicts"]["student"]["verdict"] == verdict, str(events[-1]["verdicts"]))
            if verdict == "ok":
                out = "".join(e["data"] for e in events if e["kind"] == "output")
                check(out.count("\n") == 40000 and "child line 19999\n" in out and "parent line 19999\n" in out, f"{len(out)} bytes")


def test_a_run_with_unscheduled_processes_says_it_is_not_reproducible():
    """A static binary and a program with trace = false run free beside the schedule: the report names them
    and says the run is not reproducible; a run whose every process is scheduled says nothing of the kind."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "free"
timeout = "10s"
mode = "controlled"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6161
[ipc.msg.q]
key = 6162
[[process]]
name = "static"
exec = ["{program_path('ipc_calls_static')}", "6161", "6162"]
[[process]]
name = "plain"
trace = false
exec = ["true"]
""", name="free")
        r = Run([path, "-q", "--seed", "1"], d)
        note = [l for l in r.trace(d, "free")[-1]["diagnosis"] if "not reproducible" in l]
        check(len(note) == 1 and "static, plain ran free" in note[0], str(note))
        r = Run([scenario(d, "handoff"), "-q", "--seed", "1"], d)
        check(not [l for l in r.trace(d, "handoff")[-1]["diagnosis"] if "not reproducible" in l], r.stdout)


def test_a_timeout_names_every_process_of_the_tree():
    """A correct bounded buffer given far too many items for its timeout: the report lists the parent and its
    child, each where it is, and never blames simrun's own step gate on the program (a futex)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "long"
timeout = "500ms"
mode = "controlled"
[[process]]
name = "student"
exec = ["{program_path('pc_fork')}", "ok", "10000000", "2"]
""", name="long")
        r = Run([path, "-q", "--seed", "1"], d)
        diagnosis = r.trace(d, "long")[-1]["diagnosis"]
        check(r.trace(d, "long")[-1]["outcome"] == "timeout", r.stdout)
        check(any(l.startswith("  student ") for l in diagnosis) and any(l.startswith("  student/1 ") for l in diagnosis), str(diagnosis))
        check(not any("futex" in l for l in diagnosis), str(diagnosis))


def spawner(d, *mode):
    return write_scenario(d, f"""
[scenario]
name = "spawner"
timeout = "20s"
mode = "controlled"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6181
[[process]]
name = "student"
exec = {json.dumps([program_path('spawn_kids'), "6181", "5", *mode])}
""", name="spawner")


@pytest.mark.parametrize("extra", [pytest.param([], id="sandbox"), pytest.param(["--no-sandbox"], marks=pytest.mark.serial, id="no_sandbox")])
def test_programs_started_without_fork_are_scheduled(extra):
    """vfork + exec, posix_spawn and system start images that take steps at gates of their own, as forked
    children do: each seed completes with the program's own results, the run is called reproducible, the
    children are named in the order they were started, and a seed gives the same calls twice."""
    with tempfile.TemporaryDirectory() as d:
        path = spawner(d)
        interleaved = False
        for seed in (1, 2, 3, 4):
            runs = []
            for _ in range(2):
                r = Run([path, "-q", "--seed", str(seed)] + extra, d)
                events = r.trace(d, "spawner")
                end = events[-1]
                check(end["outcome"] == "completed", r.stdout + r.stderr)
                out = "".join(e.get("data", "") for e in events if e["kind"] == "output")
                check(out == "5 127 5 0 7\n", f"the program's results: {out!r}")
                check(not [l for l in end["diagnosis"] if "not reproducible" in l], str(end["diagnosis"]))
                procs = [e["proc"] for e in events if e.get("call") == "attach"]
                check(procs[:4] == ["student", "student/1", "student/2", "student/3"], f"children named in order: {procs}")
                shell = [e for e in events if e.get("proc") == "student/3" and e.get("call") == "exec"]
                check(shell and shell[0]["name"].endswith("sh"), f"system's shell is student/3: {shell}")
                semops = [e["proc"] for e in events if e.get("call") == "semop" and e["kind"] == "call"]
                # The parent's rounds and the posix_spawn child's can interleave only if both are scheduled.
                spawned = [i for i, p in enumerate(semops) if p == "student/2"]
                interleaved |= any(semops[i] == "student" for i in range(spawned[0], spawned[-1])) if spawned else False
                runs.append(host_pids_renamed(calls(events)) if extra else calls(events))
            check(runs[0] == runs[1], f"seed {seed}: the calls differ: {first_difference(runs[0], runs[1])}")
        check(interleaved, "the parent's and the spawned child's semops never interleaved over 4 seeds")


def test_images_that_cannot_be_scheduled_are_named_as_running_free():
    """A posix_spawn and a vfork + execle with an empty environment start images the tracer never reaches:
    the run completes and says it is not reproducible, and why, counting both."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([spawner(d, "untraced"), "-q", "--seed", "1"], d)
        end = r.trace(d, "spawner")[-1]
        check(end["outcome"] == "completed", r.stdout + r.stderr)
        note = [l for l in end["diagnosis"] if "not reproducible" in l]
        check(note and "2 programs started with vfork, posix_spawn, system or popen" in note[0], str(end["diagnosis"]))

"""End-to-end tests: programs."""
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


@pytest.mark.serial
def test_preload():
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
exec = ["{program_path('ipc_calls')}", "6161", "6162"]
[[process]]
name = "static"
exec = ["{program_path('ipc_calls_static')}", "6161", "6162"]
[[process]]
name = "quiet"
exec = ["{program_path('ipc_calls')}", "6161", "6162"]
trace = false
[[process]]
name = "chain"
exec = ["sh", "-c", "exec {program_path('ipc_calls')} 6161 6162"]
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


@pytest.mark.serial
def test_spawned_children():
    """Children a traced program starts without fork(): a vfork child records nothing before its exec (its
kill(getpid(), 0) is nowhere in the trace) and the image it execs gets a slot of its own; so do the images
of posix_spawn (while the parent keeps working) and system(). A vfork child whose exec fails leaves no
record."""
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
exec = ["{program_path('spawn_kids')}", "6181", "200"]
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
exec = ["{program_path('many_children')}", "6184", "40"{', "together"' if how else ''}]
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
            check(all(sum(1 for e in events if e.get("proc") == c and e.get("call") == "semop" and e["kind"] == "call") == 2 for c in children),
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
            # The tracer looks for a free slot with kill(pid, 0); the program never calls kill.
            kills = [e for e in events if e.get("call") == "kill"]
            check(not kills, f"{how}: the tracer's own probes are not the program's calls: {kills[:3]}")
            r.assert_nothing_left()


@pytest.mark.serial
def test_spawned_children_forky():
    """In controlled mode a program that waits for a child running free completes, as ipc_calls (fork, pipe,
wait) does, whatever the seed."""
    with tempfile.TemporaryDirectory() as d:
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
exec = ["{program_path('ipc_calls')}", "6182", "6183"]
[[expect]]
stdout = "student"
equals = "hello 1 3\\n"
""", name="forky")
        for seed in ("1", "2", "3"):
            r = Run([path, "-q", "--seed", seed], d)
            check(r.code == 0, f"seed {seed}: {r.stdout}{r.stderr}")
        r.assert_nothing_left()


def timed_waits_scenario():
    """A program with three timed waits (tests/programs/timed_waits), and {opener} for a process that opens the gate."""
    return f"""
[scenario]
name = "timed"
timeout = "10s"
[ipc.sem.gate]
members = {{{{ door = 0 }}}}
key = 6187
[[process]]
name = "student"
exec = ["{program_path('timed_waits')}", "6187"]
{{opener}}
[[expect]]
stdout = "student"
equals = "{{first}} ETIMEDOUT ETIMEDOUT\\n"
"""


@pytest.mark.serial
def test_program_timed_waits():
    """A traced program's waits with a timeout (semtimedop, sem_timedwait, mq_timedreceive) time out for real
in free mode; in controlled mode no time passes but by steps, so they end with the timeout's error only
when no process can step."""
    with tempfile.TemporaryDirectory() as d:
        scenario = timed_waits_scenario()
        path = write_scenario(d, scenario.format(opener="", first="EAGAIN"))
        for extra in ([], ["--controlled", "--seed", "1"], ["--controlled", "--seed", "2"]):
            r = Run([path, "-q"] + extra, d)
            check(r.code == 0, f"{extra}: {r.stdout}{r.stderr}")
            calls = [e for e in r.trace(d, "timed") if e["kind"] == "call"]
            failed = [(e["call"], e.get("errno")) for e in calls if e.get("result") == -1]
            check(failed == [("semop", "EAGAIN"), ("sem_timedwait", "ETIMEDOUT"), ("mq_receive", "ETIMEDOUT")], f"{extra}: {failed}")


@pytest.mark.serial
def test_program_timed_waits_opener():
    """A scripted V can always come first: the program's semtimedop takes it, whatever the seed."""
    with tempfile.TemporaryDirectory() as d:
        scenario = timed_waits_scenario()
        path = write_scenario(d, scenario.format(opener='[[process]]\nname = "opener"\nrun = ["V gate.door"]', first="OK"), name="opened")
        for seed in ("1", "2", "3", "4"):
            r = Run([path, "-q", "--controlled", "--seed", seed], d)
            check(r.code == 0, f"seed {seed}: {r.stdout}{r.stderr}")
        r.assert_nothing_left()


def test_program_signals():
    """Controlled mode settles the signals a step sends before the next step: a program's kill to a program
with a handler, a program's kill to its scripted parent that records, a scripted kill to a program, and
a program's SIGTERM to a program that dies of it (waiting in pause()). Each delivery (handler run or death)
comes right after its kill in the trace, whatever the seed, no SIGUSR1 is lost to another one still
pending, and a seed gives the same order twice."""
    with tempfile.TemporaryDirectory() as d:
        prog = program_path('signal_pair')
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


def test_program_signals_waits():
    """sigsuspend waits for its handler, sigwait for the pending signal, sleeps are recorded; in controlled mode they are steps (a sleep takes no time)."""
    with tempfile.TemporaryDirectory() as d:
        prog = program_path('signal_pair')
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


def test_program_signals_alarm():
    """alarm(): a real timer in free mode; in controlled mode simrun rings it when nothing else can step."""
    with tempfile.TemporaryDirectory() as d:
        prog = program_path('signal_pair')
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


@pytest.mark.serial
def test_handler_inside_call():
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
    prog = program_path('signal_pair')
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


def victim_file(d):
    """A file of the program's own, 1 MiB of 'A', for it to put where the tracer keeps its arena."""
    victim = os.path.join(d, "victim.bin")
    with open(victim, "wb") as f:
        f.write(b"A" * (1 << 20))
    return victim


def test_tracer_fd_taken():
    """A program puts a file of its own on the descriptor number where the tracer keeps the trace arena
(SIMRUN_TRACE names it), then execs: the new image does not take that file for the arena (before, it
wrote its records into the file and died of SIGBUS past its end); it runs untraced, and the report says
the detail after the exec is missing."""
    with tempfile.TemporaryDirectory() as d:
        victim = victim_file(d)
        path = write_scenario(d, f"""
[scenario]
name = "taken"
timeout = "5s"
[ipc.sem.s]
members = {{ m = 1 }}
key = 7311
[[process]]
name = "p"
exec = ["{program_path('reuse_tracer_fd')}", "{victim}", "{program_path('sem_rounds')}", "7311", "3"]
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


def test_tracer_fd_taken_shrink():
    """A program that shrinks the arena through the tracer's descriptor is refused (the memfd's size is
sealed; before, simrun's supervisor died of SIGBUS)."""
    with tempfile.TemporaryDirectory() as d:
        victim = victim_file(d)
        path = write_scenario(d, f"""
[scenario]
name = "shrink"
timeout = "5s"
[[process]]
name = "p"
exec = ["{program_path('reuse_tracer_fd')}", "truncate"]
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


def test_tracer_fd_taken_closed():
    """closefrom(3) takes the tracer's descriptors and a pipe; the file opened on the pipe's old number is no pipe (before, its write was traced as one), and the exec'd image runs untraced."""
    with tempfile.TemporaryDirectory() as d:
        victim = victim_file(d)
        path = write_scenario(d, f"""
[scenario]
name = "closed"
timeout = "5s"
[ipc.sem.s]
members = {{ m = 1 }}
key = 7312
[[process]]
name = "p"
exec = ["{program_path('reuse_tracer_fd')}", "closefrom", "{victim}", "{program_path('sem_rounds')}", "7312", "3"]
""")
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "closed")
        check_trace(events, "closed")
        check(events[-1]["verdicts"]["p"]["verdict"] == "ok", str(events[-1]["verdicts"]))
        writes = [e.get("data") for e in events if e["kind"] == "call" and e["call"] == "write"]
        check(writes == ["a"], f"only the pipe write: {writes}")
        check(any("no call detail after its last exec" in l for l in events[-1]["diagnosis"]), str(events[-1]["diagnosis"]))


def test_jump_storm():
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
exec = ["{program_path('jump_storm')}", "2000"]
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


def test_preload_threads():
    """Four threads of a traced program call semop at once: every call is in the trace, whole, in time order."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "threads"
timeout = "20s"
[[process]]
name = "student"
exec = ["{program_path('threads')}", "2000"]
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

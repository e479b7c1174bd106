"""End-to-end tests: ipc."""
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


def test_prodcons_counts():
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


def test_race_loses_updates():
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


def test_deadlock_reported():
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


def test_undo_at_exit():
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
        check("undo slots.full -3: 3 → 0" in r.stdout, r.stdout)
        r.assert_nothing_left()


def test_queue_order():
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


def test_posix_sem_timeout():
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


def test_fifo():
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


def test_signals():
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


def test_keys_and_semctl():
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


def test_msgctl():
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


def test_exec_stdio():
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

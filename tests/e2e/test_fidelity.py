"""A real program's trace tells the whole truth (issue 17): no phantom calls, no changed behaviour, the
calls glibc binds to other names, a return from main as the exit, payloads that are not text kept exact."""
import json
import os
import tempfile

import pytest

from support import *


def xsi_scenario(d, mode="free", fifo=None):
    return program_scenario(d, "xsi", ["xsi_signals"] + ([fifo] if fifo else []), mode, "10s")


def program_calls(events, proc="student"):
    return [e for e in events if e["kind"] == "call" and e.get("proc") == proc]


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_the_calls_glibc_binds_to_other_names_are_traced(mode):
    """Built strict X/Open and fortified, the program's signal() is __sysv_signal, sigpause() is
    __xpg_sigpause, its read() is __read_chk; it also uses sigset/sighold/sigrelse, popen/pclose and
    mknod for a FIFO. Each shows as the call it is: the handlers' sigaction and write calls too."""
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        r = Run([xsi_scenario(d, mode, fifo), "-q", "--seed", "1"], d)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "xsi")
        out = "".join(e.get("data", "") for e in events if e["kind"] == "output")
        check(out == "errno 0 usr1 2 usr2 1 read 112 shell 'from-shell' 0 fifo 0\n", f"the program's own view: {out!r}")
        calls = program_calls(events)
        names = [e["call"] for e in calls]
        usr1 = [e for e in calls if e["call"] == "sigaction" and e.get("signal") == "SIGUSR1"]
        check(len(usr1) == 3, f"__sysv_signal: installed once, then again by the handler at each delivery: {usr1}")
        handlers = [e for e in calls if e["call"] == "handler"]
        check([e["signal"] for e in handlers] == ["SIGUSR1", "SIGUSR1", "SIGUSR2"], f"handlers: {handlers}")
        writes = [e for e in calls if e["call"] == "write"]
        check([e["data"] for e in writes] == ["1", "1", "2"], f"the handlers' writes: {writes}")
        check(names.count("sigsuspend") == 1, f"sigpause (__xpg_sigpause) is a sigsuspend: {names}")
        check(names.count("sigprocmask") >= 5, f"sighold/sigrelse/sigset/sigpause change the mask: {names}")
        reads = [e for e in calls if e["call"] == "read"]
        check(len(reads) == 1 and reads[0]["data"] == "112", f"the fortified read (__read_chk): {reads}")
        popen = [e for e in calls if e["call"] == "fork" and e.get("how") == "popen"]
        check(len(popen) == 1 and popen[0]["name"] == "echo from-shell" and popen[0]["result"] > 0, f"popen: {popen}")
        pclose = [e for e in calls if e["call"] == "wait" and e.get("how") == "pclose"]
        check(len(pclose) == 1 and pclose[0]["result"] == popen[0]["result"] and pclose[0]["status"] == "exited 0", f"pclose: {pclose}")
        fifos = [e for e in calls if e["call"] == "mkfifo"]
        check(len(fifos) == 1 and fifos[0]["name"] == fifo, f"mknod of a FIFO: {fifos}")
        check(calls[-1]["call"] == "exit" and calls[-1].get("how") == "return" and calls[-1]["code"] == 0,
              f"the return from main is the exit: {calls[-1]}")
        check("return 0 from main" in Run([xsi_scenario(d, mode, fifo), "--seed", "1"], d).stdout, "the timeline says so")


def test_errno_is_as_without_simrun_when_main_starts():
    """errno is 0 when main() starts, as natively (it was EINVAL, left by the tracer's own set-up)."""
    with tempfile.TemporaryDirectory() as d:
        native = subprocess.run([program_path("xsi_signals")], capture_output=True, text=True)
        check(native.stdout.startswith("errno 0 "), native.stdout)
        r = Run([xsi_scenario(d), "-q"], d)
        out = "".join(e.get("data", "") for e in r.trace(d, "xsi") if e["kind"] == "output")
        check(out.startswith("errno 0 "), out)


def test_payloads_that_are_not_text_are_kept_exact():
    """A client that sends its pid as binary: the timeline shows the bytes that are not printable as \\xNN
    (not as spaces), the trace keeps them exactly as hex beside the text."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "bin"
timeout = "10s"
[[process]]
name = "student"
exec = ["{program_path('msg_server')}", "7313", "1"]
""", name="bin")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        sends = [e for e in r.trace(d, "bin") if e.get("call") == "msgsnd" and e["proc"] == "student/2"]
        check(len(sends) == 1, str(sends))
        pid = sends[0]["pid"]
        check(sends[0]["text_hex"] == pid.to_bytes(4, "little").hex(), f"the pid's four bytes: {sends[0]}")
        shown = "".join(f"\\x{b:02x}" if b < 0x20 or b > 0x7e else chr(b) for b in pid.to_bytes(4, "little"))
        check(f'msgsnd(' in r.stdout and f'"{shown}"' in r.stdout, f"{shown} in\n{r.stdout}")


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_the_call_a_process_is_blocked_in_is_in_the_trace(mode):
    """The server that waits for a request nobody sends, and main waiting for it: the trace alone shows
    both (a `block` event each, with the queue and type, the pid waited for) though neither call returns
    (controlled: a deadlock; free: the timeout ends it); a call that waited and then returned says so
    (`waited`), one that did not wait has no block event."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([program_scenario(d, "srv", ["msg_server", "7314", "2", "one-more"], mode, "2s"), "-q", "--seed", "1"], d)
        events = r.trace(d, "srv")
        check(events[-1]["outcome"] == ("deadlock" if mode == "controlled" else "timeout"), r.stdout)
        blocks = [e for e in events if e["kind"] == "block"]
        for e in blocks:
            check("result" not in e and "errno" not in e, f"a start has no result: {e}")
        server = [e for e in blocks if e["proc"] == "student/1" and e["call"] == "msgrcv"]
        check(server and server[-1]["type"] == 1 and isinstance(server[-1]["msqid"], int), f"the server's last msgrcv: {blocks}")
        main = [e for e in blocks if e["proc"] == "student" and e["call"] == "wait"]
        check(main and main[-1]["for"] == -1, f"main's wait: {blocks}")
        calls = [e for e in events if e["kind"] == "call"]
        # Every block but the two that never return is followed by its completion, which says it waited.
        for b in blocks:
            after = [e for e in calls if e["proc"] == b["proc"] and e["seq"] > b["seq"]]
            if b is server[-1] or b is main[-1]:
                check(not after or after[0]["call"] != b["call"], f"{b} never returned")
            else:
                check(after and after[0]["call"] == b["call"] and after[0].get("waited") is True, f"{b} then {after[:1]}")
        quick = [e for e in calls if e["call"] == "msgsnd"]
        check(quick and not any(e.get("waited") for e in quick), "a send that did not wait is a plain call")


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_both_sides_of_a_deadlock_and_a_lost_wake_up_show_their_calls(mode):
    """The mutex-before-empty bounded buffer: both P's it deadlocks in are block events with their
    semaphore; the lost wake-up (controlled: the seeds choose when the signal comes): the pause that was
    killed is one."""
    with tempfile.TemporaryDirectory() as d:
        cases = [("pcm", ["pc_fork", "mutex-first", "10", "2"], "semop")] + ([("pl", ["pingpong", "lost", "5"], "pause")] if mode == "controlled" else [])
        for name, argv, want in cases:
            path = program_scenario(d, name, argv, mode)
            for seed in range(1, 21):
                r = Run([path, "-q", "--seed", str(seed)], d)
                events = r.trace(d, name)
                if events[-1]["outcome"] == "deadlock":
                    break
            check(events[-1]["outcome"] == "deadlock", f"{name}: no deadlock in 20 seeds")
            last = {}
            for e in events:
                if e["kind"] in ("block", "call") and "proc" in e:
                    last[e["proc"]] = e
            stuck = [e for e in last.values() if e["kind"] == "block"]
            check(len(stuck) == 2 and all(e["call"] == want for e in stuck), f"{name}: both wait in {want}: {list(last.values())}")
            if want == "semop":
                check(all(e["sops"][0]["op"] == -1 for e in stuck), f"the P's: {stuck}")


def test_calls_read_as_what_they_did():
    """POSIX semaphores named by their sem_open name or their place in a shared mapping, with their value;
    mq_send and mq_receive with their priorities; semtimedop with its timeout; sigprocmask with how and the
    signals by name; the summary counts one process and its child in words that agree."""
    with tempfile.TemporaryDirectory() as d:
        tag = new_tag()
        path = program_scenario(d, "pc", ["posix_pc", tag, "3"], "free")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        out = r.stdout
        for want in (f"[student/1] sem_wait(/pc_mutex_{tag}) → 0 (value 0)", "sem_init(mmap +0, 1, 0) → 0", "sem_post(mmap +0) → 0 (value ",
                     'mq_send(3, prio 5, "urgent") → 0', 'mq_receive(3, prio 5, "urgent") → 6', "semtimedop(semid 0: 0 -1, 20 ms) ✘ EAGAIN",
                     "sigprocmask(SIG_BLOCK, [SIGUSR1]) → 0", "mmap(shared anonymous, 32 bytes) → 0x",
                     "· 1 process (+ 1 child of programs) ·"):
            check(want in out, f"{want!r} in\n{out}")
        events = r.trace(d, "pc")
        waits = [e for e in events if e.get("call") == "sem_wait" and e["kind"] == "call"]
        check(all(e.get("obj") in (f"/pc_mutex_{tag}", "mmap +0") for e in waits), f"every sem_wait names its semaphore: {waits[:2]}")
        timed = [e for e in events if e.get("call") == "semop" and e["kind"] == "call" and "timeout_ms" in e]
        check(len(timed) == 1 and timed[0]["timeout_ms"] == 20 and timed[0]["errno"] == "EAGAIN", str(timed))
        masks = [e for e in events if e.get("call") == "sigprocmask"]
        check(masks[0]["how"] == "SIG_BLOCK" and masks[0]["set"] == ["SIGUSR1"], str(masks[0]))


def test_one_run_is_one_run():
    """explore --runs 1 says 'up to 1 run' and 'no failure in 1 run', without a rate of 0 runs/s."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["explore", "scenarios/prodcons.toml", "--runs", "1"], d)
        check(r.code == 0, r.stdout + r.stderr)
        check("up to 1 run\n" in r.stdout and "no failure in 1 run (" in r.stdout and "runs/s" not in r.stdout, r.stdout)


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    check(len(keys) == len(set(keys)), f"a trace line repeats a key: {keys}")
    return dict(pairs)


def test_kill_names_its_target_once_and_signal_0_is_a_number():
    """A program's kill carries the caller's pid as `pid` and the process it signals as `target_pid` (it was a
    second `pid` key, which a JSON reader takes for the only one); kill(child, 0) has "signal": 0, a number."""
    with tempfile.TemporaryDirectory() as d:
        path = program_scenario(d, "kills", ["handler_calls"], timeout="10s")
        r = Run([path], d)
        check(r.code == 0, r.stdout + r.stderr)
        with open(os.path.join(d, "kills", "trace.jsonl")) as f:
            events = [json.loads(line, object_pairs_hook=no_duplicate_keys) for line in f]
        kills = [e for e in events if e["kind"] == "call" and e["call"] == "kill"]
        parent, child = events_pid(events, "student"), events_pid(events, "student/1")
        check([(e["proc"], e["pid"], e["target_pid"], e["signal"]) for e in kills] ==
              [("student/1", child, parent, "SIGUSR1")] * 3 + [("student", parent, child, 0)], str(kills))


def events_pid(events, proc):
    return next(e["pid"] for e in events if e.get("proc") == proc and "pid" in e)


def test_the_note_on_processes_left_running_counts_those_simrun_killed():
    """A program that leaves a child running: the run completes and the report says simrun killed 1 process.
    A program whose children all ended by themselves (zombies it never waited for): no such note."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, f"""
[scenario]
name = "left"
timeout = "10s"
[[process]]
name = "student"
exec = ["sh", "-c", "sleep 30 & exit 0"]
[[process]]
name = "zombies"
exec = ["{program_path('leave_zombies')}", "3"]
""", name="left")
        for _ in range(5):
            r = Run([path], d)
            diagnosis = r.trace(d, "left")[-1]["diagnosis"]
            killed = [l for l in diagnosis if "simrun killed" in l]
            check(killed == ["1 process a program started was still running after every declared process had ended; simrun killed it"],
                  str(diagnosis))
            r.assert_nothing_left()


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_sem_undo_at_a_programs_exit_is_shown_with_the_clamp(mode):
    """A program's SEM_UNDO adjustments are undo events at its exit, for a set it made itself (IPC_PRIVATE)
    as for a declared one: the adjustment, the value before and after, and that the kernel's clamp at 0 cut
    it (-5 on 1 gives 0), each right after the exit that caused it."""
    with tempfile.TemporaryDirectory() as d:
        own = program_scenario(d, "own", ["undo_exit"], mode, "10s")
        declared = write_scenario(d, f"""
[scenario]
name = "declared"
timeout = "10s"
mode = "{mode}"
[ipc.sem.s]
members = {{ mutex = 1, items = 0, go = 0 }}
key = 7401
[[process]]
name = "student"
exec = ["{program_path('undo_exit')}", "7401"]
[[expect]]
final = "s.mutex == 1 && s.items == 0"
""", name="declared")
        for name, path in (("own", own), ("declared", declared)):
            r = Run([path], d)
            check(r.code == 0, r.stdout + r.stderr)
            events = r.trace(d, name)
            undos = [e for e in events if e["kind"] == "undo"]
            if name == "own":
                semid = next(e["result"] for e in events if e.get("call") == "semget")
                want = [{"proc": "student/1", "semid": semid, "num": 0, "adj": 1, "before": 0, "after": 1},
                        {"proc": "student/2", "semid": semid, "num": 1, "adj": -5, "before": 1, "after": 0, "clamped": True}]
                check(f"undo semid {semid}[1] -5: 1 → 0 (clamped at 0)" in r.stdout, r.stdout)
            else:
                want = [{"proc": "student/1", "obj": "s.mutex", "adj": 1, "before": 0, "after": 1},
                        {"proc": "student/2", "obj": "s.items", "adj": -5, "before": 1, "after": 0, "clamped": True}]
                check(not any("differ from the kernel" in l for l in events[-1]["diagnosis"]), str(events[-1]["diagnosis"]))
            got = [{k: v for k, v in e.items() if k not in ("kind", "seq", "t")} for e in undos]
            check(got == want, f"{name}: {got}")
            for u in undos:
                before = [e for e in events if e.get("proc") == u["proc"] and e["seq"] < u["seq"]]
                check(before[-1].get("call") == "exit", f"{name}: {u} comes right after {before[-1]}")
            r.assert_nothing_left()

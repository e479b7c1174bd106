"""End-to-end tests: a program's traced calls are the calls `strace -f` sees it make natively, call by call
(strace_compare.py says what is compared), so that no phantom call appears and none is lost."""
import tempfile

import pytest

from strace_compare import differences, run_strace, simrun_tree, strace_tree
from support import *

# name: (argv, what it prints natively or None, it blocks for good)
PROGRAMS = {
    "fork": (["pc_fork", "ok", "10", "2"], "consumed 10 items, sum 55\n", False),
    "exec": (["exec_pipe"], "read 21 bytes, child exited 0\n", False),
    "handlers": (["handler_calls"], "handled 3, read hhh\n", False),
    "queues": (["ipc_families"], "sysv 3 replies, posix 3 replies\n", False),
    "aliases": (["xsi_signals"], None, False),
    "blocks": (["pipe_forget", "forget"], None, True),
}


def simrun_calls(d, name, mode):
    argv, _, blocks = PROGRAMS[name]
    path = program_scenario(d, name, argv, mode, "2s" if blocks else "20s", "may_end_blocked = true" if blocks else "")
    r = Run([path, "-q"], d)
    events = r.trace(d, name)
    r.assert_nothing_left()
    return r, events


@pytest.mark.serial
@pytest.mark.parametrize("mode", ["free", "controlled"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_traced_calls_are_the_calls_strace_sees(name, mode):
    """The program runs natively under strace -f, and under simrun; both give the same processes (by fork
    order) with the same calls in the same order: names, the arguments both show, results and errno. A call
    that never returns (the program that blocks for good is killed) is unfinished on both sides."""
    argv, prints, blocks = PROGRAMS[name]
    with tempfile.TemporaryDirectory() as d:
        files, root = run_strace([program_path(argv[0])] + argv[1:], 1.5 if blocks else 30, cwd=d)
        native = strace_tree(files, root)
        r, events = simrun_calls(d, name, mode)
        if prints is not None:
            out = "".join(e["data"] for e in events if e["kind"] == "output" and e.get("proc") == "student")
            check(out == prints, f"{name}: printed {out!r} under simrun")
        traced = simrun_tree(events, "student")
        diff = differences(traced, native)
        check(not diff, f"{name} ({mode}): simrun's trace and strace differ:\n" + "\n".join(diff))
        calls = sum(len(c) for c in native.tree().values())
        check(calls >= 8, f"{name}: only {calls} calls compared")
        if blocks:
            last = native.tree()["0"][-1]
            check(last[0] == "read" and last[2] is None, f"the native run ends in its read: {last}")

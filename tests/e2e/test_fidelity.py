"""A real program's trace tells the whole truth (issue 17): no phantom calls, no changed behaviour, the
calls glibc binds to other names, a return from main as the exit, payloads that are not text kept exact."""
import json
import os
import tempfile

import pytest

from support import *


def xsi_scenario(d, mode="free", fifo=None):
    argv = [program_path("xsi_signals")] + ([fifo] if fifo else [])
    return write_scenario(d, f"""
[scenario]
name = "xsi"
timeout = "10s"
mode = "{mode}"
[[process]]
name = "student"
exec = {json.dumps(argv)}
""", name="xsi")


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

"""End-to-end tests: declared pipes and FIFOs as exec'd programs' stdin, stdout and stderr: a judge that talks
to a student's program, pipelines of two programs, end of file and SIGPIPE as in a shell, and the misuses."""
import os
import tempfile

import pytest

from support import *


def judge(program_args, extra=""):
    return f"""
[scenario]
name = "judge"
timeout = "4s"
[ipc.pipe.input]
writer = "judge"
reader = "student"
[ipc.pipe.answers]
writer = "student"
reader = "judge"
[ipc.pipe.errors]
writer = "student.stderr"
reader = "judge"
[[process]]
name = "judge"
run = ['write input "3 4\\n"', "read answers", 'write input "10 20\\n"', "read answers", "close input", "read answers all", "read errors all"]
[[process]]
name = "student"
exec = {json.dumps([program_path("sum_lines")] + program_args)}
{extra}
[[expect]]
final = 'message(read answers, 0) == "7\\n" && message(read answers, 1) == "30\\n" && message(read errors all, 0) == "bye after 2\\n" && exit(student) == 0'
"""


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_judge_talks_to_a_program(mode):
    """A scripted judge writes each question into a scanf/printf program's stdin and reads its answer from its
stdout before asking the next; closing its stdin ends it; its stderr arrives through a pipe of its own."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, judge([]))
        r = Run([path] + (["--controlled", "--seed", "1"] if mode == "controlled" else []), d)
        check(r.code == 0, f"exit {r.code}\n{r.stdout}{r.stderr}")
        events = r.trace(d, "judge")
        check(not [e for e in events if e["kind"] == "output"], "a program whose streams go into pipes has nothing captured")
        r.assert_nothing_left()


def test_judge_waits_for_an_unflushed_answer():
    """A program that forgets fflush keeps its answer in its stdio buffer: the judge waits for it and the program
for the next question, as they would without simrun. simrun sees the program stuck in a read of an empty pipe
whose only writer waits too: a deadlock with its cycle, long before the timeout, and the report says why."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, judge(["noflush"]))
        r = Run([path], d)
        check(r.code == 1, f"exit {r.code}\n{r.stdout}{r.stderr}")
        end = [e for e in r.trace(d, "judge") if e["kind"] == "run_end"][0]
        check(end["outcome"] == "deadlock" and end["t"] < 3_000_000_000, str(end))
        check("judge waits in 'read answers'" in r.stdout, r.stdout)
        check("read(fd 0" in r.stdout and "fflush(stdout)" in r.stdout, "the student is shown in its read of stdin:\n" + r.stdout)
        check("cycle: judge → student → judge" in r.stdout, r.stdout)
        r.assert_nothing_left()


def pipeline(writer_args, reader_args, expects):
    return f"""
[scenario]
name = "pipeline"
timeout = "10s"
[ipc.pipe.p]
writer = "writer"
reader = "reader"
[[process]]
name = "writer"
exec = {json.dumps([program_path("line_tools")] + writer_args)}
[[process]]
name = "reader"
exec = {json.dumps([program_path("line_tools")] + reader_args)}
{expects}
"""


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_pipeline_of_two_programs(mode):
    """`gen 500 | count`: both ends are programs; the writer's write(2)s and the reader's read(2)s are traced
calls on the declared pipe; end of file when the writer exits."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, pipeline(["gen", "500"], ["count"], """
[[expect]]
stdout = "reader"
equals = "500\\n"
[[expect]]
final = "exit(writer) == 0 && count(call write by writer) == 500 && count(call read by reader) >= 2 && exit(reader) == 0"
"""))
        r = Run([path] + (["--controlled", "--seed", "4"] if mode == "controlled" else []), d)
        check(r.code == 0, f"exit {r.code}\n{r.stdout}{r.stderr}")
        writes = [e for e in r.trace(d, "pipeline") if e["kind"] == "call" and e.get("call") == "write" and e.get("proc") == "writer"]
        check(len(writes) == 500 and all(e["fd"] == 1 for e in writes), f"{len(writes)} writes on fd 1")
        r.assert_nothing_left()


def test_sigpipe_as_in_a_shell():
    """`gen 100000 | first`: the reader takes one line and exits; the writer dies of SIGPIPE, as in a shell."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, pipeline(["gen", "100000"], ["first"], """
[[expect]]
stdout = "reader"
equals = "line 1\\n"
[[expect]]
final = "signal(writer) == SIGPIPE && exit(reader) == 0"
"""))
        r = Run([path], d)
        check(r.code == 0, f"exit {r.code}\n{r.stdout}{r.stderr}")
        check("writer: killed by a signal (SIGPIPE)" in r.stdout, r.stdout)
        r.assert_nothing_left()


def fifo_text():
    return f"""
[scenario]
name = "fifo_prog"
timeout = "5s"
[ipc.fifo.up]
writer = "gen"
[ipc.fifo.down]
reader = "count"
[[process]]
name = "gen"
exec = {json.dumps([program_path("line_tools"), "gen", "3"])}
[[process]]
name = "relay"
run = ["open up read", "read up all", "close up", "open down write", 'write down "a\\nb\\n"', "close down"]
[[process]]
name = "count"
exec = {json.dumps([program_path("line_tools"), "count"])}
[[expect]]
stdout = "count"
equals = "2\\n"
[[expect]]
final = 'message(read up all, 0) == "line 1\\nline 2\\nline 3\\n"'
"""


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_fifo_as_a_programs_streams(mode):
    """A FIFO as one program's stdout and another's stdin, opened as a shell's `> fifo` and `< fifo`, with a
scripted relay between them."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, fifo_text())
        r = Run([path] + (["--controlled", "--seed", "2"] if mode == "controlled" else []), d)
        check(r.code == 0, f"exit {r.code}\n{r.stdout}{r.stderr}")
        r.assert_nothing_left()


BAD = [
    ('[ipc.pipe.p]\nwriter = "a"\nreader = "b"\n', 'stdin = "x"\n', "", "3:10",
     "'b' has 'stdin' or 'stdin_file' already; its stdin cannot also be the pipe"),
    ('[ipc.pipe.p]\nwriter = "a.stdin"\nreader = "b"\n', "", "", "2:10",
     "'a.stdin': a pipe's write end is a program's stdout or stderr ('NAME' or 'NAME.stderr')"),
    ('[ipc.pipe.p]\nwriter = "a"\nreader = "s.stdin"\n', "", "", "3:10", "'s' is scripted: its ops use the pipe; '.stdin' names an exec'd program's stream"),
    ('[ipc.pipe.p]\nwriter = "a"\nreader = "b"\n[ipc.pipe.q]\nwriter = "a"\nreader = "s"\n', "", "", "5:10",
     "'a' has its stdout on 'p' already"),
    ('[ipc.fifo.f]\nwriter = "s"\n', "", "", "2:10", "'s' is scripted: it opens the FIFO with 'open f write'"),
    ('[ipc.pipe.p]\nwriter = "a"\nreader = "b"\n', "", '[[expect]]\nstdout = "a"\nequals = "x"\n', None,
     "'a' writes its stdout into pipe 'p', which its reader reads; simrun captures no copy"),
]


@pytest.mark.parametrize("objects,b_extra,expects,where,message", BAD, ids=[str(k) for k in range(len(BAD))])
def test_bad_program_pipes(objects, b_extra, expects, where, message):
    """Each misuse of a program's streams on pipes and FIFOs: positioned, exit 2, nothing run."""
    prog = program_path("line_tools")
    text = objects + f"""[[process]]
name = "a"
exec = ["{prog}", "gen", "1"]
[[process]]
name = "b"
exec = ["{prog}", "count"]
{b_extra}[[process]]
name = "s"
run = []
{expects}"""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, text, "bad")
        r = Run([path], d)
        check(r.code == 2, f"exit {r.code}\n{r.stdout}{r.stderr}")
        first = r.stderr.splitlines()[0]
        check(message in first, r.stderr)
        if where:
            check(first.startswith(f"{path}:{where}: error: "), r.stderr)
        check(len(r.stderr.splitlines()) >= 3 and "^" in r.stderr.splitlines()[2], r.stderr)
        check(not os.path.exists(os.path.join(d, "bad")), "nothing was run")
        r.assert_nothing_left()


def test_a_slow_writer_is_no_deadlock():
    """A program blocked reading an empty pipe whose writer is busy elsewhere (a shell waiting for its sleep,
which will write) is not a deadlock: the run completes."""
    with tempfile.TemporaryDirectory() as d:
        text = pipeline(["gen", "1"], ["count"], '[[expect]]\nstdout = "reader"\nequals = "1\\n"\n')
        text = text.replace(json.dumps([program_path("line_tools"), "gen", "1"]), json.dumps(["sh", "-c", "sleep 0.6; echo hi"]))
        path = write_scenario(d, text)
        r = Run([path], d)
        check(r.code == 0, f"exit {r.code}\n{r.stdout}{r.stderr}")
        r.assert_nothing_left()

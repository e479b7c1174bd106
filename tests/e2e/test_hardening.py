"""End-to-end tests: bounded inputs and the small holes of issue 19. Each bad input is a clear error
(positioned where it has a place: file:line:col, the line, a caret; exit 2), spawns nothing and writes nothing."""
import os
import re
import subprocess
import tempfile

import pytest

from support import *

HEAD = '[scenario]\nname = "x"\ntimeout = "2s"\n[[process]]\nname = "p"\nrun = ["sleep 1ms"]\n'


def refused(d, path, want, extra=None):
    r = Run((extra or []) + [path], d, timeout=30)
    check(r.code == 2, f"exit {r.code}: {r.stdout}{r.stderr}")
    check(re.search(want, r.stderr), f"want {want!r} in:\n{r.stderr}")
    check(not tagged_processes(r.tag), "nothing spawned")
    return r


BAD_SCENARIOS = [
    # 10 000 nested parentheses once overflowed the parser's stack (SIGSEGV).
    ("deep_parens", HEAD + '[[expect]]\nfinal = "' + "(" * 10000 + "1" + ")" * 10000 + '"\n',
     r":8:110: error: the expression nests deeper than 100 levels\n"),
    # Accepted, then the supervisor died evaluating it.
    ("many_nots", HEAD + '[[expect]]\nfinal = "' + "!" * 100000 + '1"\n', r":8:\d+: error: the expression nests deeper than 100 levels"),
    ("long_sum", HEAD + '[[expect]]\nfinal = "' + "1 + " * 200000 + '1 > 0"\n', r":8:\d+: error: the expression nests deeper than 100 levels"),
    ("zero_timeout", HEAD.replace('"2s"', '"0s"'), r":3:11: error: timeout must be longer than 0\n"),
    ("fault_after_the_timeout", HEAD + '[[fault]]\nprocess = "p"\nat = "5s"\n', r":9:6: error: this fault can never fire: the run's timeout is 2.00 s"),
    ("fault_count_past_the_ops", HEAD + '[[fault]]\nprocess = "p"\nafter = "sleep 1ms"\ncount = 3\n',
     r":10:9: error: this fault can never fire: 'sleep 1ms' completes at most 1 time in 'p' \(count = 3\)"),
    ("huge_number", '[ipc.shm.b]\ncells = { x = 0 }\n[[process]]\nname = "q"\nrun = ["b.x = 99999999999999999999"]\n',
     r"the number 99999999999999999999 does not fit in 64 bits"),
    # toml++ 3.3.0 reaches TOML_UNREACHABLE for U+03FF (CF BF) where it asks for whitespace: refused first.
    ("non_ascii_key", HEAD + "\u03ff = 1\n", r":7:1: error: 'Ͽ': TOML allows only ASCII outside strings and comments"),
    ("after_value", HEAD.replace('name = "x"', 'name = "x"\u3002'), r":2:11: error: '。': TOML allows only ASCII outside strings and comments"),
    ("after_line_backslash", HEAD.replace('name = "x"', 'description = """a \\\n   \u03ffb"""\nname = "x"'),
     r":3:4: error: U\+03FF after a line-ending backslash: toml\+\+ 3.3.0 cannot read it there"),
    # A lone CR: toml++ named the character after it, and the editor's lines were not the file's.
    ("lone_carriage_return", HEAD.replace('\n[[process]]', '\r[[process]]'),
     r":3:15: error: a carriage return \(\\r\) without a line feed: TOML lines end in \\n or \\r\\n"),
    ("regex_lookahead", HEAD.replace('run = ["sleep 1ms"]', 'exec = ["true"]') + '[[expect]]\nstdout = "p"\nmatches = "a(?=b)"\n',
     r":9:11: error: invalid regular expression \(RE2 syntax\): invalid perl operator: \(\?="),
]


@pytest.mark.parametrize("name,text,want", BAD_SCENARIOS, ids=[b[0] for b in BAD_SCENARIOS])
def test_a_bad_scenario_is_refused_in_place(name, text, want):
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, text)
        r = refused(d, path, re.escape(path) + want if want.startswith(":") else want)
        if want.startswith(":"):
            check(r.stderr.rstrip("\n").endswith("^"), r.stderr)
        refused(d, path, "error:", ["check"])
        check(os.listdir(d) == ["t.toml"], "nothing written")


def test_non_ascii_in_strings_and_comments_is_read():
    """Greek and CJK punctuation (the code points toml++ 3.3.0 mishandles elsewhere) read fine in comments and
    strings, the course's Chinese comments included."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, "# 生产者。消费者，\u03b1\u03ff\n" + HEAD.replace('name = "x"', 'name = "x"\ndescription = "缓冲区。\u03ff"  # 注释。'))
        r = Run(["check", path], d)
        check(r.code == 0, r.stdout + r.stderr)


def test_files_that_are_not_regular_are_refused():
    """/dev/zero (once 10 GB in 30 s), a FIFO (once a hang), a folder (once an empty file), a file over 4 MiB."""
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo.toml")
        os.mkfifo(fifo)
        big = os.path.join(d, "big.toml")
        with open(big, "w") as f:
            f.write(HEAD + "#" * (5 << 20) + "\n")
        for path, want in (("/dev/zero", "it is a device, not a regular file"), (fifo, "it is a FIFO, not a regular file"),
                           (d, "it is a folder, not a regular file"), (big, "it is larger than 4 MiB")):
            refused(d, path, f"{re.escape(path)}: error: cannot read scenario: {want}")


def test_control_characters_in_errors_are_escaped():
    """An error echoes the file's line: an ESC sequence in it comes out as \\x1b, and the caret still lines up."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, HEAD.replace('run = ["sleep 1ms"]', 'run = ["P \x1b[31mred"]'))
        r = refused(d, path, r"error:")
        check("\x1b" not in r.stderr and "\\x1b[31mred" in r.stderr, repr(r.stderr))
        lines = r.stderr.splitlines()
        col = int(re.search(r":(\d+): error", lines[0]).group(1))
        check(lines[2].index("^") == col - 1 + 3 * lines[1][:col - 1 + 3].count("\\x1b"), repr(r.stderr))


def test_a_schedule_is_checked_like_a_scenario():
    """A missing schedule is named as one; unknown keys and a repeat past the step limit are positioned errors."""
    with tempfile.TemporaryDirectory() as d:
        race = os.path.join(ROOT, "scenarios", "race_explore.toml")
        r = Run(["replay", race, os.path.join(d, "missing.toml")], d)
        check(r.code == 2 and "cannot read the schedule: No such file or directory" in r.stderr, r.stderr)
        Run([race, "-q", "--out", d], d)
        with open(os.path.join(d, "race_explore", "schedule.toml")) as f:
            text = f.read()
        for name, edit, want in (("bogus", lambda t: t + "bogus = 1\n", r":\d+:1: error: unknown key 'bogus' in a schedule"),
                                 ("huge", lambda t: re.sub(r'"(incrementer#0)( x\d+)?"', r'"\1 x4611686018427387904"', t, count=1),
                                  r":\d+:\d+: error: the schedule has more than 50000000 steps")):
            bad = os.path.join(d, f"{name}.toml")
            with open(bad, "w") as f:
                f.write(edit(text))
            r = Run(["replay", race, bad], d)
            check(r.code == 2 and re.search(re.escape(bad) + want, r.stderr) and "^" in r.stderr, r.stderr)


@pytest.mark.parametrize("args,want", [
    (["scenarios/race_explore.toml", "--seed", "-1"], "--seed: '-1' is not a whole number from 0 to 9223372036854775807"),
    (["scenarios/race_explore.toml", "--seed", "9223372036854775808"], "is not a whole number from 0 to 9223372036854775807"),
    (["scenarios/race_explore.toml", "--events", "-1"], "--events: '-1' is not a whole number"),
    (["scenarios/race_explore.toml", "--out", ""], "an empty name is no folder"),
    (["explore", "scenarios/race_explore.toml", "--strategy", "rr"], "--strategy: rr not in {random,pct}"),
    (["scenarios/race_explore.toml", "--controlled", "--depth", "2"], "--depth is PCT's bug depth; it means nothing with --strategy random"),
    (["exlpore", "scenarios/race_explore.toml"], "'exlpore' is no command .* and no scenario file \\(did you mean 'explore'\\?\\)"),
], ids=["negative_seed", "seed_too_big", "negative_events", "empty_out", "explore_rr", "depth_random", "unknown_command"])
def test_command_line_mistakes_are_refused(args, want):
    with tempfile.TemporaryDirectory() as d:
        r = Run(args, d)
        check(r.code == 2 and re.search(want, r.stderr), f"exit {r.code}: {r.stderr}")
        check(not os.path.exists("/pingpong") and not os.path.exists(os.path.join(d, "race_explore")), "nothing written")


def test_a_program_that_cannot_start_fails_the_run():
    """An exec that fails is a failed run (exit 1) unless an expectation asks how the program ended."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, '[scenario]\nname = "x"\n[[process]]\nname = "p"\nexec = ["/nonexistent/prog"]\n')
        r = Run([path, "-q"], d)
        check(r.code == 1 and "p started" in r.stdout and "p could not start: exec /nonexistent/prog: ENOENT" in r.stdout, r.stdout + r.stderr)
        with open(path, "a") as f:
            f.write('[[expect]]\nfinal = "verdict(p) == NOT_STARTED"\n')
        r = Run([path, "-q"], d)
        check(r.code == 0, r.stdout + r.stderr)


def test_a_regex_over_a_large_output_keeps_the_supervisor_alive():
    """matches = ".*" over 30 KB of output once overflowed the supervisor's stack (std::regex); RE2 is linear."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, '[scenario]\nname = "x"\n[[process]]\nname = "p"\nexec = ["sh", "-c", "head -c 300000 /dev/zero | tr \'\\\\0\' a; echo end"]\n'
                                 '[[expect]]\nstdout = "p"\nmatches = "^(a|b)*.*end\\n$"\n')
        r = Run([path, "-q"], d, timeout=60)
        check(r.code == 0, r.stdout + r.stderr)
        events = r.trace(d, "x")
        check(events[-1]["kind"] == "run_end", "the trace ends with run_end")


def test_expression_overflow_is_an_error_not_a_wrap():
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, HEAD + '[[expect]]\nfinal = "9223372036854775807 + 1 < 0"\n')
        r = Run([path, "-q"], d)
        check(r.code == 1 and "integer overflow: 9223372036854775807 + 1" in r.stdout, r.stdout + r.stderr)

"""End-to-end tests: cli."""
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


def test_bad_scenario():
    """A bad scenario: positioned error with the line and a caret, exit 2, nothing spawned or written."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """[ipc.sem.slots]
members = { empty = 5, full = 0 }
[[process]]
name = "p"
run = ["P slots.emtpy"]
""")
        r = Run([path], d)
        check(r.code == 2, f"exit {r.code}")
        want = (f"{path}:5:11: error: unknown semaphore 'slots.emtpy' (did you mean 'slots.empty'?)\n"
                'run = ["P slots.emtpy"]\n'
                "          ^\n")
        check(r.stderr == want, f"got:\n{r.stderr}\nwant:\n{want}")
        check(os.listdir(d) == ["t.toml"], "nothing written")
        r2 = Run(["check", path], d)
        check(r2.code == 2 and r2.stderr == want, "simrun check reports the same error")


def test_bad_paths():
    """Paths a run needs (an ftok path) are checked before anything runs: positioned error, exit 2."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """[ipc.msg.q]
key = { ftok = "/nonexistent/simrun", proj = 1 }
[[process]]
name = "p"
run = ["recv q nowait"]
""")
        r = Run([path], d)
        check(r.code == 2, f"exit {r.code}: {r.stderr}")
        check(r.stderr.startswith(f"{path}:2:16: error: ftok needs an existing path: /nonexistent/simrun: No such file or directory"), r.stderr)
        check(os.listdir(d) == ["t.toml"], "nothing ran")


def test_bad_workdir():
    """A workdir that does not exist is an error before anything runs: positioned, exit 2."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """[[process]]
name = "p"
exec = ["true"]
workdir = "missing"
""")
        r = Run([path], d)
        check(r.code == 2 and r.stderr.startswith(f"{path}:4:11: error: workdir {d}/missing is not a folder: it does not exist"), r.stderr)
        check("^" in r.stderr and os.listdir(d) == ["t.toml"], "nothing ran")


def test_check_ok():
    """simrun check validates without running."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["check", "scenarios/prodcons.toml"], d)
        check(r.code == 0 and "ok (4 processes" in r.stdout, r.stdout + r.stderr)
        check(os.listdir(d) == [], "check writes nothing")


def test_usage_errors():
    """Command-line mistakes exit 2 with a message; --help exits 0."""
    with tempfile.TemporaryDirectory() as d:
        check(Run(["--help"], d).code == 0, "--help")
        r = Run(["--bogus", "scenarios/prodcons.toml"], d)
        check(r.code == 2 and "bogus" in r.stderr, r.stderr)
        r = Run(["/nonexistent.toml"], d)
        check(r.code == 2 and "cannot read scenario" in r.stderr, r.stderr)
        r = Run(["scenarios/prodcons.toml", "--out", "/etc/passwd/sub"], d)
        check(r.code == 2 and "cannot create the output folder /etc/passwd/sub/prodcons: Not a directory" in r.stderr, r.stderr)
        check(not tagged_processes(r.tag), "nothing spawned")


def test_replay_errors():
    """A schedule for another version of the scenario, or naming an unknown process, is a clear error (exit 2)."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["scenarios/race_explore.toml", "-q"], d)
        schedule = os.path.join(d, "race_explore", "schedule.toml")
        check(os.path.exists(schedule), "a controlled run writes its schedule")
        with open(os.path.join(ROOT, "scenarios", "race_explore.toml")) as f:
            changed = write_scenario(d, f.read().replace("repeat = 3", "repeat = 4"), "changed")
        r = Run(["replay", changed, schedule], d)
        check(r.code == 2 and "recorded for another version of" in r.stderr, r.stderr)
        with open(schedule) as f:
            text = f.read()
        bad = os.path.join(d, "bad.toml")
        with open(bad, "w") as f:
            f.write(re.sub(r'"incrementer#1', '"incrementer#7', text, count=1))
        r = Run(["replay", "scenarios/race_explore.toml", bad], d)
        check(r.code == 2 and "unknown process 'incrementer#7' in the schedule" in r.stderr and "^" in r.stderr, r.stderr)


def in_mount_namespace(script, d):
    """Runs a shell script as root of a new user and mount namespace (mounts of its own, as any user may)."""
    tag = new_tag()
    env = dict(os.environ, SIMRUN_TEST_TAG=tag, NO_COLOR="1", SIMRUN=SIMRUN, D=d, SCENARIO=os.path.join(ROOT, "scenarios", "prodcons.toml"))
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script], env=env, cwd=d,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.serial  # --no-sandbox: its IPC objects are in the machine's namespace, where other tests look for leaks
def test_out_on_a_full_or_read_only_file_system():
    """--out on a 32 KiB tmpfs that fills up: exit 3 with the reason, and the trace is whole lines ending in run_end,
    marked cut_short with the event it stops after (before: half a line, no run_end). --out on a read-only file
    system, new or existing folder: exit 3 before anything runs. Both sandbox modes."""
    with tempfile.TemporaryDirectory() as d:
        for extra in ("", "--no-sandbox"):
            r = in_mount_namespace(f"""
mkdir -p "$D/small" "$D/ro" "$D/ro2/prodcons"
mount -t tmpfs -o size=32k tmpfs "$D/small"
mount -t tmpfs -o ro tmpfs "$D/ro"
mount --bind "$D/ro2" "$D/ro2" && mount -o remount,bind,ro "$D/ro2"
"$SIMRUN" -q "$SCENARIO" --out "$D/small" {extra}; echo "full=$?"
cp "$D/small/prodcons/trace.jsonl" "$D/kept.jsonl"
[ -e "$D/small/prodcons/trace.simrun" ] && echo "half a saved run left"
"$SIMRUN" -q "$SCENARIO" --out "$D/ro" {extra}; echo "ro=$?"
"$SIMRUN" -q "$SCENARIO" --out "$D/ro2" {extra}; echo "ro2=$?"
""", d)
            check("full=3" in r.stdout and "cannot write the trace" in r.stderr and "No space left on device" in r.stderr,
                  r.stdout + r.stderr)
            check("the saved run (for simrun view and export) could not be written" in r.stderr and "half a saved run left" not in r.stdout,
                  "the saved run says it could not be written, and is not left half-written: " + r.stdout + r.stderr)
            with open(os.path.join(d, "kept.jsonl")) as f:
                lines = f.read().split("\n")
            check(lines[-1] == "", "the file ends with a whole line")
            events = [json.loads(line) for line in lines[:-1]]
            end = events[-1]
            check(end["kind"] == "run_end" and "could not be written (No space left on device)" in end.get("cut_short", ""), end)
            stop = int(re.search(r"stops after event (\d+)", end["cut_short"]).group(1))
            check(len(events) >= 2 and [e["seq"] for e in events[:-1]] == list(range(stop + 1)),
                  f"events 0..{stop} kept in order, then run_end: {len(events)} lines")
            check("ro=3" in r.stdout and "cannot create the output folder" in r.stderr and "Read-only file system" in r.stderr,
                  r.stdout + r.stderr)
            check("ro2=3" in r.stdout and "cannot write in the output folder" in r.stderr, r.stdout + r.stderr)
            check("outcome:" not in r.stdout.split("full=3")[1], "nothing ran on the read-only file systems")
            os.unlink(os.path.join(d, "kept.jsonl"))

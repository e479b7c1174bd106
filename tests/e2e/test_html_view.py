"""End-to-end tests: the HTML view (timeline.html) in a real browser. Debian's chromium, headless, driven by
playwright-core (tests/browser, versions pinned in its package-lock.json), loads the page from file:// and
reports what its DOM shows (tests/browser/view_test.mjs); these tests assert on that. Each page's screenshot
is kept in BUILD/artifacts/."""
import json
import os
import subprocess
import tempfile

import pytest

from support import *

BROWSER = os.path.join(ROOT, "tests", "browser")
ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(SIMRUN)), "artifacts")


def browse(page, name):
    """What the page shows, as view_test.mjs reads it from the DOM."""
    check(os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")),
          "playwright-core is not installed: tools/test runs `npm ci` in tests/browser")
    folder = ARTIFACTS
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        pass
    if not os.access(folder, os.W_OK):  # a build folder this user cannot write to (the unprivileged pass)
        folder = os.path.join("/tmp", f"html-view-artifacts-{os.getuid()}")
        os.makedirs(folder, exist_ok=True)
    shot = os.path.join(folder, f"html-view-{name}.png")
    with tempfile.TemporaryDirectory() as home:  # chromium's profile, caches and crash reports go there, and with it
        r = subprocess.run(["node", os.path.join(BROWSER, "view_test.mjs"), page, shot], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home, TMPDIR=home))
    check(r.returncode == 0, r.stdout + r.stderr)
    facts = json.loads(r.stdout.splitlines()[-1])
    check(os.path.getsize(shot) > 10000, "a screenshot was taken")
    check(facts["consoleErrors"] == [], f"no console errors: {facts['consoleErrors']}")
    check(facts["requests"] == [], f"self-contained: no request leaves the file: {facts['requests']}")
    # Something is drawn on the lanes (a blank canvas paints 0): a seven-event page of a slow (ASan) run painted 100 pixels.
    check(facts["painted"] > 20 and facts["tooltip"] and facts["zoomed"], f"drawn, a tooltip, zoom: {facts}")
    return facts


def trace_events(events):
    return [e for e in events if e["kind"] not in ("run_start", "expect", "run_end")]


def test_prodcons_page():
    with tempfile.TemporaryDirectory() as d:
        r = Run([os.path.join(ROOT, "scenarios", "prodcons.toml"), "-q", "--html"], d)
        check(r.code == 0, r.stdout + r.stderr)
        f = browse(os.path.join(d, "prodcons", "timeline.html"), "prodcons")
        events = r.trace(d, "prodcons")
        check(f["lanes"] == ["producer#0", "producer#1", "consumer#0", "consumer#1"], str(f["lanes"]))
        check(f["events"] == len(trace_events(events)), f"{f['events']} events shown, the trace has {len(trace_events(events))}")
        check({"slots.empty", "slots.full", "lock.mutex", "buf.count"} <= set(f["counters"]), str(f["counters"]))
        check(f["failures"] == [] and f["expectations"] == 4 and f["contentionRows"] > 4, str(f))
        check(f["replay"] == f"simrun view {os.path.join(d, 'prodcons')}" and "free" in f["mode"], f["replay"] + " / " + f["mode"])
        check(not f["deadlockShown"], "no deadlock graph")


def test_deadlock_page_draws_the_cycle_and_its_replay_command_works():
    with tempfile.TemporaryDirectory() as d:
        r = Run([os.path.join(ROOT, "scenarios", "deadlock.toml"), "-q", "--html", "--controlled", "--seed", "1"], d)
        f = browse(os.path.join(d, "deadlock", "timeline.html"), "deadlock")
        check(f["deadlockShown"] and f["cycleEdges"] == 4 and sorted(f["cycleNodes"]) == ["left", "right"], str(f))
        check(sorted(f["objects"]) == ["locks.a(semaphore)", "locks.b(semaphore)"], str(f["objects"]))
        check("seed 1" in f["mode"] and f["outcome"].startswith("outcome: deadlock"), f["mode"] + f["outcome"])
        check(f["events"] == len(trace_events(r.trace(d, "deadlock"))), str(f["events"]))
        cmd = f["replay"].split()
        check(cmd[:2] == ["simrun", "replay"] and cmd[3].endswith("/deadlock/schedule.toml"), f["replay"])
        again = subprocess.run([SIMRUN] + cmd[1:] + ["-q", "--out", os.path.join(d, "again")], cwd=ROOT, capture_output=True, text=True, timeout=60)
        check(again.returncode == r.code and "outcome: deadlock" in again.stdout, "the page's command shows the same run: " + again.stdout + again.stderr)


def test_failed_race_page_links_the_failure():
    with tempfile.TemporaryDirectory() as d:
        r = Run([os.path.join(ROOT, "scenarios", "race_explore.toml"), "-q", "--html", "--seed", "1"], d)
        check(r.code == 1, "the race loses an update under seed 1: " + r.stdout)
        f = browse(os.path.join(d, "race_explore", "timeline.html"), "race")
        end = r.trace(d, "race_explore")[-1]
        check([x["name"] for x in f["failures"]] == ["no update lost"] and f["failures"][0]["ts"] == end["t"], str(f["failures"]))
        check(f["followed"] and f["followed"] != f"0 ns – {f['followed'].split(' – ')[1]}", "following the link zooms to it: " + str(f.get("followed")))
        check(f["lanes"] == ["incrementer#0", "incrementer#1"] and "counter.value" in f["counters"], str(f))
        # An always expectation links to the event that broke it.
        path = write_scenario(d, """
[scenario]
name = "broken_always"
[ipc.shm.buf]
cells = { x = 0 }
[[process]]
name = "a"
run = ["buf.x = 1", "sleep 5ms", "buf.x = 7", "sleep 5ms", "buf.x = 2"]
[[expect]]
name = "small"
always = "buf.x < 5"
""")
        Run([path, "-q"], d)
        page = os.path.join(d, "always.html")
        e = subprocess.run([SIMRUN, "export", os.path.join(d, "broken_always"), "--format", "html", "-o", page], capture_output=True, text=True)
        check(e.returncode == 0, e.stderr)
        f = browse(page, "always")
        store = [x for x in trace_events(Run([path, "-q", "--out", os.path.join(d, "x")], d).trace(os.path.join(d, "x"), "broken_always")) if x.get("value") == 7]
        check(len(f["failures"]) == 1 and f["failures"][0]["name"] == "small", str(f["failures"]))
        events = trace_events(json.loads(l) for l in open(os.path.join(d, "broken_always", "trace.jsonl")))
        t7 = [x["t"] for x in events if x.get("value") == 7 and x["kind"] == "op"]
        check(f["failures"][0]["ts"] == t7[0], f"linked to the store of 7 at {t7}: {f['failures']}")


def test_a_page_of_100000_events_loads():
    """Prints the load time (no timing assertion: shared machines vary); checks every event is in the page."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "hundred_k"
timeout = "5m"
[ipc.sem.lock]
members = { mutex = 1 }
[ipc.shm.counter]
cells = { value = 0 }
[[process]]
name = "incrementer"
count = 2
repeat = 12500
run = ["P lock.mutex", "counter.value += 1", "V lock.mutex"]
""")
        r = Run([path, "-q", "--html"], d, timeout=300)
        check(r.code == 0, r.stdout + r.stderr)
        n = len(trace_events(r.trace(d, "hundred_k")))
        check(n >= 100000, f"{n} events")
        f = browse(os.path.join(d, "hundred_k", "timeline.html"), "100k")
        check(f["events"] == n, f"{f['events']} of {n}")
        size = os.path.getsize(os.path.join(d, "hundred_k", "timeline.html"))
        print(f"\nHTML view of {n} events ({size / 1e6:.1f} MB): page ready {f['loadMs']} ms after navigation, its script {f['scriptMs']:.0f} ms")

"""End-to-end tests: views of a run. --perfetto writes the run in the Trace Event Format as Perfetto and
chrome://tracing read it; checked here against that format's rules, not only for parsing: metadata names every
track, slices nest per track, every flow has one start and one end that bind to slices, blocked ops are slices
that span their wait."""
import json
import subprocess
import os
import re
import tempfile

import pytest

from support import *


def perfetto_of(d, scenario, extra=()):
    r = Run([os.path.join(ROOT, "scenarios", scenario), "-q", "--perfetto"] + list(extra), d)
    name = os.path.splitext(scenario)[0]
    with open(os.path.join(d, name, "trace.perfetto.json")) as f:
        doc = json.load(f)
    return r, doc, r.trace(d, name), d


def check_structure(doc, events):
    check(doc["displayTimeUnit"] == "ns" and isinstance(doc["traceEvents"], list), "the JSON object form")
    te = doc["traceEvents"]
    check(all(e["ph"] in "MXiCsf" and e["pid"] == 1 for e in te), "known phases, one process")
    names = {e["tid"]: e["args"]["name"] for e in te if e["ph"] == "M" and e["name"] == "thread_name"}
    order = {e["tid"]: e["args"]["sort_index"] for e in te if e["ph"] == "M" and e["name"] == "thread_sort_index"}
    check(any(e["ph"] == "M" and e["name"] == "process_name" for e in te), "the process is named")
    tids = {e["tid"] for e in te if e["ph"] in "Xisf"}
    check(tids <= set(names) and tids <= set(order), f"every track named and ordered: {tids - set(names)}")
    procs = {e["proc"] for e in events if "proc" in e}
    check(set(names.values()) == procs, f"tracks are the trace's processes: {sorted(names.values())} vs {sorted(procs)}")
    declared = events[0]["processes"]
    by_order = [names[t] for t in sorted(names, key=lambda t: order[t])]
    check([n for n in by_order if n in declared] == declared, f"declared processes in order: {by_order}")
    for child in (n for n in by_order if "/" in n):
        root = child.split("/")[0]
        check(by_order.index(child) > by_order.index(root), f"{child} after {root}")
    slices = {}
    ns = lambda us: round(us * 1000)  # times are µs with three decimals: compared in whole ns, not floats
    for e in te:
        if e["ph"] == "X":
            check(e["dur"] >= 0, str(e))
            slices.setdefault(e["tid"], []).append((ns(e["ts"]), ns(e["ts"]) + ns(e["dur"]), e))
    for tid, xs in slices.items():  # nesting: no two slices of a track overlap in part
        stack = []
        for start, end, e in sorted(xs, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1][1] <= start:  # touching is not overlapping
                stack.pop()
            check(not stack or end <= stack[-1][1], f"{names[tid]}: {e['name']} overlaps {stack[-1][2]['name'] if stack else ''}")
            stack.append((start, end, e))
    flows = {}
    for e in te:
        if e["ph"] in "sf":
            flows.setdefault(e["id"], []).append(e)
    for fid, pair in flows.items():
        check(sorted(p["ph"] for p in pair) == ["f", "s"] and pair[0]["cat"] == pair[1]["cat"], f"flow {fid}: {pair}")
        s, f = sorted(pair, key=lambda p: p["ph"] != "s")
        check(s["ts"] <= f["ts"], f"flow {fid} goes forward in time: {pair}")
        for p in pair:
            check(any(a <= ns(p["ts"]) <= b for a, b, _ in slices.get(p["tid"], [])), f"flow {fid} binds to a slice: {p}")
    blocked = [e for e in te if e["ph"] == "X" and e.get("cat") == "blocked"]
    check(all(e["args"]["blocked"] is True for e in blocked), "blocked slices say so")
    return names, blocked, flows, te


def test_perfetto_prodcons():
    with tempfile.TemporaryDirectory() as d:
        r, doc, events, _ = perfetto_of(d, "prodcons.toml")
    check(r.code == 0, r.stdout + r.stderr)
    names, blocked, flows, te = check_structure(doc, events)
    waits = [e for e in events if e["kind"] == "block"]
    check(len(waits) > 0 and len(blocked) == len(waits), f"one blocked slice per wait: {len(blocked)} vs {len(waits)}")
    # Times count from the run's start, as the trace's t: each blocked slice starts where its wait did.
    ns = lambda us: round(us * 1000)
    check(sorted(ns(e["ts"]) for e in blocked) == sorted(e["t"] for e in waits), "a blocked slice starts at its block event")
    check(sum(e["dur"] for e in blocked) > 0, "and spans its wait")
    check(any(p[0]["cat"] == "wake" for p in flows.values()), "a V that woke a P has its arrow")
    counters = [e for e in te if e["ph"] == "C"]
    check({"slots.empty", "slots.full", "lock.mutex", "buf.count"} <= {c["name"] for c in counters}, str({c["name"] for c in counters}))
    check(all(c["args"]["value"] >= 0 for c in counters if c["name"].startswith(("slots", "lock"))), "semaphore values")
    ops = [e for e in events if e["kind"] == "op"]
    check(len([e for e in te if e["ph"] == "X" and e.get("cat") in ("op", "blocked")]) >= len(ops), "every op is a slice")


def test_perfetto_deadlock_and_a_program_that_forks():
    with tempfile.TemporaryDirectory() as d:
        deadlock_and_fork(d)


def deadlock_and_fork(d):
    r, doc, events, d = perfetto_of(d, "deadlock.toml", ["--controlled", "--seed", "1"])
    names, blocked, flows, te = check_structure(doc, events)
    stuck = [e for e in blocked if e["name"] == "still waiting when the run ended"]
    check(len(stuck) == 2 and {names[e["tid"]] for e in stuck} == {"left", "right"}, str(stuck))
    r, doc, events, d = perfetto_of(d, "traced_program.toml")
    names, blocked, flows, te = check_structure(doc, events)
    children = {n for n in names.values() if n.startswith("student/")}
    check(len(children) >= 2, f"the program's children have tracks: {names}")  # their numbers depend on slot reuse
    into = [names[f["tid"]] for p in flows.values() if p[0]["cat"] == "fork" for f in p if f["ph"] == "f"]
    check(sorted(into) == sorted(children), f"a fork arrow into each child: {into}")
    r = Run([os.path.join(ROOT, "scenarios", "traced_program.toml"), "-q"], d)
    check(not os.path.exists(os.path.join(d, "traced_program", "trace.perfetto.json")), "only with --perfetto (an earlier run's removed)")


def test_perfetto_signal_arrows_scripted_and_in_programs():
    """kill → the handler it ran: scripted (signal_count: three kills, three deliveries) and between a program
    and the child it forked (handler_calls: the child signals its parent three times)."""
    with tempfile.TemporaryDirectory() as d:
        r, doc, events, _ = perfetto_of(d, "signal_count.toml")
        names, _, flows, _ = check_structure(doc, events)
        arrows = [sorted(p, key=lambda e: e["ph"] != "s") for p in flows.values() if p[0]["cat"] == "signal"]
        check(len(arrows) == 3 and all(names[s["tid"]] == "sender" and names[f["tid"]] == "receiver" for s, f in arrows), str(arrows))
        path = write_scenario(d, f"""
[scenario]
name = "handler_arrows"
[[process]]
name = "parent"
exec = ["{program_path('handler_calls')}"]
""")
        r = Run([path, "-q", "--perfetto"], d)
        check(r.code == 0, r.stdout + r.stderr)
        with open(os.path.join(d, "handler_arrows", "trace.perfetto.json")) as f:
            doc = json.load(f)
        names, _, flows, _ = check_structure(doc, r.trace(d, "handler_arrows"))
        kinds = {}
        for p in flows.values():
            s, f = sorted(p, key=lambda e: e["ph"] != "s")
            kinds.setdefault(p[0]["cat"], []).append((names[s["tid"]], names[f["tid"]]))
        check(kinds.get("signal") == [("parent/1", "parent")] * 3, str(kinds))
        check(kinds.get("fork") == [("parent", "parent/1")], str(kinds))


def test_perfetto_marks_where_an_always_broke():
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "broken_always"
[ipc.shm.buf]
cells = { x = 0 }
[[process]]
name = "a"
run = ["buf.x = 1", "buf.x = 7", "buf.x = 2"]
[[expect]]
name = "small"
always = "buf.x < 5"
""")
        r = Run([path, "-q", "--perfetto"], d)
        check(r.code == 1, r.stdout + r.stderr)
        with open(os.path.join(d, "broken_always", "trace.perfetto.json")) as f:
            doc = json.load(f)
        events = r.trace(d, "broken_always")
        names, _, _, te = check_structure(doc, events)
        marks = [e for e in te if e["ph"] == "i" and "first broke" in e["name"]]
        check(len(marks) == 1 and names[marks[0]["tid"]] == "a" and "'small'" in marks[0]["name"], str(marks))
        store = [e for e in te if e["ph"] == "X" and "7" in e["name"] and names[e["tid"]] == "a"]
        check(len(store) == 1 and store[0]["ts"] == marks[0]["ts"], f"at the store of 7: {store} {marks}")


# ---- saved runs: simrun view and simrun export ----

def simrun(*args, **kw):
    return subprocess.run([SIMRUN] + list(args), capture_output=True, text=kw.pop("text", True), timeout=kw.pop("timeout", 60),
                          env=dict(os.environ, NO_COLOR="1"), **kw)


SAVED = [("prodcons.toml", []), ("traced_program.toml", []), ("signal_count.toml", []), ("deadlock.toml", ["--controlled", "--seed", "1"]),
         ("pipe_parent_child.toml", []), ("msg_client_server.toml", []), ("kill_holder_undo.toml", []), ("posix_shm_named_sem.toml", [])]


@pytest.mark.parametrize("scenario,extra", SAVED, ids=[s for s, _ in SAVED])
def test_export_makes_the_run_s_own_files_again(scenario, extra):
    """The saved run decoded again gives the same events: `export --format jsonl` is trace.jsonl byte for byte,
    `export --format perfetto` is what --perfetto wrote, `--format html` what --html wrote."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([os.path.join(ROOT, "scenarios", scenario), "-q", "--perfetto", "--html"] + extra, d)
        run_dir = os.path.join(d, os.path.splitext(scenario)[0])
        check(os.path.exists(os.path.join(run_dir, "trace.simrun")), "the run is saved: " + r.stdout + r.stderr)
        e = simrun("export", run_dir, "--format", "jsonl", text=False)
        check(e.returncode == 0, e.stderr.decode())
        with open(os.path.join(run_dir, "trace.jsonl"), "rb") as f:
            check(e.stdout == f.read(), "export jsonl is trace.jsonl")
        out = os.path.join(d, "again.perfetto.json")
        e = simrun("export", os.path.join(run_dir, "trace.jsonl"), "--format", "perfetto", "-o", out)
        check(e.returncode == 0, e.stderr)
        with open(out, "rb") as a, open(os.path.join(run_dir, "trace.perfetto.json"), "rb") as b:
            check(a.read() == b.read(), "export perfetto is what --perfetto wrote")
        e = simrun("export", run_dir, "--format", "html", text=False)
        with open(os.path.join(run_dir, "timeline.html"), "rb") as f:
            check(e.returncode == 0 and e.stdout == f.read(), "export html is what --html wrote")


def event_lines(text):
    """The timeline's event lines: between the column heads and the outcome."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("  t(ms)")) + 1
    end = next(i for i, l in enumerate(lines) if l.startswith(" outcome:"))
    return [l for l in lines[start:end] if not l.startswith("  … ")]


def test_view_shows_what_the_run_showed_and_filters_it():
    with tempfile.TemporaryDirectory() as d:
        r = Run([os.path.join(ROOT, "scenarios", "prodcons.toml"), "--events", "100000"], d)
        run_dir = os.path.join(d, "prodcons")
        events = [e for e in r.trace(d, "prodcons") if e["kind"] not in ("run_start", "expect", "run_end")]
        v = simrun("view", run_dir)
        check(v.returncode == 0, v.stderr)
        check(event_lines(v.stdout) == event_lines(r.stdout), "the same timeline as the run printed")
        summary = lambda text: [l for l in text.splitlines()[text.splitlines().index(next(l for l in text.splitlines() if l.startswith(" outcome:"))):] if not l.startswith(" trace:")]
        check(summary(v.stdout) == summary(r.stdout), f"and the same outcome and expectations:\n{v.stdout}")
        check(simrun("view", d).stdout == v.stdout, "the output folder with one run names it")

        v = simrun("view", run_dir, "--proc", "consumer#1")
        lines = event_lines(v.stdout)
        check(len(lines) == sum(1 for e in events if e["proc"] == "consumer#1"), f"{len(lines)} lines")
        check(all(l[9:].startswith(" " * 66) and l[75] != " " for l in lines), "all in consumer#1's column:\n" + "\n".join(lines[:5]))
        lines = event_lines(simrun("view", run_dir, "--proc", "consumer").stdout)
        check(len(lines) == sum(1 for e in events if e["proc"].startswith("consumer")), "a name takes its replicas")
        lines = event_lines(simrun("view", run_dir, "--kind", "block").stdout)
        check(len(lines) == sum(1 for e in events if e["kind"] == "block") > 0 and all("⏸" in l for l in lines), "\n".join(lines))
        lines = event_lines(simrun("view", run_dir, "--object", "lock.mutex").stdout)
        check(len(lines) == sum(1 for e in events if e.get("obj") == "lock.mutex") and all("lock.mutex" in l for l in lines), "\n".join(lines[:5]))
        lines = event_lines(simrun("view", run_dir, "--seq", "10..19").stdout)
        check(len(lines) == 10, f"ten events: {lines}")
        mid = events[len(events) // 2]["t"]
        lines = event_lines(simrun("view", run_dir, "--from", f"{mid / 1e6}").stdout)
        check(len(lines) == sum(1 for e in events if e["t"] >= mid), f"from {mid} ns: {len(lines)}")
        lines = event_lines(simrun("view", run_dir, "--to", f"{mid}ns", "--kind", "op").stdout)
        check(len(lines) == sum(1 for e in events if e["t"] <= mid and e["kind"] == "op"), "to, with a kind")
        v = simrun("view", run_dir, "--summary")
        check(v.returncode == 0 and "t(ms)" not in v.stdout and "✔ every item consumed" in v.stdout and "more events" not in v.stdout, v.stdout)
        v = simrun("view", run_dir, "--summary", "--stats")
        stats = lambda text: [l for l in text.splitlines() if l.startswith("  ") and " · " in l]
        check(len(stats(v.stdout)) == 7, "three objects and four processes: " + v.stdout)
        check(re.search(r"producer#0 .* waits · \d+/\d+$", v.stdout, re.M), "with the context switches run_end keeps: " + v.stdout)


def test_view_around_the_failure():
    """--around-failure N: the N events up to the one where an always expectation first broke."""
    with tempfile.TemporaryDirectory() as d:
        path = write_scenario(d, """
[scenario]
name = "broken_always"
[ipc.shm.buf]
cells = { x = 0 }
[[process]]
name = "a"
run = ["buf.x = 1", "buf.x = 2", "buf.x = 7", "buf.x = 3", "buf.x = 4"]
[[expect]]
name = "small"
always = "buf.x < 5"
""")
        Run([path, "-q"], d)
        v = simrun("view", os.path.join(d, "broken_always"), "--around-failure", "2")
        check(v.returncode == 1, "the run failed, and so does its view: " + v.stdout + v.stderr)
        lines = event_lines(v.stdout)
        check(len(lines) == 2 and lines[-1].endswith("buf.x = 7") and lines[0].endswith("buf.x = 2"), "\n".join(lines))
        check("✘ small" in v.stdout and "first broken" in v.stdout, v.stdout)
        lines = event_lines(simrun("view", os.path.join(d, "broken_always"), "--around-failure").stdout)
        check(lines[-1].endswith("buf.x = 7") and len(lines) == 4, "40 by default, from the start: " + "\n".join(lines))


def test_view_through_a_pager_on_a_terminal():
    import pty
    with tempfile.TemporaryDirectory() as d:
        Run([os.path.join(ROOT, "scenarios", "prodcons.toml"), "-q"], d)
        paged = os.path.join(d, "paged.txt")
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["PAGER"] = f"cat > {paged}"
            os.execv(SIMRUN, [SIMRUN, "view", os.path.join(d, "prodcons"), "--color", "never"])
        shown = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        _, status = os.waitpid(pid, 0)
        check(os.waitstatus_to_exitcode(status) == 0, shown.decode(errors="replace"))
        with open(paged) as f:
            text = f.read()
        check("t(ms)" in text and " outcome: completed" in text, "the view went to $PAGER: " + text[:200])
        check(b"t(ms)" not in shown, "not to the terminal itself")


def test_a_saved_run_cut_short_is_shown_with_a_note():
    with tempfile.TemporaryDirectory() as d:
        Run([os.path.join(ROOT, "scenarios", "prodcons.toml"), "-q"], d)
        saved = os.path.join(d, "prodcons", "trace.simrun")
        size = os.path.getsize(saved)
        with open(saved, "rb") as f:
            data = f.read()
        cut = os.path.join(d, "cut.simrun")
        with open(cut, "wb") as f:
            f.write(data[:size * 2 // 3])
        v = simrun("view", cut)
        check(v.returncode == 1 and "note: the saved run is cut short: it stops after record" in v.stdout, v.stdout + v.stderr)
        check(len(event_lines(v.stdout + "\n outcome:")) > 20, "the records before the cut are shown")
        e = simrun("export", cut, "--format", "jsonl")
        check(e.returncode == 1 and "cut short" in e.stderr, e.stderr)
        with open(os.path.join(d, "prodcons", "trace.jsonl")) as f:
            whole = f.read().splitlines()
        got = e.stdout.splitlines()
        check(20 < len(got) < len(whole) and got == whole[:len(got)], "its events, as far as they go")


def test_bad_saved_runs_and_options_are_clear_errors():
    with tempfile.TemporaryDirectory() as d:
        Run([os.path.join(ROOT, "scenarios", "prodcons.toml"), "-q"], d)
        Run([os.path.join(ROOT, "scenarios", "race.toml"), "-q"], d)
        saved = os.path.join(d, "prodcons", "trace.simrun")
        with open(saved, "rb") as f:
            data = f.read()
        def variant(name, content):
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(content)
            return p
        cases = [
            ([os.path.join(d, "missing")], "No such file or directory"),
            ([d], "2 saved runs in this folder; name one"),
            ([os.path.join(ROOT, "scenarios", "prodcons.toml")], "not a saved simrun run"),
            ([variant("empty.simrun", b"")], "not a saved simrun run"),
            ([variant("v9.simrun", data[:8] + b"\x09" + data[9:])], "format version 9; this simrun reads version 1"),
            ([variant("head.simrun", data[:40])], "its header is damaged"),
            ([variant("json.simrun", data[:40] + b"#" + data[41:])], "its header is damaged"),
            ([os.path.join(d, "prodcons"), "--seq", "20..10"], "--seq 20..10: not a range"),
            ([os.path.join(d, "prodcons"), "--from", "soon"], "--from soon: not a time"),
            ([os.path.join(d, "prodcons"), "--kind"], "--kind"),
        ]
        for args, want in cases:
            v = simrun("view", *args)
            check(v.returncode == 2 and want in v.stderr and v.stdout == "", f"view {args}: {v.returncode} {v.stderr!r}")
        fifo = os.path.join(d, "fifo.simrun")
        os.mkfifo(fifo)
        v = simrun("view", fifo, timeout=10)
        check(v.returncode == 2 and "not a regular file" in v.stderr, v.stderr)
        e = simrun("export", os.path.join(d, "prodcons"), "--format", "csv")
        check(e.returncode == 2 and "csv" in e.stderr, e.stderr)
        e = simrun("export", os.path.join(d, "prodcons", "trace.jsonl"))
        check(e.returncode == 2 and "--format is required" in e.stderr, e.stderr)
        os.unlink(saved)
        e = simrun("export", os.path.join(d, "prodcons", "trace.jsonl"), "--format", "jsonl")
        check(e.returncode == 2 and "no trace.simrun beside it" in e.stderr, e.stderr)

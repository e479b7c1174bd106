"""End-to-end tests: views of a run. --perfetto writes the run in the Trace Event Format as Perfetto and
chrome://tracing read it; checked here against that format's rules, not only for parsing: metadata names every
track, slices nest per track, every flow has one start and one end that bind to slices, blocked ops are slices
that span their wait."""
import json
import os
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

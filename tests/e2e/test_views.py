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
    for e in te:
        if e["ph"] == "X":
            check(e["dur"] >= 0, str(e))
            slices.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"], e))
    for tid, xs in slices.items():  # nesting: no two slices of a track overlap in part
        stack = []
        for start, end, e in sorted(xs, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1][1] <= start:  # touching is not overlapping
                stack.pop()
            check(not stack or end <= stack[-1][1] + 1e-9, f"{names[tid]}: {e['name']} overlaps {stack[-1][2]['name'] if stack else ''}")
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
            check(any(a <= p["ts"] <= b + 1e-9 for a, b, _ in slices.get(p["tid"], [])), f"flow {fid} binds to a slice: {p}")
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
    check(all(e["dur"] > 0 for e in blocked), "a blocked slice spans its wait")
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
    check({"student/1", "student/2"} <= set(names.values()), str(names))
    check(sum(1 for p in flows.values() if p[0]["cat"] == "fork") >= 2, "fork arrows to each child")
    r = Run([os.path.join(ROOT, "scenarios", "traced_program.toml"), "-q"], d)
    check(not os.path.exists(os.path.join(d, "traced_program", "trace.perfetto.json")), "only with --perfetto (an earlier run's removed)")

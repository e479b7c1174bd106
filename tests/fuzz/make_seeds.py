#!/usr/bin/env python3
"""Seed corpora for the fuzz harnesses, from the project's own files:

  make_seeds.py OUT [SIMRUN]

OUT/scenario: every scenario in scenarios/ and every TOML example in docs/
that is not a grading file; OUT/grading: scenarios/grading/*.toml and the
grading examples in docs/; OUT/expr: every expression and op in those
scenarios; OUT/schedule: schedules recorded by SIMRUN for scenarios/race_explore.toml
(when SIMRUN is given); OUT/saved_run: trace.simrun files of small runs (SIMRUN too); OUT/reports: nothing here (the committed corpus has
report.json and class.json files). The committed corpus in tests/fuzz/corpus
holds what these miss: past findings and hostile inputs."""
import glob
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def put(out, harness, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(out, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)


def main():
    out = sys.argv[1]
    simrun = sys.argv[2] if len(sys.argv) > 2 else None
    scenarios = sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.toml")))
    grading = sorted(glob.glob(os.path.join(ROOT, "scenarios", "grading", "**", "*.toml"), recursive=True))
    for path in scenarios:
        put(out, "scenario", open(path, "rb").read())
    for path in grading:
        text = open(path, "rb").read()
        put(out, "grading" if b"[assignment]" in text else "scenario", text)
    for doc in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        for block in re.findall(r"```toml\n(.*?)```", open(doc).read(), re.S):
            put(out, "grading" if "[assignment]" in block or "[[test]]" in block else "scenario", block)
    for path in scenarios:
        try:
            doc = tomllib.load(open(path, "rb"))
        except tomllib.TOMLDecodeError:
            continue
        for s in strings_in({"p": doc.get("process", []), "e": doc.get("expect", [])}):
            put(out, "expr", s)
    if simrun:
        with tempfile.TemporaryDirectory() as d:
            for seed in (1, 2, 3):
                subprocess.run([simrun, os.path.join(ROOT, "scenarios", "race_explore.toml"), "--controlled", "--seed", str(seed),
                                "-q", "--out", d], capture_output=True)
                schedule = os.path.join(d, "race_explore", "schedule.toml")
                if os.path.exists(schedule):
                    put(out, "schedule", open(schedule, "rb").read())
            # Saved runs of small scenarios: scripted ops, programs and their children, signals, a deadlock.
            for name, extra in (("race_explore", ["--controlled", "--seed", "1"]), ("signal_count", []), ("traced_program", []),
                                ("deadlock", ["--controlled", "--seed", "1"]), ("pipe_parent_child", []), ("msg_client_server", [])):
                subprocess.run([simrun, os.path.join(ROOT, "scenarios", name + ".toml"), "-q", "--out", d] + extra, capture_output=True)
                saved = os.path.join(d, name, "trace.simrun")
                if os.path.exists(saved):
                    put(out, "saved_run", open(saved, "rb").read())
    for harness in ("scenario", "grading", "expr", "schedule", "reports", "saved_run"):
        os.makedirs(os.path.join(out, harness), exist_ok=True)
        print(f"{harness}: {len(os.listdir(os.path.join(out, harness)))} seeds")


main()

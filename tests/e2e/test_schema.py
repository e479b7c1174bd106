"""End-to-end tests: the JSON Schemas of scenario and grading files (docs/schema/), for editors (taplo, Even Better
TOML). Every scenario, grading example and docs example that simrun accepts, the schema accepts; files simrun rejects
for an unknown key, a wrong type or a value out of its set, the schema rejects too."""
import glob
import json
import os
import re
import tempfile
import tomllib

import jsonschema
import pytest

from support import *

SCHEMAS = os.path.join(ROOT, "docs", "schema")


def validator(kind):
    with open(os.path.join(SCHEMAS, f"simrun-{kind}.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(v, text):
    return [e.message for e in v.iter_errors(tomllib.loads(text))]


def docs_blocks():
    for doc in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        for block in re.findall(r"```toml\n(.*?)```", open(doc).read(), re.S):
            yield os.path.basename(doc), block


def test_every_scenario_and_docs_example_simrun_accepts_fits_the_schema():
    scenario, grading = validator("scenario"), validator("grading")
    files = sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.toml")))
    check(len(files) > 20, "the scenario library")
    for path in files:
        with open(path) as f:
            found = errors(scenario, f.read())
        check(not found, f"{path}: {found}")
    graded = sorted(glob.glob(os.path.join(ROOT, "scenarios", "grading", "**", "*.toml"), recursive=True))
    teachers = 0
    for path in graded:
        with open(path) as f:
            text = f.read()
        is_grading = "[assignment]" in text
        teachers += is_grading
        found = errors(grading if is_grading else scenario, text)
        check(not found, f"{path}: {found}")
    check(teachers >= 3, "the grading examples")
    checked = 0
    with tempfile.TemporaryDirectory() as d:
        for doc, block in docs_blocks():
            if "[assignment]" in block or "[[test]]" in block:
                try:
                    tomllib.loads(block)
                except tomllib.TOMLDecodeError:
                    continue
                if "[assignment]" in block and "[[test]]" in block:
                    found = errors(grading, block)
                    check(not found, f"{doc}: a grading example the schema refuses: {found}\n{block}")
                    checked += 1
                continue
            path = write_scenario(d, block, "example")
            if Run(["check", path], d).code != 0:
                continue  # a fragment of a scenario, not a whole one
            found = errors(scenario, block)
            check(not found, f"{doc}: an example simrun accepts and the schema refuses: {found}\n{block}")
            checked += 1
    check(checked >= 10, f"{checked} docs examples checked")


GOOD = """
[scenario]
name = "s"
timeout = "2s"
[ipc.sem.s]
members = { m = 1 }
[[process]]
name = "p"
run = ["P s.m", "V s.m"]
[[expect]]
final = "s.m == 1"
"""

BAD = {
    "unknown key": ("timeout = \"2s\"", "timeout = \"2s\"\ntimout = \"3s\""),
    "wrong type": ("timeout = \"2s\"", "timeout = 2"),
    "bad duration": ("timeout = \"2s\"", "timeout = \"2 seconds\""),
    "bad mode": ("timeout = \"2s\"", "timeout = \"2s\"\nmode = \"fast\""),
    "bad outcome": ("final = \"s.m == 1\"", "outcome = \"crashed\""),
    "two kinds": ("final = \"s.m == 1\"", "final = \"s.m == 1\"\noutcome = \"completed\""),
    "run and exec": ("run = [\"P s.m\", \"V s.m\"]", "run = [\"P s.m\"]\nexec = [\"true\"]"),
    "semaphore too big": ("members = { m = 1 }", "members = { m = 40000 }"),
    "unknown ipc kind": ("[ipc.sem.s]", "[ipc.semaphore.s]"),
    "bad name": ("name = \"p\"", "name = \"9p\""),
    "small trace limit": ("timeout = \"2s\"", "timeout = \"2s\"\ntrace_limit = 5"),
    "bad disposition": ("run = [\"P s.m\", \"V s.m\"]", "run = [\"P s.m\", \"V s.m\"]\nsignals = { SIGUSR1 = \"catch\" }"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_what_simrun_refuses_the_schema_refuses(case):
    v = validator("scenario")
    check(not errors(v, GOOD), "the good file fits")
    old, new = BAD[case]
    check(old in GOOD, case)
    text = GOOD.replace(old, new, 1)
    with tempfile.TemporaryDirectory() as d:
        r = Run(["check", write_scenario(d, text, "bad")], d)
        check(r.code == 2 and "error:" in r.stderr, f"simrun refuses it: {r.stderr}")
    check(errors(v, text), f"the schema refuses it too:\n{text}")


def test_the_grading_schema_refuses_what_the_grader_refuses():
    v = validator("grading")
    good = """
[assignment]
name = "a"
points = 10
[[test]]
name = "t"
points = 10
scenario = "t.toml"
seeds = 3
"""
    check(not errors(v, good), "the good file fits")
    for old, new in [("seeds = 3", "seeds = 3\nruns = 2"), ("points = 10\nscenario", "points = 10\nvisibility = \"secret\"\nscenario"),
                     ("seeds = 3", "seeds = 3\nscoring = \"most\""), ("name = \"a\"", "name = \"a\"\nteacher = \"me\"")]:
        text = good.replace(old, new, 1)
        check(errors(v, text), f"the schema refuses:\n{text}")
        with tempfile.TemporaryDirectory() as d:
            write_scenario(d, GOOD, "t")
            path = os.path.join(d, "grade.toml")
            with open(path, "w") as f:
                f.write(text)
            os.makedirs(os.path.join(d, "sub"))
            r = Run(["grade", path, os.path.join(d, "sub")], d)
            check(r.code == 2 and "grade.toml:" in r.stderr, f"simrun refuses it too: {r.code} {r.stderr}")

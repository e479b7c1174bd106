"""End-to-end tests: scenarios."""
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


@pytest.mark.parametrize("name", scenario_names())
def test_scenario(name):
    """Every scenario in scenarios/ runs with its expected exit code, a sound trace, and no leftovers."""
    with tempfile.TemporaryDirectory() as out:
        want = EXPECTED_EXIT.get(name, 0)
        for _ in range(RACE_ATTEMPTS.get(name, 1)):
            r = Run([f"scenarios/{name}.toml"], out)
            if r.code == want:
                break
        check(r.code == want, f"exit {r.code}, expected {want}\n{r.stdout}\n{r.stderr}")
        events = r.trace(out, name)
        check_trace(events, name)
        r.assert_nothing_left()
        check("differ from the kernel" not in r.stdout, "replayed semaphore values agree with the kernel's")
        expects = [e for e in events if e["kind"] == "expect"]
        check(expects, "expectation results are in the trace")
        check(all(e["passed"] for e in expects) == (want == 0), "expectation results agree with the exit code")


def test_docs_examples():
    """Every toml block in docs/scenario-format.md is a complete scenario that runs and passes."""
    with open(os.path.join(ROOT, "docs", "scenario-format.md")) as f:
        blocks = re.findall(r"```toml\n(.*?)```", f.read(), re.S)
    check(len(blocks) >= 4, f"found {len(blocks)} examples")
    for i, text in enumerate(blocks):
        with tempfile.TemporaryDirectory() as d:
            path = write_scenario(d, text, f"example{i}")
            r = Run([path, "-q"], d)
            check(r.code == 0, f"docs example {i} exited {r.code}:\n{text}\n{r.stdout}{r.stderr}")
            r.assert_nothing_left()

"""pytest set-up for the end-to-end tests: the `serial` marker (CTest runs
those tests alone: they see or touch the machine's own IPC namespace), and
a check after every test that nothing outlived it: no process of its runs,
no System V object, no file in /dev/shm, nothing in its temporary folder,
no simrun file in /tmp."""
import os
import shutil
import tempfile
import time

import pytest

import support


def pytest_configure(config):
    config.addinivalue_line("markers", "serial: runs alone (it uses the machine's IPC namespace, or eats CPUs and pids on purpose)")


def _tmp_simrun_entries():
    # The crash registry's folder (simrun-UID) stays by design: it is shared by every run of the user.
    keep = {f"simrun-{os.geteuid()}"}
    return {f for f in os.listdir("/tmp") if f.startswith("simrun") and f not in keep}


@pytest.fixture(autouse=True)
def nothing_left(monkeypatch):
    # Each test has a temporary folder of its own, and so do the simrun runs
    # it starts (TMPDIR): what they leave is theirs, whatever runs beside them.
    own_tmp = tempfile.mkdtemp(prefix="e2e-")
    monkeypatch.setenv("TMPDIR", own_tmp)
    monkeypatch.setattr(tempfile, "tempdir", own_tmp)
    del support.RUN_TAGS[:]
    ipc_before = support.ipc_objects()
    shm_before = set(os.listdir("/dev/shm"))
    tmp_before = _tmp_simrun_entries()
    yield
    problems = []
    deadline = time.monotonic() + 5  # a killed run's processes may take a moment to be reaped
    while any(support.tagged_processes(t) for t in support.RUN_TAGS) and time.monotonic() < deadline:
        time.sleep(0.02)
    alive = [p for t in support.RUN_TAGS for p in support.tagged_processes(t)]
    if alive:
        problems.append(f"processes of the test's runs outlived it: {alive}")
    leaked = support.ipc_objects() - ipc_before
    if leaked:
        problems.append(f"IPC objects left: {sorted(leaked)}")
    shm = set(os.listdir("/dev/shm")) - shm_before
    if shm:
        problems.append(f"files left in /dev/shm: {sorted(shm)}")
    left = os.listdir(own_tmp)
    if left:
        problems.append(f"files left in the test's temporary folder: {sorted(left)}")
    tmp = _tmp_simrun_entries() - tmp_before
    if tmp:
        problems.append(f"simrun files left in /tmp: {sorted(tmp)}")
    shutil.rmtree(own_tmp, ignore_errors=True)
    assert not problems, "; ".join(problems)

"""The check after every test (conftest.py) fails a test that leaves something behind."""
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

from support import *

LEAKY = '''
import ctypes, os, subprocess, tempfile
import support

def test_leaves_a_temp_file():
    open(os.path.join(tempfile.gettempdir(), "forgotten.txt"), "w").close()

def test_leaves_a_dev_shm_file():
    open("/dev/shm/simrun-leak-check-{tag}", "w").close()

def test_leaves_a_process():
    tag = support.new_tag()
    p = subprocess.Popen(["sleep", "30"], env=dict(os.environ, SIMRUN_TEST_TAG=tag))
    open("/dev/shm/simrun-leak-check-pid-{tag}", "w").write(str(p.pid))

def test_leaves_a_semaphore():
    libc = ctypes.CDLL(None, use_errno=True)
    semid = libc.semget(0, 1, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    open("/dev/shm/simrun-leak-check-sem-{tag}", "w").write(str(semid))

def test_leaves_nothing():
    pass
'''


@pytest.mark.serial
def test_every_kind_of_leftover_fails_its_test():
    tag = new_tag()
    d = tempfile.mkdtemp()
    try:
        for f in ("conftest.py", "support.py", "pytest.ini"):
            shutil.copy(os.path.join(os.path.dirname(__file__), f), d)
        with open(os.path.join(d, "test_leaky.py"), "w") as f:
            f.write(LEAKY.replace("{tag}", tag))
        p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", d, d],
                           capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        out = p.stdout + p.stderr
        check(p.returncode != 0, out)
        check("4 errors" in out, out)  # the four leaky tests; the clean one passes
        for words in ("files left in the test's temporary folder: ['forgotten.txt']",
                      f"files left in /dev/shm: ['simrun-leak-check-{tag}']",
                      "processes of the test's runs outlived it",
                      "IPC objects left: [('sem', "):
            check(words in out, f"{words!r} not in\n{out}")
    finally:
        shutil.rmtree(d, ignore_errors=True)
        libc = ctypes.CDLL(None, use_errno=True)
        for name in (f"simrun-leak-check-{tag}", f"simrun-leak-check-pid-{tag}", f"simrun-leak-check-sem-{tag}"):
            path = os.path.join("/dev/shm", name)
            if not os.path.exists(path):
                continue
            if "pid" in name:
                os.kill(int(open(path).read()), signal.SIGKILL)
            elif "sem" in name:
                libc.semctl(int(open(path).read()), 0, 0)  # IPC_RMID
            os.unlink(path)

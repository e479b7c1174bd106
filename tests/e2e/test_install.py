"""End-to-end tests: simrun installed. `cmake --install` into a scratch root and the CPack .deb unpacked into one:
the binary finds its tracer relative to itself, runs the installed scenarios, names its commit; the man pages render
without a warning; bash completion completes commands, options and their values."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from support import *

BUILD = os.path.dirname(SIMRUN)
# cmake --install and cpack write their manifests into the build folder: the unprivileged pass of tools/test,
# whose user cannot write there, leaves these to the passes as root.
needs_writable_build = pytest.mark.skipif(not os.access(BUILD, os.W_OK), reason="the build folder is not writable")


def run_installed(simrun, args, cwd):
    tag = new_tag()
    env = dict(os.environ, SIMRUN_TEST_TAG=tag, NO_COLOR="1")
    return subprocess.run([simrun] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def check_runs_traced(simrun, share, d):
    """The installed binary runs an installed scenario with a real program, traced by the installed tracer."""
    r = run_installed(simrun, [os.path.join(share, "scenarios", "traced_program.toml"), "-q", "--out", d], d)
    check(r.returncode == 0 and "untraced" not in r.stdout, r.stdout + r.stderr)
    with open(os.path.join(d, "traced_program", "trace.jsonl")) as f:
        calls = sum('"kind":"call"' in line for line in f)
    check(calls > 5, f"{calls} calls traced")
    r = run_installed(simrun, [os.path.join(share, "scenarios", "prodcons.toml"), "-q", "--out", d], d)
    check(r.returncode == 0, r.stdout + r.stderr)


def commit_of_checkout():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


@needs_writable_build
def test_cmake_install_into_a_scratch_root():
    with tempfile.TemporaryDirectory() as root:
        prefix = os.path.join(root, "usr")
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], capture_output=True, text=True)
        check(r.returncode == 0, r.stdout + r.stderr)
        simrun = os.path.join(prefix, "bin", "simrun")
        share = os.path.join(prefix, "share", "doc", "simrun")
        r = run_installed(simrun, ["--version"], root)
        check(re.fullmatch(r"simrun \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n", r.stdout), r.stdout)
        check(commit_of_checkout() in r.stdout, f"the checkout's commit in {r.stdout!r}")
        check_runs_traced(simrun, share, root)
        # Without its tracer simrun says so, instead of a trace with no calls and not a word.
        lib = os.path.join(prefix, "lib", "simrun")
        check(os.path.exists(os.path.join(lib, "libsimrun_preload.so")), "the tracer installed in lib/simrun")
        shutil.rmtree(lib)
        r = run_installed(simrun, [os.path.join(share, "scenarios", "traced_program.toml"), "-q", "--out", root], root)
        check("the programs ran untraced" in r.stdout, r.stdout + r.stderr)
        for page in ("man1/simrun.1", "man5/simrun-scenario.5", "man5/simrun-grading.5"):
            path = os.path.join(prefix, "share", "man", page)
            m = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", LC_ALL="C.UTF-8"))
            check(m.returncode == 0 and "SYNOPSIS" in m.stdout or "DESCRIPTION" in m.stdout, m.stderr)
            check(not m.stderr.strip(), f"{page}: {m.stderr}")
        for schema in ("simrun-scenario.schema.json", "simrun-grading.schema.json"):
            check(os.path.exists(os.path.join(share, "schema", schema)), schema)


def complete(script, words, cword):
    """What the completion function offers for words (a bash array) with the cursor on word cword."""
    cmd = f"source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; _simrun; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    r = subprocess.run(["bash", "--norc", "-c", cmd], capture_output=True, text=True, cwd=ROOT)
    check(r.returncode == 0, r.stderr)
    return r.stdout.split()


def test_bash_completion():
    script = os.path.join(ROOT, "tools", "completion", "simrun.bash")
    check(complete(script, "simrun expl", 1) == ["explore"], "a command")
    check(sorted(complete(script, "simrun ex", 1)) == ["explore", "export"], "commands")
    check(complete(script, "simrun export out/race --format ''", 4) == ["jsonl", "perfetto", "html"], "export's formats")
    check(complete(script, "simrun view out/race --ki", 3) == ["--kind"], "an option of view")
    check("--strategy" in complete(script, "simrun explore x.toml --str", 3), "an option of explore")
    check(complete(script, "simrun x.toml --strategy ''", 3) == ["random", "pct", "rr"], "an option's values")
    check(complete(script, "simrun grade g.toml --j", 3) == ["--jobs"], "an option of grade")
    offered = complete(script, "simrun scenarios/prod", 1)
    check("scenarios/prodcons.toml" in offered, f"scenario files: {offered}")


@needs_writable_build
def test_the_deb_package_unpacked_into_a_scratch_root():
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", d],
                           capture_output=True, text=True)
        check(r.returncode == 0, r.stdout + r.stderr)
        debs = [f for f in os.listdir(d) if f.endswith(".deb")]
        check(len(debs) == 1, f"one package: {debs}")
        deb = os.path.join(d, debs[0])
        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
        for path in ("./usr/bin/simrun", "./usr/lib/simrun/libsimrun_preload.so", "./usr/share/man/man1/simrun.1",
                     "./usr/share/man/man5/simrun-scenario.5", "./usr/share/man/man5/simrun-grading.5",
                     "./usr/share/bash-completion/completions/simrun", "./usr/share/doc/simrun/scenario-format.md",
                     "./usr/share/doc/simrun/scenarios/prodcons.toml"):
            check(path in listing, f"{path} in the package:\n{listing}")
        fields = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"], capture_output=True, text=True).stdout
        check("Package: simrun" in fields and "libc6" in fields and "libfmt" in fields, fields)
        root = os.path.join(d, "root")
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        check_runs_traced(os.path.join(root, "usr", "bin", "simrun"), os.path.join(root, "usr", "share", "doc", "simrun"), d)

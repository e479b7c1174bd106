#!/usr/bin/env python3
"""The fuzz_corpus test: every harness's replay binary over the committed
corpus (tests/fuzz/corpus/HARNESS: past findings, hostile inputs) and the
seeds made from scenarios/ and docs/ (make_seeds.py).

  replay_corpus.py BUILD_DIR SIMRUN HARNESS...

A crash, a sanitizer report (UBSAN_OPTIONS=halt_on_error=1) or a harness
that replayed nothing fails it."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
build, simrun, harnesses = sys.argv[1], sys.argv[2], sys.argv[3:]
failed = False
with tempfile.TemporaryDirectory() as seeds:
    subprocess.run([sys.executable, os.path.join(HERE, "make_seeds.py"), seeds, simrun], check=True, stdout=subprocess.DEVNULL)
    for h in harnesses:
        inputs = [p for p in (os.path.join(HERE, "corpus", h), os.path.join(seeds, h)) if os.listdir(p)]
        r = subprocess.run([os.path.join(build, f"fuzz_{h}_replay")] + inputs, capture_output=True, text=True)
        print(f"{h}: {r.stdout.strip()} (exit {r.returncode})")
        if r.returncode != 0 or "runtime error" in r.stderr or "ERROR: AddressSanitizer" in r.stderr:
            failed = True
            print(r.stderr[-4000:])
sys.exit(1 if failed else 0)

"""End-to-end tests: simrun grade (issue 18, second part): students' scenarios with the teacher's expectations
appended (the fix_race example), explore tests, points on expectations, -j workers, --shard and grade merge,
the progress bar on a terminal."""
import csv
import json
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile

from support import *

FIX_RACE = os.path.join(ROOT, "scenarios", "grading", "fix_race")
PRODCONS = os.path.join(ROOT, "scenarios", "grading", "prodcons")


def subs(example, names=None):
    folder = os.path.join(example, "submissions")
    return [os.path.join(folder, n) for n in sorted(names or os.listdir(folder))]


def report(out, name):
    with open(os.path.join(out, name, "report.json")) as f:
        return json.load(f)


def graded_tests(out, name):
    return {t["name"]: t for t in report(out, name)["tests"]}


def normalised_class(out):
    """class.json without times and the output folder's paths."""
    with open(os.path.join(out, "class.json")) as f:
        c = json.load(f)
    c.pop("shard")
    for s in c["submissions"]:
        s.pop("seconds")
        s.pop("report")
    return c


def test_the_fix_race_example_grades_students_scenarios():
    """A correct fix gets every point; a fix that locks the load but not the store loses updates under some
    seeds (partial credit by the expectations' points) and explore finds a schedule that loses one, whose
    replay command fails again; a "fix" that does no work passes no work test, and explore's teacher
    expectation fails it too."""
    with tempfile.TemporaryDirectory() as d:
        r = Run(["grade", os.path.join(FIX_RACE, "grade.toml")] + subs(FIX_RACE) + ["-j", "2"], d, timeout=600)
        check(r.code == 0, r.stdout + r.stderr)
        with open(os.path.join(d, "gradebook.csv")) as f:
            book = {row["submission"]: row for row in csv.DictReader(f)}
        check(book["correct"]["total"] == "10", str(book["correct"]))
        check(book["no_work"]["loads"] == "1" and book["no_work"]["work"] == "1" and book["no_work"]["no_race"] == "0", str(book["no_work"]))
        check(book["still_racy"]["loads"] == "1" and book["still_racy"]["no_race"] == "0", str(book["still_racy"]))
        # Points by expectation: each failed run keeps the completion's 1 of 4, so 0 < work < 4, never 4.
        work = float(book["still_racy"]["work"])
        check(1 <= work < 4, str(book["still_racy"]))

        correct = graded_tests(d, "correct")["no_race"]
        check(correct["runs"][0]["mode"] == "explore" and "(every one)" in correct["runs"][0]["outcome"], str(correct["runs"][0]))
        racy = graded_tests(d, "still_racy")["no_race"]
        fb = racy["feedback"]
        check("every schedule with at most 2 preemptions: a failing schedule" in fb and "no update lost (counter.value == 6)" in fb, fb)
        check("the trace before it:" in fb and "add counter.value" in fb, fb)
        again = racy["runs"][0]["again"].split()
        check(again[:2] == ["simrun", "replay"] and all(os.path.exists(p) for p in again[2:]), str(again))
        replay = subprocess.run([SIMRUN] + again[1:] + ["--out", os.path.join(d, "replayed"), "-q"], capture_output=True, text=True)
        check(replay.returncode == 1 and "counter.value = " in replay.stdout, replay.stdout + replay.stderr)

        # The assignment's own race.toml races: explore finds it.
        r2 = Run(["explore", os.path.join(FIX_RACE, "race.toml"), "-q", "--out", os.path.join(d, "race")], d, timeout=120)
        check(r2.code == 1, r2.stdout + r2.stderr)
        no_work = graded_tests(d, "no_work")["work"]
        check("counter.value = 2" in no_work["feedback"], no_work["feedback"])
        # The scenario hashed is the student's own file.
        rep = report(d, "correct")
        with open(os.path.join(FIX_RACE, "submissions", "correct", "fix.toml"), "rb") as f:
            import hashlib
            check(rep["tests"][0]["scenario"]["sha256"] == hashlib.sha256(f.read()).hexdigest(), str(rep["tests"][0]))
        r.assert_nothing_left()


def test_a_submission_without_its_scenario_is_told_so():
    """The grading file names {submission}/fix.toml and the submission has another file: every test says which
    file is missing; a fix.toml that does not load is reported with the scenario error."""
    with tempfile.TemporaryDirectory() as d:
        for name, files in {"empty_fix": {"fix.txt": "x"}, "broken": {"fix.toml": "[scenario\n"}}.items():
            os.makedirs(os.path.join(d, name))
            for f, text in files.items():
                with open(os.path.join(d, name, f), "w") as fh:
                    fh.write(text)
        grade = os.path.join(d, "grade.toml")
        with open(os.path.join(FIX_RACE, "grade.toml")) as f:
            text = f.read().replace('required = ["fix.toml"]', "")
        with open(grade, "w") as f:
            f.write(text)
        r = Run(["grade", grade, os.path.join(d, "empty_fix"), os.path.join(d, "broken"), "--out", os.path.join(d, "out")], d, timeout=120)
        check(r.code == 0, r.stdout + r.stderr)
        t = graded_tests(os.path.join(d, "out"), "empty_fix")["loads"]
        check(t["score"] == 0 and t["reason"] == "not run: the submission has no fix.toml", str(t))
        t = graded_tests(os.path.join(d, "out"), "broken")["loads"]
        check(t["score"] == 0 and "the submission's fix.toml does not load" in t["reason"] and "error:" in t["reason"], str(t))


def test_three_shards_merged_equal_the_whole_class():
    """--shard 0/3, 1/3, 2/3 grade disjoint slices whose union is the class; grade merge gives exactly the shards'
    rows, and the gradebook and class.json of the unsharded run (apart from times and folders).

    sem_undo and no_wait are left out of the comparison with the unsharded run: their free-mode runs race for
    real. sem_undo: the producer's undo at exit against the consumer's reads. no_wait: the parent never waits for
    its producer, which is a zombie for the hidden cleanup test only if it exits before the parent does; under
    load (ctest -j2, the unprivileged pass) the parent sometimes exits first. Every other submission scores the
    same under any schedule the kernel picks."""
    deterministic = [n for n in os.listdir(os.path.join(PRODCONS, "submissions")) if n not in ("sem_undo", "no_wait")]
    with tempfile.TemporaryDirectory() as d:
        grade = os.path.join(PRODCONS, "grade.toml")
        whole = os.path.join(d, "whole")
        r = Run(["grade", grade] + subs(PRODCONS, deterministic) + ["--out", whole, "-j", "2"], d, timeout=600)
        check(r.code == 0, r.stdout + r.stderr)
        shards = []
        for i in range(3):
            out = os.path.join(d, f"shard{i}")
            r = Run(["grade", grade] + list(reversed(subs(PRODCONS, deterministic))) + ["--out", out, "--shard", f"{i}/3"], d, timeout=600)
            check(r.code == 0, r.stdout + r.stderr)
            shards.append(out)
        names = [sorted(s["name"] for s in normalised_class(s)["submissions"]) for s in shards]
        check(sorted(sum(names, [])) == sorted(deterministic), str(names))
        merged = os.path.join(d, "merged")
        r = Run(["grade", "merge"] + shards + ["--out", merged], d)
        check(r.code == 0, r.stdout + r.stderr)

        def rows(out):
            with open(os.path.join(out, "gradebook.csv")) as f:
                lines = f.read().splitlines()
            return lines[0], sorted(lines[1:])
        shard_rows = [rows(s) for s in shards]
        check(all(h == shard_rows[0][0] for h, _ in shard_rows), "the shards' gradebooks have other columns")
        check(rows(merged) == (shard_rows[0][0], sorted(sum((r for _, r in shard_rows), []))),
              "the merged gradebook is not the shards' rows")
        with open(os.path.join(whole, "gradebook.csv")) as a, open(os.path.join(merged, "gradebook.csv")) as b:
            whole_book, merged_book = a.read(), b.read()
        check(whole_book == merged_book, f"the gradebooks differ:\n{whole_book}\n---\n{merged_book}")
        a, b = normalised_class(whole), normalised_class(merged)
        # mutex_first scores 0 under any schedule, but how many of its free runs deadlock (failed_runs, the
        # headline) depends on whether its producer ever finds the ring full, which under load it may not.
        for c in (a, b):
            for sub in c["submissions"]:
                if sub["name"] == "mutex_first":
                    for t in sub["tests"]:
                        if t["name"] == "output":
                            t.pop("failed_runs"), t.pop("headline")
        differ = [(x, y) for x, y in zip(a["submissions"], b["submissions"]) if x != y]
        check(a == b, f"class.json differs: {json.dumps(differ)[:3000]}" if differ else
              f"class.json differs: {json.dumps({k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)})[:3000]}")

        # What merge refuses: a shard missing, a shard twice, another grading file.
        r = Run(["grade", "merge"] + shards[:2] + ["--out", os.path.join(d, "m2")], d)
        check(r.code == 2 and "shard 2 of 3 is missing" in r.stderr, r.stderr)
        r = Run(["grade", "merge", shards[0], shards[0], shards[1], shards[2], "--out", os.path.join(d, "m3")], d)
        check(r.code == 2 and "shard 0 is given twice" in r.stderr, r.stderr)
        other = os.path.join(d, "other.toml")
        with open(grade) as f:
            text = f.read().replace("seed = 2026", "seed = 2027")
        with open(other, "w") as f:
            f.write(text)
        for name in ("output.toml", "schedules.toml", "cleanup.toml"):
            shutil.copy(os.path.join(PRODCONS, name), d)
        r = Run(["grade", other, subs(PRODCONS)[0], "--out", os.path.join(d, "o")], d, timeout=300)
        check(r.code == 0, r.stdout + r.stderr)
        r = Run(["grade", "merge", whole, os.path.join(d, "o"), "--out", os.path.join(d, "m4")], d)
        check(r.code == 2 and "was graded with another grading file" in r.stderr, r.stderr)
        r = Run(["grade", "merge", d, "--out", os.path.join(d, "m5")], d)
        check(r.code == 2 and "no class.json" in r.stderr, r.stderr)


def test_jobs_grade_the_same_as_one_at_a_time_and_names_stay_distinct():
    """-j 3 gives the scores of -j 1; the same folder given twice is graded once; two folders of the same name
    are graded as x and x-2."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "again"))
        shutil.copytree(os.path.join(FIX_RACE, "submissions", "correct"), os.path.join(d, "again", "correct"))
        grade = os.path.join(FIX_RACE, "grade.toml")
        books = []
        for j in ("1", "3"):
            out = os.path.join(d, "j" + j)
            args = subs(FIX_RACE) + [subs(FIX_RACE)[0], os.path.join(d, "again", "correct")]
            r = Run(["grade", grade] + args + ["--out", out, "-j", j], d, timeout=600)
            check(r.code == 0, r.stdout + r.stderr)
            with open(os.path.join(out, "gradebook.csv")) as f:
                books.append(f.read())
        check(books[0] == books[1], books[0] + "\n" + books[1])
        rows = [line.split(",")[0] for line in books[0].splitlines()[1:]]
        check(rows == ["correct", "correct-2", "no_work", "still_racy"], str(rows))


def test_bad_shard_and_jobs_are_usage_errors():
    with tempfile.TemporaryDirectory() as d:
        grade = os.path.join(FIX_RACE, "grade.toml")
        for shard in ("3/3", "-1/2", "1", "a/b", "0/0", "1/2/3"):
            r = Run(["grade", grade, subs(FIX_RACE)[0], "--shard", shard], d)
            check(r.code == 2 and "--shard is I/N" in r.stderr, shard + ": " + r.stderr)
        r = Run(["grade", grade, subs(FIX_RACE)[0], "-j", "0"], d)
        check(r.code == 2, r.stderr)
        r = Run(["grade", grade], d)
        check(r.code == 2 and "at least one submission" in r.stderr, r.stderr)
        check(not os.path.exists(os.path.join(d, "correct")), "nothing was graded")


def test_a_progress_bar_on_a_terminal():
    """Standard error a terminal: a bar with the submissions done, the runs and failed tests so far, and the
    time left; not on a pipe."""
    with tempfile.TemporaryDirectory() as d:
        master, slave = pty.openpty()
        p = subprocess.Popen([SIMRUN, "grade", os.path.join(FIX_RACE, "grade.toml")] + subs(FIX_RACE) + ["--out", d],
                             stdout=subprocess.DEVNULL, stderr=slave, cwd=ROOT)
        os.close(slave)
        seen = b""
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        p.wait(timeout=120)
        os.close(master)
        text = seen.decode(errors="replace")
        check(p.returncode == 0, text)
        check(re.search(r"\[#+\.*\] [123]/3 submissions · \d running · \d+ runs · \d+ failed tests? · \S+ left", text), text)
        check("[####################] 3/3 submissions" in text, text)
        r = Run(["grade", os.path.join(FIX_RACE, "grade.toml"), subs(FIX_RACE)[0], "--out", os.path.join(d, "pipe")], d)
        check("submissions ·" not in r.stderr, r.stderr)


def test_the_msgq_example_grades_the_server_by_type():
    """The message-queue server: the correct one gets every point, the one that forgets IPC_RMID loses the
    hidden cleanup test, and the client that takes any type fails every controlled schedule; its feedback
    shows the server waiting for a request on type 1 and a client taking type 1."""
    with tempfile.TemporaryDirectory() as d:
        example = os.path.join(ROOT, "scenarios", "grading", "msgq")
        r = Run(["grade", os.path.join(example, "grade.toml")] + subs(example) + ["-j", "2"], d, timeout=600)
        check(r.code == 0, r.stdout + r.stderr)
        with open(os.path.join(d, "gradebook.csv")) as f:
            book = {row["submission"]: row for row in csv.DictReader(f)}
        check(book["correct"]["total"] == "10" and book["no_rmid"]["total"] == "7" and book["no_rmid"]["cleanup"] == "0", str(book))
        check(book["any_type"]["schedules"] == "0", str(book["any_type"]))
        fb = graded_tests(d, "any_type")["schedules"]["feedback"]
        check("deadlock" in fb and "server waits in its msgrcv(msqid 0, type 1)" in fb, fb)
        check(re.search(r"server/\d msgrcv got_type=1 .*type=0", fb), fb)
        check("ipc_left() = 1" in graded_tests(d, "no_rmid")["cleanup"]["feedback"], graded_tests(d, "no_rmid")["cleanup"]["feedback"])
        r.assert_nothing_left()


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def test_a_worker_killed_mid_grading_costs_only_its_submission():
    """A worker that dies (here SIGKILL from outside, while its runs are going) leaves no report: the batch
    gives that submission 0 with the reason, grades the next one as if nothing happened, and the killed
    worker's runs (their sandboxes die with it) leave no process or object behind."""
    with tempfile.TemporaryDirectory() as d:
        for name in ("a_killed", "b_ok"):
            shutil.copytree(os.path.join(PRODCONS, "submissions", "correct"), os.path.join(d, name))
        tag = new_tag()
        before = ipc_objects()
        out = os.path.join(d, "out")
        p = subprocess.Popen([SIMRUN, "grade", os.path.join(PRODCONS, "grade.toml"), os.path.join(d, "a_killed"),
                              os.path.join(d, "b_ok"), "-j", "1", "--out", out], cwd=ROOT,
                             env=dict(os.environ, SIMRUN_TEST_TAG=tag, NO_COLOR="1"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        worker = None
        while time.monotonic() < deadline and p.poll() is None:
            kids = children(p.pid)
            # The worker is busy with a run once its children include a supervisor with processes.
            if kids and any(children(k) for k in children(kids[0])):
                worker = kids[0]
                break
            time.sleep(0.01)
        check(worker is not None, "the first worker started a run")
        os.kill(worker, signal.SIGKILL)
        stdout, stderr = p.communicate(timeout=300)
        check(p.returncode == 0, stdout + stderr)
        with open(os.path.join(out, "gradebook.csv")) as f:
            book = {row["submission"]: row for row in csv.DictReader(f)}
        check(book["a_killed"]["total"] == "0" and book["b_ok"]["total"] == "10", str(book))
        with open(os.path.join(out, "class.json")) as f:
            killed = {s["name"]: s for s in json.load(f)["submissions"]}["a_killed"]
        check("its worker was killed by signal 9" in json.dumps(killed), json.dumps(killed))
        check("its worker was killed by signal 9" in stdout, stdout)
        check(wait_gone(tag), "processes of the killed worker outlived the batch")
        check(not (ipc_objects() - before), f"IPC objects left behind: {ipc_objects() - before}")

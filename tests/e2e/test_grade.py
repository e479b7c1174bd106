"""End-to-end tests: simrun grade (issue 18, first part): the worked prodcons example's scores and feedback,
Gradescope's results.json, PrairieLearn's and Autolab's forms, simrun's report.json, JUnit and TAP read by
their consumers, the gradebook, hidden tests, same submission same report, bad grading files and bad
submissions, a hostile class."""
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from support import *

EXAMPLE = os.path.join(ROOT, "scenarios", "grading", "prodcons")
GRADE = os.path.join(EXAMPLE, "grade.toml")


def submission(name):
    return os.path.join(EXAMPLE, "submissions", name)


def graded(d, name):
    with open(os.path.join(d, name, "results.json")) as f:
        results = json.load(f)
    with open(os.path.join(d, name, "report.json")) as f:
        report = json.load(f)
    return results, report


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def simrun_version():
    return subprocess.run([SIMRUN, "--version"], capture_output=True, text=True).stdout.split()[1]  # "simrun 0.1.0 (commit ...)"


def normalised(report):
    """A report without what differs between two gradings of the same work: times and the output folder's paths."""
    report = json.loads(json.dumps(report))
    report.pop("seconds", None)
    for t in report["tests"]:
        t.pop("seconds", None)
        t["feedback"] = re.sub(r"(run it again: simrun (replay )?)\S+( \S+)?", r"\1...", t["feedback"])
        for run in t["runs"]:
            run.pop("again")  # names the output folder
    return report


def test_the_prodcons_example_grades_each_classic_mistake():
    """The worked example: the correct program gets every point; the one that takes the mutex before waiting
    for room deadlocks (the feedback says so and gives the command that runs it again); the one that does not
    compile gets 0 with the compiler's error; the one that forgets IPC_RMID loses the hidden cleanup test,
    whose feedback the student does not see."""
    with tempfile.TemporaryDirectory() as d:
        names = ["correct", "mutex_first", "no_compile", "no_rmid", "sem_undo", "no_wait"]
        r = Run(["grade", GRADE] + [submission(n) for n in names], d, timeout=600)
        check(r.code == 0, r.stdout + r.stderr)
        with open(os.path.join(d, "gradebook.csv")) as f:
            book = {row["submission"]: row for row in csv.DictReader(f)}
        check(book["correct"]["total"] == "10" and book["no_rmid"]["total"] == "7" and book["no_compile"]["total"] == "0",
              str(book))
        check(book["mutex_first"]["output"] == "0" and book["mutex_first"]["cleanup"] == "0", str(book["mutex_first"]))
        check(book["no_rmid"]["cleanup"] == "0" and book["no_rmid"]["schedules"] == "4", str(book["no_rmid"]))
        # sem_undo: its free runs pass or fail by how far the consumer is behind when the producer exits; its
        # controlled runs are seeded and fail every time.
        check(book["sem_undo"]["schedules"] == "0", str(book["sem_undo"]))
        check(book["no_wait"]["total"] == "7" and book["no_wait"]["cleanup"] == "0", str(book["no_wait"]))
        # The class's totals as a histogram: one at 10, one at 7, two at 0.
        bins = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\S+–\S+)\s+(\d+)", r.stdout, re.M)}
        check(len(bins) == 10 and bins["9–10"] == 1 and bins["7–8"] == 2 and bins["0–1"] >= 2 and sum(bins.values()) == 6, r.stdout)

        for name in names:
            results, report = graded(d, name)
            # Gradescope's fields, the score the sum of the tests'.
            check(set(results) == {"score", "execution_time", "output", "tests"}, str(results.keys()))
            check(abs(results["score"] - sum(t["score"] for t in results["tests"])) < 1e-9, str(results))
            for t in results["tests"]:
                check(set(t) == {"name", "score", "max_score", "status", "visibility", "output"}, str(t))
                check(t["status"] == ("passed" if t["score"] == t["max_score"] else "failed"), str(t))
            hidden = [t for t in results["tests"] if t["visibility"] == "hidden"]
            check([t["name"] for t in hidden] == ["cleanup"] and hidden[0]["output"] == "a hidden test", str(hidden))
            check(report["schema"] == "simrun-grade/2" and report["submission"]["name"] == name, str(report)[:300])
            check(report["simrun_version"] == simrun_version() and report["assignment"]["sha256"] == sha256_file(GRADE), str(report)[:300])
            check(all(t["scenario"]["sha256"] == sha256_file(t["scenario"]["path"]) for t in report["tests"]), str(report["tests"])[:300])

            # PrairieLearn's and Autolab's forms of the same scores.
            with open(os.path.join(d, name, "prairielearn.json")) as f:
                pl = json.load(f)
            check(pl["gradable"] is True and abs(pl["score"] - results["score"] / 10) < 1e-6 and pl["max_points"] == 10, str(pl))
            check([t["points"] for t in pl["tests"]] == [t["score"] for t in results["tests"]], str(pl["tests"]))
            check([t["message"] for t in pl["tests"] if t["name"] == "cleanup"] == ["a hidden test"], str(pl["tests"]))
            with open(os.path.join(d, name, "autolab.txt")) as f:
                last = json.loads(f.read().splitlines()[-1])
            check(last == {"scores": {t["name"]: t["score"] for t in results["tests"]}, "scoreboard": [results["score"]]}, str(last))

        _, report = graded(d, "mutex_first")
        output = report["tests"][0]
        check(not output["passed"] and "deadlock" in output["feedback"] and "run it again: simrun " in output["feedback"],
              output["feedback"])
        # Who waited for whom: where each waits in a free run, the cycle through the parent and its child in a controlled one.
        check("every live process waits and none can proceed" in output["feedback"] and "sleeping in semtimedop" in output["feedback"],
              output["feedback"])
        schedules = report["tests"][1]
        check("cycle: student → student/1 → student" in schedules["feedback"], schedules["feedback"])
        again = output["runs"][0]["again"].split()
        check(again[0] == "simrun" and os.path.exists(again[1]), str(again))  # the scenario it names is there
        results, report = graded(d, "no_compile")
        check("compile error" in results["output"] and "error: expected" in results["output"], results["output"])
        check(all(t["score"] == 0 and t["output"].startswith(("not run: compile error", "a hidden test")) for t in results["tests"]),
              str(results["tests"]))
        _, report = graded(d, "no_rmid")
        cleanup = [t for t in report["tests"] if t["name"] == "cleanup"][0]
        check("ipc_left() = 2" in cleanup["feedback"], cleanup["feedback"])  # the teacher's report has it all
        # SEM_UNDO on the counting semaphores: when the producer exits, the kernel takes back its V(full)s
        # and the consumer waits for items that are in the buffer. The feedback shows the undo and the wait.
        _, report = graded(d, "sem_undo")
        schedules = [t for t in report["tests"] if t["name"] == "schedules"][0]
        fb = schedules["feedback"]
        check("deadlock" in fb and "SEM_UNDO at exit: semid 0 #2:" in fb and "clamped at 0" in fb, fb)
        check("student waits in its semop(semid 0, sem 2 -1)" in fb and "run it again: simrun replay" in fb, fb)
        _, report = graded(d, "no_wait")
        cleanup = [t for t in report["tests"] if t["name"] == "cleanup"][0]
        check("zombies_left() = 1" in cleanup["feedback"] and "never waited for" in cleanup["feedback"], cleanup["feedback"])
        _, report = graded(d, "correct")
        schedules = [t for t in report["tests"] if t["name"] == "schedules"][0]
        seeds = [run["seed"] for run in schedules["runs"]]
        check(len(seeds) == 8 and len(set(seeds)) == 8 and all(run["mode"] == "controlled" for run in schedules["runs"]), str(seeds))
        r.assert_nothing_left()


def test_the_same_submission_grades_the_same_twice():
    """Seeds drawn from the grading file's master seed: grading again gives the same report, run by run."""
    with tempfile.TemporaryDirectory() as d:
        reports = []
        for out in ("a", "b"):
            r = Run(["grade", GRADE, submission("correct"), "--out", os.path.join(d, out)], d, timeout=300)
            check(r.code == 0, r.stdout + r.stderr)
            reports.append(normalised(graded(os.path.join(d, out), "correct")[1]))
        check(reports[0] == reports[1], f"{reports[0]}\n{reports[1]}")


GOOD = """[assignment]
name = "a"
points = 2
[[test]]
name = "t"
points = 2
scenario = "s.toml"
"""

BAD_GRADING = [
    ("no_assignment", '[[test]]\nname = "t"\npoints = 1\nscenario = "s.toml"\n', "1:1: error: the grading file needs an [assignment]"),
    ("unknown_key", GOOD.replace('points = 2\n[[test]]', 'points = 2\npionts = 3\n[[test]]', 1),
     "4:1: error: unknown key 'pionts' in [assignment] (did you mean 'points'?)"),
    ("sum", GOOD.replace("points = 2\n[[test]]", "points = 5\n[[test]]", 1), "3:10: error: the tests' points add up to 2, not the 5"),
    ("no_scenario_file", GOOD.replace("s.toml", "missing.toml"), "7:12: error: cannot read scenario"),
    ("visibility", GOOD + 'visibility = "secret"\n',
     "8:14: error: visibility is one of visible, hidden, after_due_date, after_published, not 'secret'"),
    ("runs_and_seeds", GOOD + "runs = 2\nseeds = 3\n", "9:9: error: a test has 'runs' (free runs) or 'seeds' (controlled runs), not both"),
    ("needs_unknown", GOOD + 'needs = "u"\n', "8:9: error: unknown test 'u'"),
    ("needs_later", GOOD.replace("points = 2\n[[test]]", "points = 3\n[[test]]", 1) + 'needs = "v"\n[[test]]\nname = "v"\npoints = 1\nscenario = "s.toml"\n',
     "8:9: error: test 't' needs 'v', which must come before it"),
    ("duplicate", GOOD.replace("points = 2\n[[test]]", "points = 4\n[[test]]", 1) + '[[test]]\nname = "t"\npoints = 2\nscenario = "s.toml"\n',
     "8:1: error: duplicate test name 't'"),
    ("scoring", GOOD + 'scoring = "most"\n', "8:11: error: scoring is \"all\" (every run must pass) or \"partial\", not 'most'"),
    ("required_outside", GOOD + '[build]\ncommand = "make"\nrequired = ["../x.c"]\n',
     "10:13: error: a required file is a path inside the submission, not '../x.c'"),
    ("toml", "[assignment\n", "1:12: error:"),
    ("no_points", GOOD.replace("points = 2\nscenario", "scenario"), "4:1: error: test 't' needs 'points'"),
    ("points_text", GOOD.replace("points = 2\nscenario", 'points = "two"\nscenario'), "6:10: error: points must be a number, not a string"),
    ("empty_name", GOOD.replace('name = "t"', 'name = ""'), "5:8: error: a test's name cannot be empty"),
    ("seeds_empty", GOOD + "seeds = []\n", "8:9: error: seeds needs at least one seed"),
    ("seeds_text", GOOD + 'seeds = "all"\n', "8:9: error: seeds must be a number of seeds or a list of them, not a string"),
    ("runs_zero", GOOD + "runs = 0\n", "8:8: error: runs must be between 1 and 10000, got 0"),
    ("timeout", GOOD + '[build]\ncommand = "make"\ntimeout = "soon"\n', "10:11: error: timeout must be a duration such as"),
    ("required_text", GOOD + '[build]\nrequired = "x.c"\n', "9:12: error: required must be a list of file names"),
    ("no_tests", '[assignment]\nname = "a"\npoints = 0\n', "1:1: error: the grading file declares no [[test]]"),
    ("explore_and_runs", GOOD + "runs = 2\nexplore = { runs = 5 }\n", "9:11: error: a test has 'runs', 'seeds' or 'explore', one of them"),
    ("explore_strategy", GOOD + 'explore = { strategy = "rr" }\n', "8:24: error: explore's strategy is \"random\" or \"pct\", not 'rr'"),
    ("explore_preemptions", GOOD + "explore = { preemptions = 2 }\n", "8:27: error: preemptions bounds an exhaustive search"),
    ("explore_depth_random", GOOD + 'explore = { strategy = "random", depth = 2 }\n', "8:42: error: depth is pct's bug depth"),
    ("explore_key", GOOD + "explore = { run = 5 }\n", "8:13: error: unknown key 'run' in explore (did you mean 'runs'?)"),
    ("explore_exhaustive_strategy", GOOD + 'explore = { exhaustive = true, strategy = "pct" }\n', "8:43: error: an exhaustive search has no strategy"),
    ("student_scenario_outside", GOOD.replace('"s.toml"', '"{submission}/../x.toml"'),
     "7:12: error: a scenario in the submission is a path inside it"),
    ("teacher_expect_key", GOOD + '[[test.expect]]\nfinal = "1 == 1"\npoint = 1\n',
     "10:1: error: unknown key 'point' in [[test.expect]] (did you mean 'points'?)"),
]


@pytest.mark.parametrize("name, text, want", BAD_GRADING, ids=[b[0] for b in BAD_GRADING])
def test_a_bad_grading_file_is_a_positioned_error(name, text, want):
    """A broken grading file: file:line:col: error:, the line and a caret, exit 2; nothing is built or run."""
    with tempfile.TemporaryDirectory() as d:
        write_scenario(d, '[[process]]\nname = "p"\nrun = []\n', name="s")
        path = write_scenario(d, text, name="grade")
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        out = os.path.join(d, "out")
        r = Run(["grade", path, sub, "--out", out], d)
        check(r.code == 2, f"exit {r.code}: {r.stdout}{r.stderr}")
        lines = r.stderr.splitlines()
        check(lines[0].startswith(f"{path}:{want}"), r.stderr)
        check(len(lines) >= 3 and lines[2].strip() == "^", r.stderr)
        check(not os.path.exists(out), "nothing was made")


def test_a_grading_file_that_cannot_be_read_is_an_error():
    """A grading file that is not there: an error naming it, exit 2, nothing made."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        r = Run(["grade", os.path.join(d, "nope.toml"), d, "--out", out], d)
        check(r.code == 2 and r.stderr.startswith(f"{d}/nope.toml: error: cannot read the grading file: No such file"), r.stderr)
        check(not os.path.exists(out), "nothing was made")


def test_a_submission_named_dot_is_graded_in_a_folder_of_its_own_name():
    """`simrun grade GRADE .` from inside a submission, or `sub/..`: the output folder is named after the
    folder they are (before, "." named the output folder itself, which grading then emptied); files already
    in the output folder stay."""
    with tempfile.TemporaryDirectory() as d:
        sub = os.path.join(d, "alice")
        shutil.copytree(submission("correct"), sub)
        os.mkdir(os.path.join(sub, "inner"))
        out = os.path.join(d, "out")
        os.mkdir(out)
        keep = os.path.join(out, "keep.txt")
        with open(keep, "w") as f:
            f.write("the teacher's notes\n")
        env = dict(os.environ, SIMRUN_TEST_TAG=new_tag(), NO_COLOR="1")
        for arg, cwd in ((".", sub), ("inner/..", sub)):
            p = subprocess.run([SIMRUN, "grade", GRADE, arg, "--out", out], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
            check(p.returncode == 0, p.stdout + p.stderr)
            check(graded(out, "alice")[0]["score"] == 10, p.stdout)
            check(os.path.exists(keep), f"{arg}: the output folder's own files stay")


def test_a_bad_submission_gets_its_verdict_and_the_batch_goes_on():
    """A missing folder, an empty one, one without the required file, and one with a symbolic link to a file
    outside it: each is graded with the reason, never a crash; the link is not followed (the file it points
    to is not copied); the correct one in the same batch keeps its full score."""
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty")
        os.mkdir(empty)
        wrong = os.path.join(d, "wrong")
        os.mkdir(wrong)
        with open(os.path.join(wrong, "main.c"), "w") as f:
            f.write("int main(void) { return 0; }\n")
        linked = os.path.join(d, "linked")
        shutil.copytree(submission("correct"), linked)
        secret = os.path.join(d, "secret.txt")
        with open(secret, "w") as f:
            f.write("the teacher's answers\n")
        os.symlink(secret, os.path.join(linked, "answers.txt"))
        out = os.path.join(d, "out")
        r = Run(["grade", GRADE, os.path.join(d, "missing"), empty, wrong, linked, "--out", out], d, timeout=600)
        check(r.code == 0, r.stdout + r.stderr)
        reasons = {n: graded(out, n)[1]["problem"] for n in ("missing", "empty", "wrong")}
        check(reasons["missing"].endswith("is not a folder") and reasons["empty"].endswith("is empty") and
              reasons["wrong"] == "the submission has no prodcons.c", str(reasons))
        results, report = graded(out, "linked")
        check(results["score"] == 10, str(results))
        check(report["notes"] == ["answers.txt: a symbolic link, not copied"], str(report["notes"]))
        check(not os.path.exists(os.path.join(out, "linked", "work", "answers.txt")), "the link was not copied")
        r.assert_nothing_left()


def test_junit_and_tap_reports_are_read_by_their_consumers():
    """junit.xml validates against the JUnit schema Jenkins reads (xmllint; a copy with a testcase's name taken
    out does not, so the check can fail); results.tap is read by prove, which passes the correct submission
    and fails the one that leaks its IPC objects on its 3rd test. A submission folder whose name holds quotes,
    '<', '&' and a control character comes out escaped and valid in JSON, XML and CSV."""
    with tempfile.TemporaryDirectory() as d:
        odd = os.path.join(d, "o'dd <&\"> \x01")
        shutil.copytree(submission("no_rmid"), odd)
        out = os.path.join(d, "out")
        r = Run(["grade", GRADE, submission("correct"), odd, "--out", out], d, timeout=600)
        check(r.code == 0, r.stdout + r.stderr)
        schema = os.path.join(ROOT, "tests", "e2e", "junit.xsd")
        for name in ("correct", os.path.basename(odd)):
            xml = os.path.join(out, name, "junit.xml")
            v = subprocess.run(["xmllint", "--noout", "--schema", schema, xml], capture_output=True, text=True)
            check(v.returncode == 0, v.stderr)
        with open(os.path.join(out, os.path.basename(odd), "junit.xml")) as f:
            text = f.read()
        check('name="o&apos;dd &lt;&amp;&quot;&gt; \\x01"' in text and text.count("<failure") == 1, text[:600])
        broken = os.path.join(d, "broken.xml")
        with open(broken, "w") as f:
            f.write(text.replace('<testcase name="cleanup"', "<testcase", 1))
        v = subprocess.run(["xmllint", "--noout", "--schema", schema, broken], capture_output=True, text=True)
        check(v.returncode != 0, "the schema rejects a testcase without a name")

        ok = subprocess.run(["prove", "-e", "cat", os.path.join(out, "correct", "results.tap")], capture_output=True, text=True)
        check(ok.returncode == 0 and "All tests successful" in ok.stdout, ok.stdout + ok.stderr)
        bad = subprocess.run(["prove", "-e", "cat", os.path.join(out, os.path.basename(odd), "results.tap")], capture_output=True, text=True)
        check(bad.returncode != 0 and "Failed test:  3" in bad.stdout and "Parse errors" not in bad.stdout, bad.stdout)

        results, report = graded(out, os.path.basename(odd))
        check(report["submission"]["name"] == os.path.basename(odd) and results["score"] == 7, str(report)[:300])
        with open(os.path.join(out, "gradebook.csv"), newline="") as f:
            rows = list(csv.reader(f))
        check([row[0] for row in rows[1:]] == ["correct", os.path.basename(odd)] and rows[2][-1] == "7", str(rows))
        r.assert_nothing_left()


def test_a_class_with_a_fork_bomb_and_an_endless_loop_grades_to_the_end():
    """Among the submissions, one forks without end and one loops for ever: each gets 0 with its verdict, the
    batch goes on, the correct one keeps every point, and nothing is left on the machine."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(EXAMPLE, "output.toml")) as f:
            scenario = f.read().replace('timeout = "10s"', 'timeout = "2s"')
        write_scenario(d, scenario, name="output")
        grade = write_scenario(d, """[assignment]
name = "hostile"
points = 1
[build]
command = "gcc -O2 -o prodcons prodcons.c"
[[test]]
name = "output"
points = 1
scenario = "output.toml"
""", name="grade")
        subs = {"bomb": "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n",
                "endless": "int main(void) { for (volatile int i = 0;; i++) {} }\n"}
        paths = []
        for name, text in subs.items():
            os.mkdir(os.path.join(d, name))
            with open(os.path.join(d, name, "prodcons.c"), "w") as f:
                f.write(text)
            paths.append(os.path.join(d, name))
        out = os.path.join(d, "out")
        r = Run(["grade", grade] + paths + [submission("correct"), "--out", out], d, timeout=300)
        check(r.code == 0, r.stdout + r.stderr)
        scores = {n: graded(out, n)[0]["score"] for n in ("bomb", "endless", "correct")}
        check(scores == {"bomb": 0, "endless": 0, "correct": 1}, str(scores))
        endless = graded(out, "endless")[1]["tests"][0]["runs"][0]
        # The run's time limit, or the CPU limit (the same length by default) if that comes first.
        check(endless["outcome"] == "timeout" or endless["verdicts"][0].startswith("student: time limit (cpu "), str(endless))
        bomb = graded(out, "bomb")[1]["tests"][0]
        check(not bomb["passed"], str(bomb))
        r.assert_nothing_left()


def test_every_missing_required_file_is_named():
    """A submission without two of the files the grading file requires: both are named (before, only the last)."""
    with tempfile.TemporaryDirectory() as d:
        write_scenario(d, '[[process]]\nname = "p"\nrun = []\n', name="s")
        grade = write_scenario(d, GOOD + '[build]\nrequired = ["a.c", "b.h", "c.c"]\n', name="grade")
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        with open(os.path.join(sub, "b.h"), "w") as f:
            f.write("\n")
        out = os.path.join(d, "out")
        r = Run(["grade", grade, sub, "--out", out], d)
        check(r.code == 0, r.stdout + r.stderr)
        check(graded(out, "sub")[1]["problem"] == "the submission has no a.c, c.c", r.stdout)

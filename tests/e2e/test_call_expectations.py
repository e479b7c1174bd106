"""End-to-end tests: expectations over a program's calls (count(call ...), errors(call ...), errno(call ...))."""
import tempfile

import pytest

from support import *

# Each holds over ipc_calls (two semop P/V pairs with SEM_UNDO on lock, one msgsnd and one msgrcv on q, a raise of
# SIGUSR1 and its handler, a pipe its child reads) and over `wrong`, whose semget on a key nobody made fails.
PASSING = {
    "semops": "count(call semop on lock by student) == 4 && count(call semop returning 0) == 4 && errors(call semop) == 0",
    "queue": "count(call msgsnd on q) == 1 && count(call msgrcv on q by student) == 1",
    "tree": "count(call read by student/1) == 1 && count(call read by student) == 1 && count(call read by student/2) == 0",
    "signals": "count(call raise on SIGUSR1) == 1 && count(call handler on SIGUSR1 by student) == 1 && count(call kill on SIGUSR1) == 0",
    "failures": "count(call semget by wrong) == 0 && errors(call semget by wrong) == 1 && errno(call semget by wrong) == ENOENT "
                "&& errors(call semget failing ENOENT) == 1 && errors(call semget failing EEXIST) == 0",
}


def scenario(d, mode):
    expects = "".join(f'[[expect]]\nname = "{n}"\nfinal = "{t}"\n' for n, t in PASSING.items())
    return write_scenario(d, f"""
[scenario]
name = "calls"
timeout = "10s"
mode = "{mode}"
[ipc.sem.lock]
members = {{ mutex = 1 }}
key = 6191
[ipc.msg.q]
key = 6192
[[process]]
name = "student"
exec = ["{program_path('ipc_calls')}", "6191", "6192"]
[[process]]
name = "wrong"
exec = ["{program_path('ipc_calls')}", "6199", "6192"]
{expects}
[[expect]]
name = "too many"
final = "count(call semop by student) == 5"
[[expect]]
name = "always"
always = "count(call msgsnd) == 0"
[[expect]]
name = "bounded"
always = "count(call semop on lock) <= 4"
""", name="calls")


@pytest.mark.parametrize("mode", ["free", "controlled"])
def test_expectations_count_a_programs_calls(mode):
    """count(), errors() and errno() count programs' calls by name, object, process (a program's whole tree or
    one child), signal, result and errno, in final and always expectations; a failing one shows the values it
    read, an always one the call that broke it."""
    with tempfile.TemporaryDirectory() as d:
        r = Run([scenario(d, mode)], d)
        events = r.trace(d, "calls")
        results = {e["name"]: e for e in events if e["kind"] == "expect"}
        for name in PASSING:
            check(results[name]["passed"], f"{name}: {results[name]}\n{r.stdout}")
        check(results["bounded"]["passed"], str(results["bounded"]))
        check(not results["too many"]["passed"] and results["too many"]["detail"] == "count(call semop by student) = 4",
              str(results["too many"]))
        broken = results["always"]["detail"]
        check(not results["always"]["passed"] and "by student's 'msgsnd(q, type 2" in broken
              and broken.endswith("count(call msgsnd) = 1"), broken)
        check(r.code == 1 and "count(call semop by student) = 4" in r.stdout, r.stdout)
        r.assert_nothing_left()

"""A program's calls as `strace -f` sees them and as simrun's trace records them, in one form, to compare
call by call.

Each side becomes a tree of processes (the root, then the children in the order their parent forked them), each
with its list of calls: (name, arguments both show, result, errno). Ids, pids and addresses differ between two
runs: ids (semget/shmget/msgget results) and pids are replaced by their order of first appearance, addresses are
left out. A call is placed where it started, and a call interrupted by a handler shows the handler's calls
before its own result, on both sides: strace writes `= ? ERESTART...` and then `rt_sigreturn`; simrun writes a
`block` line and then the completion.

Only the calls both can see are compared: the System V calls, POSIX queues, pipes and their reads and writes,
signals sent, handlers installed and run, (pipes only: the programs compared use no FIFO) fork/exec/wait/exit, pause, sigsuspend, sleeps and alarm. Not
compared: sigprocmask (glibc blocks signals inside fork, raise and system), POSIX semaphores (a futex only when
they wait) and shared memory opened by name (an openat). What glibc does inside a call simrun records as one is
left out of strace's side: the pipe popen makes and the reads and writes stdio makes on it, the signal handlers
a posix_spawn or popen child resets before its exec, the mask raise blocks around its tgkill; and a call the
kernel restarts after a signal with no handler is one call."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

SYSCALLS = ("rt_sigprocmask,semget,semop,semtimedop,semctl,shmget,shmat,shmdt,shmctl,msgget,msgsnd,msgrcv,msgctl,"
            "mq_open,mq_timedsend,mq_timedreceive,mq_unlink,pipe,pipe2,read,write,kill,tgkill,rt_sigqueueinfo,"
            "rt_sigaction,clone,clone3,fork,vfork,execve,wait4,exit_group,pause,rt_sigsuspend,rt_sigreturn,"
            "clock_nanosleep,nanosleep,alarm")

# simrun's call names that have a system call strace shows.
COMPARED = {"semget", "semop", "semctl", "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
            "mq_open", "mq_send", "mq_receive", "mq_unlink", "pipe", "read", "write", "kill", "sigqueue", "raise",
            "sigaction", "handler", "fork", "exec", "wait", "exit", "pause", "sigsuspend", "sleep", "alarm"}


class Proc:
    def __init__(self):
        self.calls = []     # [name, args tuple, result, errno]
        self.children = []  # Proc, in fork order

    def tree(self, path="0"):
        """{path: calls} for this process and its descendants: '0', '0/1', '0/1/1', ..."""
        out = {path: [tuple(c) for c in self.calls]}
        for i, child in enumerate(self.children, 1):
            out.update(child.tree(f"{path}/{i}"))
        return out


class Tokens:
    """Ids and pids by order of first appearance, so that two runs compare."""
    def __init__(self):
        self.seen = {}

    def __call__(self, kind, value):
        key = (kind, value)
        if key not in self.seen:
            self.seen[key] = f"{kind}{sum(1 for k in self.seen if k[0] == kind)}"
        return self.seen[key]


# ---- strace -------------------------------------------------------------

LINE = re.compile(r"^(\w+)\((.*)\)\s+= (\?|-?\d+|0x[0-9a-f]+)(?:<[^>]*>)?(?: (E[A-Z]+|ERESTART\w*) .*)?$")
UNFINISHED = re.compile(r"^(\w+)\((.*?)\s*<unfinished \.\.\.>\)\s+= \?$")
SIGNAL = re.compile(r"^--- (SIG\w+) ")


def run_strace(argv, seconds, cwd):
    """Runs argv natively under `strace -ff`; after `seconds` whatever still runs is killed (strace records the
    call it was in as unfinished). Returns {pid: [lines]} and the root pid."""
    if not shutil.which("strace"):
        raise AssertionError("strace is not installed (tools/test installs it)")
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "st")
        out = open(os.path.join(d, "stdout"), "w")  # a file: what the program prints is no pipe write
        p = subprocess.Popen(["strace", "-ff", "-qq", "-y", "-s", "64", "-o", prefix, "-e", f"trace={SYSCALLS}",
                              "-e", "signal=all", "--"] + argv, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        try:
            p.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            for pid in descendants(p.pid):
                os.kill(pid, signal.SIGKILL)
            p.communicate(timeout=30)
        out.close()
        files = {}
        for name in os.listdir(d):
            if not name.startswith("st."):
                continue
            with open(os.path.join(d, name)) as f:
                files[int(name.split(".")[1])] = f.read().splitlines()
    forked = {int(m.group(1)) for lines in files.values() for line in lines
              if (m := re.match(r"^(?:clone3?|v?fork)\(.*\)\s+= (\d+)$", line))}
    roots = [pid for pid in files if pid not in forked]
    if len(roots) != 1:
        raise AssertionError(f"strace wrote {len(files)} files, and {len(roots)} of them are no child's")
    return files, roots[0]


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def split_args(text):
    """Top-level comma-separated arguments of a strace call."""
    out, depth, cur, quoted, i = [], 0, "", False, 0
    while i < len(text):
        c = text[i]
        if quoted:
            cur += c
            if c == "\\":
                cur += text[i + 1]
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted, cur = True, cur + c
        elif c in "[{(":
            depth, cur = depth + 1, cur + c
        elif c in "]})":
            depth, cur = depth - 1, cur + c
        elif c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def fd_kind(arg):
    m = re.match(r"^\d+<(.*)>$", arg)
    return m.group(1) if m else ""


def strace_tree(files, root):
    tokens = Tokens()
    tokens("pid", root)

    def build(pid, handlers, vfork):
        proc = Proc()
        interrupted = []  # calls a handler interrupted (= ? ERESTART...): their result comes with rt_sigreturn
        deferred = []     # a call that returned just before a handler ran: to the caller it returns after it
        last = None
        first = pid == root
        popen_pipe, stdio = None, set()  # glibc's popen: its pipe2(O_CLOEXEC) before a vfork clone; that pipe's ends
        for line in files.get(pid, []):
            if line.startswith("+++"):
                continue
            if (m := SIGNAL.match(line)):
                if m.group(1) not in handlers and interrupted and proc.calls and proc.calls[-1] is interrupted[-1]:
                    proc.calls.pop()  # no handler: the kernel restarts the call, on the next line
                    interrupted.pop()
                if m.group(1) in handlers:
                    if last is not None and last[2] is not None and proc.calls and proc.calls[-1] is last:
                        deferred.append(proc.calls.pop())
                    else:
                        deferred.append(None)
                    proc.calls.append(["handler", (m.group(1),), 0, None])
                continue
            unfinished = UNFINISHED.match(line)
            m = unfinished or LINE.match(line)
            if not m:
                raise AssertionError(f"strace line not understood: {line}")
            name, args = m.group(1), split_args(m.group(2))
            result = None if unfinished or m.group(3) == "?" else int(m.group(3), 0)
            err = None if unfinished else m.group(4)
            if name == "rt_sigreturn":
                if deferred:
                    call = deferred.pop()
                    if call is not None:
                        proc.calls.append(call)
                    elif interrupted:
                        call = interrupted.pop()
                        call[2], call[3] = result, err
                continue
            if name == "execve" and (first or vfork):
                first = vfork = False
                if pid == root:
                    continue
            if vfork:
                continue  # glibc's own calls in a posix_spawn or popen child, before its exec
            if name == "rt_sigprocmask":
                # glibc's raise blocks every signal around its tgkill and restores the mask after: part of the raise
                if not (last is not None and last[0] == "raise" and args[0] == "SIG_SETMASK"):
                    last = None
                continue
            if name in ("read", "write") and re.sub(r"^\d+", "", args[0]) in stdio:
                continue  # fgets/fputs on a popen stream: inside libc
            if name == "pipe2" and "O_CLOEXEC" in args[-1]:
                popen_pipe = args[0]
                continue  # popen's own pipe, if a vfork clone follows; otherwise the program's (below)
            if popen_pipe is not None:
                if not (name in ("clone", "clone3") and "CLONE_VFORK" in m.group(2)):
                    proc.calls.append(["pipe", (), 0, None])
                else:
                    stdio.update(re.findall(r"<pipe:\[\d+\]>", popen_pipe))
                popen_pipe = None
            call = normalize_strace(name, args, result, err, tokens, handlers)
            if call is None:
                last = None
                continue
            if call[0] == "fork" and result is not None and result > 0:
                call[2] = tokens("pid", result)
                proc.children.append(build(result, set(handlers), "CLONE_VFORK" in m.group(2)))
            if err and err.startswith("ERESTART"):
                call[2], call[3] = None, None
                interrupted.append(call)
            proc.calls.append(call)
            last = call
            if call[0] == "exec" and call[2] == 0:
                handlers.clear()
        return proc

    return build(root, set(), False)


def queue_name(name):
    """glibc passes a queue's name to the kernel without its '/'; a pid in it differs between runs."""
    return re.sub(r"\d+", "N", name.lstrip("/"))


def sops(text):
    return tuple((int(n), int(o), "SEM_UNDO" in f, "IPC_NOWAIT" in f)
                 for n, o, f in re.findall(r"sem_num=(\d+), sem_op=(-?\d+), sem_flg=([\w|]+)", text))


def normalize_strace(name, a, result, err, tokens, handlers):
    ident = lambda kind, v: tokens(kind, int(v, 0)) if re.match(r"^-?\d+$", v) else v
    status = None
    if name in ("semget", "shmget", "msgget"):
        key = 0 if a[0] == "IPC_PRIVATE" else int(a[0], 0)
        kind = {"semget": "sem", "shmget": "shm", "msgget": "msg"}[name]
        args = (key,) + ((int(a[1]),) if name != "msgget" else ())
        return [name, args, tokens(kind, result) if result is not None and result >= 0 else result, err]
    if name in ("semop", "semtimedop"):
        return ["semop", (tokens("sem", int(a[0])), sops(a[1]), a[3] != "NULL" if name == "semtimedop" else False), result, err]
    if name == "semctl":
        return ["semctl", (tokens("sem", int(a[0])), int(a[1]), a[2]), result if a[2] in ("GETVAL", "SETVAL", "IPC_RMID") else "", err]
    if name == "shmat":
        return ["shmat", (tokens("shm", int(a[0])),), "addr" if not err else result, err]
    if name == "shmdt":
        return ["shmdt", (), result, err]
    if name in ("shmctl", "msgctl"):
        return [name, (tokens(name[:3], int(a[0])), a[1]), result, err]
    if name == "msgsnd":
        return ["msgsnd", (tokens("msg", int(a[0])), int(re.match(r"\{mtype=(-?\d+)", a[1]).group(1))), result, err]
    if name == "msgrcv":
        return ["msgrcv", (tokens("msg", int(a[0])), int(a[3])), result, err]
    if name in ("mq_open", "mq_unlink"):
        return [name, (queue_name(a[0].strip('"')),), "mqd" if name == "mq_open" and not err else result, err]
    if name in ("mq_timedsend", "mq_timedreceive"):
        return ["mq_send" if name == "mq_timedsend" else "mq_receive", (), result, err]
    if name in ("pipe", "pipe2"):
        return ["pipe", (), result, err]
    if name in ("read", "write"):
        kind = fd_kind(a[0])
        if not kind.startswith("pipe:"):  # the loader's reads of libraries, output to a file: not pipes
            return None
        return [name, (int(a[2]) if len(a) > 2 else None,), result, err]  # unfinished: strace shows the count at the end
    if name == "kill":
        return ["kill", (ident("pid", a[0]), 0 if a[1] == "0" else a[1]), result, err]
    if name == "tgkill":
        return ["raise", (a[2],), result, err]
    if name == "rt_sigqueueinfo":
        return ["sigqueue", (ident("pid", a[0]), a[1]), result, err]
    if name == "rt_sigaction":
        if a[1] == "NULL":
            return None
        handler = re.match(r"\{sa_handler=(\w+)", a[1]).group(1)
        handlers.discard(a[0])
        if handler not in ("SIG_DFL", "SIG_IGN"):
            handlers.add(a[0])
        return ["sigaction", (a[0],), result, err]
    if name in ("clone", "clone3", "fork", "vfork"):
        return ["fork", (), result, err]
    if name == "execve":
        return ["exec", (os.path.realpath(a[0].strip('"')),), result, err]
    if name == "wait4":
        m = re.search(r"WEXITSTATUS\(s\) == (\d+)", a[1])
        k = re.search(r"WTERMSIG\(s\) == (SIG\w+)", a[1])
        status = f"exited {m.group(1)}" if m else f"killed by {k.group(1)}" if k else None
        return ["wait", (status,), tokens("pid", result) if result is not None and result > 0 else result, err]
    if name == "exit_group":
        return ["exit", (int(a[0]),), None, None]
    if name in ("pause", "rt_sigsuspend"):
        return ["pause" if name == "pause" else "sigsuspend", (), result, err]
    if name in ("clock_nanosleep", "nanosleep"):
        return ["sleep", (), result, err]
    if name == "alarm":
        return ["alarm", (int(a[0]),), result, err]
    raise AssertionError(f"no mapping for strace's {name}")


# ---- simrun's trace -----------------------------------------------------

def simrun_tree(events, root):
    tokens = Tokens()
    pids = [e["pid"] for e in events if e.get("proc") == root and "pid" in e]
    if pids:
        tokens("pid", pids[0])
    calls = {}   # proc name -> list of calls
    pending = {}  # proc name -> call that started and has no result yet
    for e in events:
        if e["kind"] not in ("call", "block") or e["call"] not in COMPARED:
            continue
        proc = e["proc"]
        if e["kind"] == "call" and e.get("waited") and proc in pending:
            call = pending.pop(proc)
            done = normalize_simrun(e, tokens)
            call[1], call[2], call[3] = done[1], done[2], done[3]
            continue
        call = normalize_simrun(e, tokens)
        calls.setdefault(proc, []).append(call)
        if e["kind"] == "block":
            call[2], call[3] = None, None
            pending[proc] = call

    def build(name):
        proc = Proc()
        proc.calls = calls.get(name, [])
        forks = [c for c in proc.calls if c[0] == "fork" and c[2] is not None and not c[3]]
        proc.children = [build(f"{name}/{i}") for i in range(1, len(forks) + 1)]
        return proc

    return build(root)


def normalize_simrun(e, tokens):
    name, result = e["call"], e.get("result")
    err = e.get("errno")
    r = result if not err else -1
    if name in ("semget", "shmget", "msgget"):
        kind = name[:3] if name != "semget" else "sem"
        args = (e["key"],) + ((e["nsems"],) if name == "semget" else (e["size"],) if name == "shmget" else ())
        return [name, args, tokens(kind, result) if not err and result is not None else r, err]
    if name == "semop":
        ops = tuple((s["num"], s["op"], s["undo"], s["nowait"]) for s in e["sops"])
        return ["semop", (tokens("sem", e["semid"]), ops, "timeout_ms" in e), r, err]
    if name == "semctl":
        return ["semctl", (tokens("sem", e["semid"]), e["semnum"], e["cmd"]), r if e["cmd"] in ("GETVAL", "SETVAL", "IPC_RMID") else "", err]
    if name == "shmat":
        return ["shmat", (tokens("shm", e["shmid"]),), "addr" if not err else r, err]
    if name == "shmdt":
        return ["shmdt", (), r, err]
    if name in ("shmctl", "msgctl"):
        return [name, (tokens(name[:3], e["id"]), e["cmd"]), r, err]
    if name in ("msgsnd", "msgrcv"):
        return [name, (tokens("msg", e["msqid"]), e["type"]), r, err]
    if name in ("mq_open", "mq_unlink"):
        return [name, (queue_name(e["name"]),), "mqd" if name == "mq_open" and not err else r, err]
    if name in ("mq_send", "mq_receive", "pipe", "pause", "sigsuspend", "sleep"):
        return [name, (), r, err]
    if name in ("read", "write"):
        return [name, (e["count"],), r, err]
    if name in ("kill", "sigqueue"):
        pid = e["target_pid"]
        return [name, (tokens("pid", pid) if pid > 0 else str(pid), e["signal"]), r, err]
    if name == "raise":
        return ["raise", (e["signal"],), r, err]
    if name == "sigaction":
        return ["sigaction", (e["signal"],), r, err]
    if name == "handler":
        return ["handler", (e["signal"],), 0, None]
    if name == "fork":
        return ["fork", (), tokens("pid", result) if not err and result else r, err]
    if name == "exec":
        return ["exec", (os.path.realpath(e["name"]),), r, err]
    if name == "wait":
        return ["wait", (e.get("status"),), tokens("pid", result) if not err and result else r, err]
    if name == "exit":
        return ["exit", (e["code"],), None, None]
    if name == "alarm":
        return ["alarm", (e["seconds"],), r, err]
    raise AssertionError(f"no mapping for simrun's {name}")


def same(x, y):
    """Equal, but for what strace does not show: a wait's status when the program passed no pointer for it,
    the count of a read that never returned."""
    if x is None or y is None:
        return x is y
    if x[0] == y[0] and x[0] in ("wait", "read") and None in (x[1][0], y[1][0]):
        return x[2:] == y[2:]
    return x == y


def differences(simrun, strace):
    """Lines that say where the two trees differ, empty when they agree."""
    a, b = simrun.tree(), strace.tree()
    out = []
    for path in sorted(set(a) | set(b)):
        if path not in a or path not in b:
            out.append(f"process {path}: only {'simrun' if path in a else 'strace'} has it")
            continue
        x, y = a[path], b[path]
        for i in range(max(len(x), len(y))):
            cx = x[i] if i < len(x) else None
            cy = y[i] if i < len(y) else None
            if not same(cx, cy):
                out.append(f"process {path}, call {i}: simrun {cx} / strace {cy}")
                out.append(f"  simrun: {x[max(0, i - 3):i + 3]}")
                out.append(f"  strace: {y[max(0, i - 3):i + 3]}")
                break
    return out

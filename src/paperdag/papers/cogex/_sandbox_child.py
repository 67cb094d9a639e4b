"""Child process of the cogex sandbox (run as `python -I -S <this file> <tmpdir>`; reads a JSON job
from stdin, writes a JSON result to stdout). Before any untrusted code runs it installs an audit hook
that refuses: writes, deletions, renames and directory changes outside the temp folder, sockets,
subprocesses / exec / fork, ctypes, and imports of socket/subprocess/ctypes-like modules. Limits
(CPU seconds, address space, file size, open files) are set by the parent as rlimits; each call
also has its own alarm so one runaway program is reported without losing the others."""

import ast
import json
import os
import signal
import sys

TMP = os.path.realpath(sys.argv[1])
BLOCKED_EVENTS = (
    "socket.", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "ctypes.", "os.chdir", "os.fchdir", "os.putenv", "os.unsetenv",
    "pty.spawn", "webbrowser.open", "urllib.Request", "http.client.connect", "ftplib.", "smtplib.",
    "sys.setrecursionlimit", "os.setuid", "os.setgid",
)
PATH_EVENTS = ("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.truncate", "os.chmod", "os.chown",
               "os.symlink", "os.link", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile",
               "os.replace", "os.removexattr", "os.setxattr", "os.listdir", "os.scandir")
BLOCKED_MODULES = {"socket", "_socket", "ssl", "_ssl", "subprocess", "_posixsubprocess", "multiprocessing",
                   "ctypes", "_ctypes", "pty", "asyncio", "urllib.request", "http.client", "ftplib", "smtplib",
                   "select", "selectors", "mmap", "fcntl", "resource"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class SandboxViolation(PermissionError):
    pass


def _inside(path) -> bool:
    try:
        if isinstance(path, int):
            return False
        p = os.path.realpath(os.fsdecode(path))
    except Exception:  # noqa: BLE001
        return False
    return p == TMP or p.startswith(TMP + os.sep)


def _hook(event, args):
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS)
        if writing and not _inside(path):
            raise SandboxViolation(f"write outside the temp folder refused: {path!r}")
    elif event == "import":
        if args[0] in BLOCKED_MODULES or args[0].split(".")[0] in {"socket", "ctypes", "subprocess", "multiprocessing"}:
            raise SandboxViolation(f"import refused: {args[0]}")
    elif event.startswith(BLOCKED_EVENTS):
        raise SandboxViolation(f"operation refused: {event}")
    elif event in PATH_EVENTS:
        paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
        if not paths or not all(_inside(p) for p in paths):
            raise SandboxViolation(f"{event} outside the temp folder refused: {paths!r}")


class CallTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CallTimeout("time limit of the call exceeded")


def _fn_name(program):
    tree = ast.parse(program)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            return node.name, len(node.args.args)
    raise ValueError("no function definition in the program")


def _run(job):
    per_call = float(job.get("call_seconds", 1.0))
    out = []
    base = {}
    exec(compile(job["reference"], "<reference>", "exec"), base)  # noqa: S102 - the project's own file
    for task in job["tasks"]:
        res = []
        try:
            name, nargs = _fn_name(task["program"])
            ns = dict(base)
            signal.setitimer(signal.ITIMER_REAL, per_call)
            try:
                exec(compile(task["program"], "<program>", "exec"), ns)  # noqa: S102 - sandboxed
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            fn = ns[name]
        except BaseException as e:  # noqa: BLE001 - a broken program is a scored failure
            out.append([{"error": f"{type(e).__name__}: {e}"[:300]}] * len(task["args"]))
            continue
        for arg in task["args"]:
            try:
                signal.setitimer(signal.ITIMER_REAL, per_call)
                try:
                    value = fn(arg) if nargs >= 1 else fn()
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                res.append({"value": repr(value)[:2000]})
            except BaseException as e:  # noqa: BLE001 - MemoryError, CallTimeout, violations...
                res.append({"error": f"{type(e).__name__}: {e}"[:300]})
        out.append(res)
    return out


def main():
    job = json.loads(sys.stdin.read())
    signal.signal(signal.SIGALRM, _alarm)
    os.chdir(TMP)
    sys.addaudithook(_hook)
    result = _run(job)
    sys.stdout.write(json.dumps({"results": result}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

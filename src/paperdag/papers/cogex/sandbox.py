"""Run Python programs (the defined parts of generated or sampled programs, under the hidden
reference's leaf functions) in a jail: `execute(tasks)`.

What holds is the operating system, not Python: one bubblewrap (`bwrap`, Debian package
`bubblewrap`) process per batch of tasks, with
- its own user, mount, PID, IPC, UTS, cgroup and network namespaces (`--unshare-all`; no network
  but an unconfigured loopback), uid/gid 65534 inside, all capabilities dropped, a new session,
  killed with its parent (`--die-with-parent`), an empty environment;
- a root file system that holds only the Python runtime (the interpreter, its shared libraries and
  its standard library, read-only, `site-packages` masked by an empty tmpfs), a minimal /dev, the
  driver script, and an empty writable tmpfs at /work (16 MiB): no checkout, no $HOME, no /etc, no
  host /tmp, no /proc;
- inside, the driver (`_sandbox_child.py`) forks one process per task, which before the program
  runs sets rlimits (CPU seconds, address space, 1 MiB per file, 32 open files, no core) and an
  irreversible seccomp filter (no fork/clone/exec, no signals to other processes, no sockets, no
  ptrace, no namespaces); an audit hook stays as a second layer only.
A task's failure (a broken program, a timeout, a denied operation, a limit) comes back as that
task's per-call error strings: a scored failure, never an exception here. If the jail cannot start
(bwrap missing, no user namespaces) `execute` raises SandboxUnavailable: it never runs a program
without the jail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

from paperdag.core.errors import PaperdagError

CHILD = Path(__file__).with_name("_sandbox_child.py")
REFERENCE = Path(__file__).with_name("reference.py")
WORK_BYTES = 16 * 2**20  # size of the jail's writable tmpfs
INSIDE_CHILD = "/sandbox/child.py"


class SandboxUnavailable(PaperdagError):
    """The jail cannot start here; programs are not run at all."""


def _interpreter() -> Path:
    """The real interpreter binary (a venv's python is a symlink to it; the jail runs it with -I -S)."""
    exe = Path(getattr(sys, "_base_executable", None) or sys.executable)
    return exe.resolve()


@lru_cache(maxsize=1)
def jail_argv() -> tuple[str, ...]:
    """The bwrap command line up to and including the interpreter's arguments."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "cogex runs generated programs only inside a bubblewrap jail, and `bwrap` is not on PATH: "
            "install the Debian package `bubblewrap` (bootstrap.sh does), or set "
            "search.sandbox.enabled: false in config/papers/cogex.yaml to skip executing candidates")
    exe = _interpreter()
    stdlib = Path(sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix,
                                                     "base": sys.base_prefix})).resolve()
    binds: list[str] = []
    for d in ("/usr/lib", "/usr/lib64", "/usr/lib32"):  # the C library and the runtime's shared libraries
        if Path(d).is_dir() and not Path(d).is_symlink():
            binds += ["--ro-bind", d, d]
    for d in ("/lib", "/lib64", "/lib32"):
        p = Path(d)
        if p.is_symlink():
            binds += ["--symlink", os.readlink(p), d]
        elif p.is_dir():
            binds += ["--ro-bind", d, d]
    binds += ["--ro-bind", str(exe), str(exe), "--ro-bind", str(stdlib), str(stdlib)]
    libdir = Path(sysconfig.get_config_var("LIBDIR") or "/nonexistent")
    if libdir.is_dir() and not str(libdir).startswith(("/usr/lib", "/lib")):
        for so in sorted(libdir.glob("libpython*.so*")):
            binds += ["--ro-bind", str(so), str(so)]
    site = stdlib / "site-packages"
    if site.is_dir():
        binds += ["--tmpfs", str(site), "--remount-ro", str(site)]
    return (bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
            "--clearenv", "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONHASHSEED", "0",
            *binds, "--dev", "/dev", "--ro-bind", str(CHILD), INSIDE_CHILD,
            "--size", str(WORK_BYTES), "--tmpfs", "/work", "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/work",
            "--", str(exe), "-I", "-S", INSIDE_CHILD)


def _limits():
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _parse(stdout: str) -> tuple[bool, dict, str | None]:
    ready, results, fatal = False, {}, None
    for line in stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            break
        if "ready" in msg:
            ready = True
        elif "task" in msg:
            results[msg["task"]] = msg["results"]
        elif "fatal" in msg:
            fatal = msg["fatal"]
    return ready, results, fatal


def execute(tasks: list[dict], *, cpu_s: int = 10, mem_mb: int = 256, wall_s: float = 30.0,
            call_seconds: float = 1.0, reference: str | None = None) -> dict:
    """tasks: [{"program": str, "args": [input, ...]}], run as one batch (one jail, one process per
    task). cpu_s, mem_mb: rlimits of each task's process; call_seconds: each call's alarm; wall_s: the
    most wall-clock time one task may take (it is killed at min(wall_s, call_seconds x (calls + 1) + 2)).
    Returns {"status": "ok" | "timeout" | "error", "results": [[{"value": repr} | {"error": msg}, ...],
    ...], "detail": str}; a batch-level failure marks the calls of the unfinished tasks."""
    ref = REFERENCE.read_text() if reference is None else reference
    argv = jail_argv()
    job = json.dumps({"reference": ref, "tasks": tasks, "call_seconds": call_seconds, "cpu_s": cpu_s,
                      "mem_mb": mem_mb, "wall_s": wall_s})
    budget = 10.0 + sum(min(wall_s, call_seconds * (len(t["args"]) + 1) + 2.0) + 0.5 for t in tasks)
    status, detail = "ok", ""
    try:
        proc = subprocess.run(list(argv), input=job, capture_output=True, text=True, timeout=budget,
                              preexec_fn=_limits, cwd="/")
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = "", None
        status, detail = "timeout", f"the batch ran past {budget:.0f} s and was killed"
    ready, results, fatal = _parse(out)
    if not ready:
        tail = " ".join(err.strip().splitlines()[-2:])[:400]
        raise SandboxUnavailable(
            f"the cogex jail did not start (bwrap exit code {rc}): {tail or 'no message'}. It needs "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or a container "
            "run with them allowed); programs are not run outside it")
    if fatal is not None:
        raise SandboxUnavailable(f"the cogex jail started but could not lock down a task's process: {fatal}")
    if status == "ok" and len(results) < len(tasks):
        status = "error"
        detail = f"the jail's driver stopped after {len(results)} of {len(tasks)} tasks (exit code {rc}) " \
                 + " ".join(err.strip().splitlines()[-1:])[:300]
    rows = [results.get(i) or [{"error": f"{status}: {detail}"}] * len(t["args"]) for i, t in enumerate(tasks)]
    return {"status": status, "detail": detail, "results": rows}


def preflight() -> None:
    """Start the jail once with no task (raises SandboxUnavailable with the reason); call it before a
    stage does any work that ends in executing programs."""
    execute([], reference="")

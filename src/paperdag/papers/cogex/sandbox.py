"""Run Python programs (the defined parts of generated or sampled programs, under the hidden
reference's leaf functions) in a separate, limited process: `execute(programs_and_args)`.

Isolation, in layers (none is a full jail; together they stop the hostile cases the tests try):
- a fresh interpreter (`python -I -S`: no site, no user paths, no PYTHONPATH), empty environment,
  a temp folder as working directory (removed afterwards);
- rlimits set before exec: CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS), file size
  (RLIMIT_FSIZE), open files (RLIMIT_NOFILE); a wall-clock timeout kills the whole process;
- inside the child, an audit hook (`_sandbox_child.py`) refuses sockets, subprocesses, ctypes,
  writes / deletions / renames outside the temp folder, and a per-call alarm stops runaway calls.
Every failure comes back as a per-call error string (a scored failure), never an exception here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = Path(__file__).with_name("_sandbox_child.py")
REFERENCE = Path(__file__).with_name("reference.py")


def _limits(cpu_s: int, mem_mb: int):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (mem_mb * 2**20, mem_mb * 2**20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
        os.setsid()

    return apply


def execute(tasks: list[dict], *, cpu_s: int = 10, mem_mb: int = 256, wall_s: float = 30.0,
            call_seconds: float = 1.0, reference: str | None = None) -> dict:
    """tasks: [{"program": str, "args": [input, ...]}]. Returns {"status": "ok" | "timeout" |
    "killed" | "error", "results": [[{"value": repr} | {"error": msg}, ...], ...], "detail": str}.
    A process-level failure marks every call of every task with that error."""
    ref = REFERENCE.read_text() if reference is None else reference
    job = json.dumps({"reference": ref, "tasks": tasks, "call_seconds": call_seconds})

    def fail(status: str, detail: str) -> dict:
        return {"status": status, "detail": detail,
                "results": [[{"error": f"{status}: {detail}"}] * len(t["args"]) for t in tasks]}

    with tempfile.TemporaryDirectory(prefix="cogex-sandbox-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-S", str(CHILD), tmp], input=job, capture_output=True, text=True,
                cwd=tmp, env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"},
                timeout=wall_s, preexec_fn=_limits(cpu_s, mem_mb),
            )
        except subprocess.TimeoutExpired:
            return fail("timeout", f"wall-clock limit of {wall_s} s exceeded; process killed")
        if proc.returncode != 0:
            status = "killed" if proc.returncode < 0 else "error"
            tail = proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []
            return fail(status, f"exit code {proc.returncode} {' '.join(tail)[:300]}".strip())
        try:
            results = json.loads(proc.stdout)["results"]
        except (json.JSONDecodeError, KeyError) as e:
            return fail("error", f"unreadable child output ({e})")
    return {"status": "ok", "detail": "", "results": results}

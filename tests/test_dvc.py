"""DVC round trip at the smoke scale: push the artifacts of a finished run, clone the repo,
pull, and Snakemake has nothing expensive left to run; metrics/plots commands see every paper."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import dry_run_jobs, env
from conftest import SMOKE, clone_done  # smoke_done: the shared session fixture (conftest.py)

EXPENSIVE = {"catn_data", "catn_train", "catn_evaluate"}


def sh(cwd: Path, *cmd: str) -> str:
    p = subprocess.run(list(cmd), cwd=cwd, env=env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{' '.join(cmd)}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout


def dvc(cwd, *a):
    return sh(cwd, str(Path(sys.executable).parent / "dvc"), *a)


def git(cwd, *a):
    return sh(cwd, "git", "-c", "user.name=t", "-c", "user.email=t@t", *a)


@pytest.mark.e2e
def test_push_clone_pull_has_nothing_expensive_to_rerun(smoke_done, tmp_path):  # noqa: F811
    a = clone_done(smoke_done, tmp_path / "a")
    shutil.rmtree(a / ".snakemake")  # a fresh clone has no Snakemake records either
    git(a, "init", "-q")
    dvc(a, "remote", "modify", "local", "url", str(tmp_path / "remote"))
    git(a, "add", "-A")
    git(a, "commit", "-qm", "code")
    sh(a, sys.executable, "-m", "paperdag", "push", "--scale", "smoke")
    pointers = sorted(p.relative_to(a).as_posix() for p in (a / "results/smoke/catn").glob("*.dvc"))
    assert "results/smoke/catn/models.dvc" in pointers and "results/smoke/catn/data.dvc" in pointers
    git(a, "add", *pointers)
    git(a, "commit", "-qm", "artifacts")

    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(a), str(b))
    assert not (b / "results/smoke/catn/models").exists()
    sh(b, sys.executable, "-m", "paperdag", "pull", "--scale", "smoke")
    assert (b / "results/smoke/catn/models/set0/members").is_dir()
    jobs = dry_run_jobs(b, *SMOKE)
    assert not {r for r, _ in jobs} & EXPENSIVE, jobs
    assert jobs == [("summary", "scale=smoke")]  # SUMMARY.md spans papers: not a paper artifact
    assert (b / "results/smoke/catn/metrics.json").read_bytes() == (smoke_done / "results/smoke/catn/metrics.json").read_bytes()

    out = dvc(b, "metrics", "show")
    assert "results/smoke/catn/metrics.json" in out and "cat_task_acc" in out
    dvc(b, "plots", "show", "-o", str(tmp_path / "plots"))
    assert (tmp_path / "plots" / "index.html").exists()

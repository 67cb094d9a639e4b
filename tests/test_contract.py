"""The paper contract over every registered paper (paperdag.core.contract): its places agree
(captions, dvc.yaml, schema and config docs, claims naming written metrics, the README row); and
the scaffold makes a paper that keeps the contract and runs at smoke end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, copy_repo, env, snakemake

from paperdag.core.config import available_papers
from paperdag.core.contract import problems

PAPERS = available_papers(ROOT)


def test_there_are_papers():
    assert len(PAPERS) >= 5


@pytest.mark.parametrize("slug", PAPERS)
def test_paper_keeps_the_contract(slug):
    assert problems(ROOT, slug) == []


def test_contract_catches_a_missing_caption_and_an_undocumented_key(tmp_path):
    root = copy_repo(tmp_path / "repo")
    for name in ("README.md", "tests"):
        src = ROOT / name
        (root / name).write_text(src.read_text()) if src.is_file() else (root / name).mkdir()
    (root / "tests" / "test_catn.py").write_text("")
    (root / "workflow/report/catn/weight_decay.rst").unlink()
    readme = (root / "config/README.md").read_text().replace("| `probe.max_iter` |", "| (gone) |")
    (root / "config/README.md").write_text(readme)
    found = problems(root, "catn", scale="none")
    assert "no report caption workflow/report/catn/weight_decay.rst" in found
    assert "config/README.md (catn): key `probe.max_iter` is not documented" in found



def test_a_key_is_not_documented_by_a_longer_name_ending_in_it():
    from paperdag.core.contract import _documented

    assert not _documented("n", "| `claims_n` | runs per claim |")  # another key that ends in "n"
    assert not _documented("seed", "| `data_seed` | seed of the data |")
    assert _documented("seed", "| `seed` | base seed |")
    assert _documented("data.n_val", "| `data.n_train`, `data.n_val` | split sizes |")

@pytest.mark.e2e
def test_scaffold_makes_a_paper_that_runs_at_smoke_and_keeps_the_contract(tmp_path):
    root = copy_repo(tmp_path / "repo")
    for name in ("README.md",):
        (root / name).write_text((ROOT / name).read_text())
    (root / "tests").mkdir()
    p = subprocess.run([sys.executable, "-m", "paperdag", "new", "toy_paper", "--title", "A toy paper (Doe, 2026)"],
                       cwd=root, env=env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "workflow/rules/toy_paper.smk" in p.stdout
    # the jobs import the new package from the copy (it is not in the installed tree)
    e = env()
    e["PYTHONPATH"] = str(root / "src")
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--config", "scale=smoke", "papers=[toy_paper]"]
    r = subprocess.run(cmd, cwd=root, env=e, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    ledger = json.loads((root / "results/smoke/toy_paper/claims.json").read_text())
    assert [c["id"] for c in ledger["claims"]] == ["model_beats_mean_predictor"]
    assert (root / "results/smoke/toy_paper/figures/fit.png").stat().st_size > 0
    check = "from pathlib import Path; from paperdag.core.contract import problems; print(problems(Path('.'), 'toy_paper', 'smoke'))"
    c = subprocess.run([sys.executable, "-c", check], cwd=root, env=e, capture_output=True, text=True)
    assert c.stdout.strip() == "[]", c.stdout + c.stderr
    # a second scaffold of the same slug is refused, naming what exists
    p = subprocess.run([sys.executable, "-m", "paperdag", "new", "toy_paper"], cwd=root, env=e, capture_output=True, text=True)
    assert p.returncode != 0 and "exists already" in p.stderr

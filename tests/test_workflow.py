"""The workflow as a user drives it: a full smoke run of catn, then dry runs after each kind
of change asserting the exact job list; bad config stops before any job; scales never share
files; determinism; interruption with kill -9 and resume; the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import CORES, SMOKE, clone_done, copy_repo, dry_run_jobs, edit_file, env, snakemake

from paperdag.core.claims import VERDICT_CLASSES

def set_yaml(path: Path, *keys, value):
    raw = yaml.safe_load(path.read_text())
    d = raw
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    st = path.stat()
    os.utime(path, (st.st_atime + 1000, st.st_mtime + 1000))


def rules(jobs):
    return sorted({r for r, _ in jobs})


TRAIN_JOBS = sorted(
    ("catn_train", f"scale=smoke, set={s}, group={g}") for s in (0, 1) for g in ("joint", "members", "wd", "wide")
)
EVAL_DOWN = [
    ("catn_evaluate", "scale=smoke, set=0"),
    ("catn_evaluate", "scale=smoke, set=1"),
    ("catn_figures", "scale=smoke"),
    ("catn_metrics", "scale=smoke"),
    ("claims", "scale=smoke, slug=catn"),
    ("summary", "scale=smoke"),
]


@pytest.mark.e2e
def test_smoke_run_writes_every_output(smoke_done):
    base = smoke_done / "results" / "smoke" / "catn"
    for rel in (
        "metrics.json", "claims.json", "tables/claims.md", "tables/linear_probe.csv", "tables/linear_probe.md",
        "tables/weight_decay.csv", "tables/weight_decay.md", "figures/linear_probe.png", "figures/linear_probe.pdf",
        "figures/weight_decay.png", "figures/weight_decay.pdf",
    ):
        assert (base / rel).stat().st_size > 0, rel
    claims = json.loads((base / "claims.json").read_text())["claims"]
    n_config = len(yaml.safe_load((smoke_done / "config/papers/catn.yaml").read_text())["claims"])
    assert len(claims) == n_config
    # one SUMMARY row per ledger row (claims, checks and analytic rows are tabled apart)
    assert (smoke_done / "results/smoke/SUMMARY.md").read_text().count("| catn |") == n_config
    assert {c["verdict_class"] for c in claims} <= set(VERDICT_CLASSES)
    for c in claims:
        assert c["ours"] is not None or c["verdict"] == "not measured"
    # every stage logged and benchmarked
    assert (base / "logs" / "metrics.log").read_text().count("stage core.results done") >= 1
    assert len(list((base / "benchmarks").glob("*.tsv"))) >= 12
    assert not list((base / "models").rglob(".resume/*.safetensors")), "resume state left behind"


@pytest.mark.e2e
def test_nothing_changed_nothing_to_do(smoke_done, tmp_path):
    root = clone_done(smoke_done, tmp_path / "r")
    assert dry_run_jobs(root, *SMOKE) == []


@pytest.mark.e2e
def test_config_value_reruns_only_its_jobs(smoke_done, tmp_path):
    root = clone_done(smoke_done, tmp_path / "r")
    cfg = root / "config/papers/catn.yaml"
    set_yaml(cfg, "scales", "smoke", "probe", "max_iter", value=150)
    assert dry_run_jobs(root, *SMOKE) == EVAL_DOWN

    root2 = clone_done(smoke_done, tmp_path / "r2")
    set_yaml(root2 / "config/papers/catn.yaml", "scales", "smoke", "train", "epochs", value=7)
    assert dry_run_jobs(root2, *SMOKE) == sorted(TRAIN_JOBS + EVAL_DOWN)

    # a claim's threshold: only the ledger and the summary
    root3 = clone_done(smoke_done, tmp_path / "r3")
    raw = yaml.safe_load((root3 / "config/papers/catn.yaml").read_text())
    raw["claims"][0]["threshold"] = 4.0
    (root3 / "config/papers/catn.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    assert dry_run_jobs(root3, *SMOKE) == [("claims", "scale=smoke, slug=catn"), ("summary", "scale=smoke")]

    # a value of another scale changes nothing at this one
    root4 = clone_done(smoke_done, tmp_path / "r4")
    set_yaml(root4 / "config/papers/catn.yaml", "scales", "paper", "seed_sets", value=4)
    assert dry_run_jobs(root4, *SMOKE) == []


@pytest.mark.e2e
def test_code_edits_rerun_their_stage_and_downstream(smoke_done, tmp_path):
    root = clone_done(smoke_done, tmp_path / "r")
    edit_file(root / "src/paperdag/papers/catn/probe.py")
    assert dry_run_jobs(root, *SMOKE) == EVAL_DOWN  # evaluation code: not training

    root2 = clone_done(smoke_done, tmp_path / "r2")
    edit_file(root2 / "src/paperdag/papers/catn/plots.py")
    assert dry_run_jobs(root2, *SMOKE) == [("catn_figures", "scale=smoke")]  # plotting: figures only

    root3 = clone_done(smoke_done, tmp_path / "r3")
    edit_file(root3 / "src/paperdag/papers/catn/train.py")
    assert dry_run_jobs(root3, *SMOKE) == sorted(TRAIN_JOBS + EVAL_DOWN)


@pytest.mark.e2e
def test_scales_never_share_files(smoke_done, tmp_path):
    root = clone_done(smoke_done, tmp_path / "r")
    p = snakemake(root, "-n", "--config", "scale=default", "papers=[catn]", "--printshellcmds")
    out = p.stdout + p.stderr
    assert "results/default/catn/models/set0/members" in out
    assert "results/smoke/" not in out
    # the smoke results are untouched and still complete
    assert dry_run_jobs(root, *SMOKE) == []


@pytest.mark.parametrize(
    "args, needle",
    [
        (("--config", "scale=huge"), "key scale: 'huge' is not one of"),
        (("--config", "scale=smoke", "papers=[nope]"), "key papers: unknown paper 'nope'"),
        (("--config", "scale=smoke", "colour=blue"), "colour"),
    ],
)
def test_bad_top_level_config_fails_before_any_job(repo, args, needle):
    p = snakemake(repo, *args, check=False)
    assert p.returncode != 0
    assert needle in p.stdout + p.stderr
    assert "config/config.yaml" in p.stdout + p.stderr
    assert not (repo / "results").exists()


def test_plain_snakemake_plans_every_paper(repo):
    """`snakemake -n` with the shipped config/config.yaml (`papers: all`) plans every paper in
    config/papers/, not a hand-kept subset (issue 27)."""
    every = sorted(p.stem for p in (repo / "config" / "papers").glob("*.yaml"))
    planned = {r for r, _ in dry_run_jobs(repo, "--config", "scale=smoke")}
    assert {f"{s}_figures" for s in every} <= planned, sorted({f"{s}_figures" for s in every} - planned)
    assert {"claims", "summary"} <= planned


def test_bad_paper_config_fails_before_any_job(repo):
    cfg = repo / "config/papers/catn.yaml"
    raw = yaml.safe_load(cfg.read_text())
    raw["scales"]["smoke"]["train"]["batch_size"] = 0
    cfg.write_text(yaml.safe_dump(raw))
    p = snakemake(repo, *SMOKE, check=False)
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "config/papers/catn.yaml" in out and "train.batch_size" in out and "minimum" in out
    assert not (repo / "results").exists()


def _slow_config(root: Path):
    """Smoke, with training long enough to be interrupted mid-way."""
    # 600 epochs: each network trains for several seconds on a free core, so the kill (1 s after the
    # first checkpoint appears) lands mid-training; with 100 epochs a quiet machine finished
    # training before the kill and there was nothing to resume
    set_yaml(root / "config/papers/catn.yaml", "scales", "smoke", "train", value={"epochs": 600, "checkpoint_every": 5})


@pytest.mark.e2e
def test_determinism(smoke_done, tmp_path):
    # same config twice -> byte-identical metrics.json
    again = copy_repo(tmp_path / "again")
    snakemake(again, *SMOKE)
    a = (smoke_done / "results/smoke/catn/metrics.json").read_bytes()
    assert (again / "results/smoke/catn/metrics.json").read_bytes() == a


@pytest.mark.e2e
def test_kill9_resume(tmp_path):
    # kill -9 the whole process group during training, rerun the same command
    ref = copy_repo(tmp_path / "ref")
    _slow_config(ref)
    killed = copy_repo(tmp_path / "killed")
    _slow_config(killed)
    cmd = [sys.executable, "-m", "paperdag", "run", "catn", "--scale", "smoke", "--cores", str(CORES)]  # as ref
    proc = subprocess.Popen(cmd, cwd=killed, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    resume_dir = killed / "results/smoke/catn/models"
    while time.time() < deadline:
        if list(resume_dir.rglob(".resume/*.safetensors")):
            break
        if proc.poll() is not None:
            pytest.fail("the run finished before it could be interrupted")
        time.sleep(0.2)
    else:
        pytest.fail("no training checkpoint appeared")
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "results/smoke/catn/metrics.json").exists()
    # the same command again (`paperdag run`: clears the stale lock; the profile reruns incomplete jobs)
    p = subprocess.run(cmd, cwd=killed, env=env(), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    log = "".join(p.read_text() for p in (killed / "results/smoke/catn/logs").glob("train-*.log"))
    assert "resumed from" in log or "already trained" in log
    snakemake(ref, *SMOKE)
    assert (killed / "results/smoke/catn/metrics.json").read_bytes() == (ref / "results/smoke/catn/metrics.json").read_bytes()


@pytest.mark.e2e
def test_cli(smoke_done, tmp_path):
    root = clone_done(smoke_done, tmp_path / "r")

    def cli(*a, check=True):
        p = subprocess.run([sys.executable, "-m", "paperdag", *a], cwd=root, env=env(), capture_output=True, text=True, timeout=600)
        if check:
            assert p.returncode == 0, p.stdout + p.stderr
        return p

    out = cli("list").stdout
    assert "catn" in out and "smoke" in out and any(v in out for v in ("reproduced", "inconclusive"))
    out = cli("claims", "catn", "--scale", "smoke").stdout
    assert "| claim | paper | ours |" in out
    out = cli("run", "catn", "--scale", "smoke", "-n").stdout + cli("run", "catn", "--scale", "smoke", "-n").stderr
    assert "Nothing to be done" in out or "nothing to be done" in out.lower()
    p = cli("run", "nope", "--scale", "smoke", check=False)
    assert p.returncode == 2 and "unknown paper 'nope'" in p.stderr
    # a stage alone, from the CLI
    out_npz = tmp_path / "splits.npz"
    cli("stage", "catn.data", "--scale", "smoke", "--output", f"data={out_npz}")
    assert out_npz.stat().st_size > 1000
    assert "catn" in cli("bench", "--scale", "smoke").stdout
    # the Snakemake HTML report, every table and figure under its paper
    cli("report", "catn", "--scale", "smoke")
    html = (root / "results/smoke/report.html").read_text(errors="replace")
    for name in ("linear_probe.png", "weight_decay.png", "claims.md", "linear_probe.md", "SUMMARY.md"):
        assert name in html, name

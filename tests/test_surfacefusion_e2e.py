"""surfacefusion end to end: the smoke scale in a copy of the repo (data -> 5 variants x 3 runs ->
evaluate per run -> metrics, tables, figures, claims), byte-identical evaluations when a job is rerun,
one config value rerunning exactly its jobs, and the paper scale's job list asking for GPUs."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import dry_run_jobs, snakemake

SMOKE = ("--config", "scale=smoke", "papers=[surfacefusion]")


@pytest.fixture(scope="module")
def smoke_repo(tmp_path_factory):
    from conftest import copy_repo

    root = copy_repo(tmp_path_factory.mktemp("sf") / "repo")
    jobs = dry_run_jobs(root, *SMOKE)
    rules = [r for r, _ in jobs]
    assert rules.count("surfacefusion_train") == 15 and rules.count("surfacefusion_evaluate") == 3
    snakemake(root, *SMOKE)
    return root


@pytest.mark.e2e
def test_surfacefusion_smoke_end_to_end(smoke_repo):
    out = smoke_repo / "results" / "smoke" / "surfacefusion"
    m = json.loads((out / "metrics.json").read_text())
    assert m["variants"] == ["vanilla", "ef", "fg", "sf_hard", "sf_soft"] and m["runs"] == 3
    for key in ("vanilla_minus_copy_bleu", "fg_top_row_emb_margin", "fg_emb_removal_extra_drop", "ef_minus_vanilla_bleu", "sf_minus_ef_bleu", "sf_minus_vanilla_bleu", "sf_soft_minus_vanilla_bleu", "sf_minus_vanilla_spectrum", "fg_uniform_dev"):
        assert m["claims_inputs"][key]["n"] == 3
    W = m["layer_attention"]["fg"]["weights_mean"]
    assert all(abs(sum(row) - 1) < 1e-4 for row in W)
    for f in ("layer_attention", "spectrum", "embedding_pca", "layer_ablation"):
        assert (out / "figures" / f"{f}.png").stat().st_size > 10_000
    for t in ("results", "layer_ablation", "claims"):
        assert (out / "tables" / f"{t}.md").exists()
    claims = json.loads((out / "claims.json").read_text())
    rows = claims["claims"] if isinstance(claims, dict) else claims
    assert len(rows) == 9
    assert m["layer_attention"]["fg"]["uniform_dev_init"]["n"] == 3
    # same config -> same bytes: one evaluation job rerun by hand writes an identical file
    from paperdag.core.config import PaperConfig
    from paperdag.core.stage import run_job

    p = PaperConfig("surfacefusion", smoke_repo).params("smoke")
    cfg = {k: p[k] for k in ("seed", "variants", "data", "model", "fusion", "eval")}
    again = smoke_repo / "again.json"
    models = [str(smoke_repo / f) for f in __import__("paperdag.papers.surfacefusion.plan", fromlist=["x"]).run_models("smoke", p, 1)]
    io = {"input": {"data": str(out / "data" / "splits.json"), "models": models}, "output": {"evals": str(again)}, "wildcards": {"scale": "smoke", "run": "1"}}
    assert run_job("surfacefusion.evaluate", io, json.loads(json.dumps(cfg))) == 0
    assert again.read_bytes() == (out / "evals" / "run1.json").read_bytes()


@pytest.mark.e2e
def test_surfacefusion_gate_retrains_exactly_the_hard_fusion_runs(smoke_repo):
    assert dry_run_jobs(smoke_repo, *SMOKE) == []
    cfg_path = smoke_repo / "config" / "papers" / "surfacefusion.yaml"
    text = cfg_path.read_text()
    cfg_path.write_text(text.replace("sf_gate: 0.8 ", "sf_gate: 0.7 "))
    try:
        jobs = dry_run_jobs(smoke_repo, *SMOKE)
    finally:
        cfg_path.write_text(text)
    train = sorted(w for r, w in jobs if r == "surfacefusion_train")
    assert len(train) == 3 and all("variant=sf_hard" in w for w in train), train
    rules = sorted({r for r, _ in jobs})
    assert rules == ["claims", "summary", "surfacefusion_evaluate", "surfacefusion_figures", "surfacefusion_metrics", "surfacefusion_train"], rules
    assert [r for r, _ in jobs].count("surfacefusion_evaluate") == 3

def test_surfacefusion_paper_scale_dry_run_asks_for_gpus(repo):
    p = snakemake(repo, "-n", "--config", "scale=paper", "papers=[surfacefusion]")
    text = p.stdout + p.stderr
    assert "results/paper/surfacefusion/models/sf_hard-run0.safetensors" in text
    assert "gpu=1" in text


def test_surfacefusion_bad_config_fails_before_any_job(repo):
    path = repo / "config" / "papers" / "surfacefusion.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["base"]["model"]["heads"] = 3
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    p = snakemake(repo, "-n", *SMOKE, check=False)
    assert p.returncode != 0
    assert "model.d_model" in p.stdout + p.stderr and "surfacefusion.yaml" in p.stdout + p.stderr

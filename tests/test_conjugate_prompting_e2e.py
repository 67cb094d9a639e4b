"""End-to-end smoke run of the conjugate_prompting pipeline in a copy of the repo."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from conftest import dry_run_jobs, edit_file, snakemake


@pytest.mark.e2e
def test_smoke_pipeline(repo):
    cfg = ["--config", "scale=smoke", "papers=[conjugate_prompting]"]
    snakemake(repo, *cfg, timeout=900)
    out = repo / "results" / "smoke" / "conjugate_prompting"
    for f in ("metrics.json", "claims.json", "tables/claims.md", "tables/synthetic_loss.md", "tables/conjugate_gamma.md", "tables/lm_probe.md",
              "figures/loss_vs_examples.png", "figures/conjugate_gamma.png", "figures/lm_probe.png"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    ci = m["claims_inputs"]
    p = yaml.safe_load((repo / "config/papers/conjugate_prompting.yaml").read_text())
    runs = p["scales"]["smoke"]["synthetic"]["runs"]
    for k in ("ft_disc_gain", "ft_cont_increase", "cp_gain_cont", "forgetting_close_minus_far"):
        assert ci[k]["n"] == runs, k  # n = independent training runs, not prompts
    assert ci["lm_drop_en_minus_others"]["n"] == p["scales"]["smoke"]["lm"]["runs"]
    syn = m["synthetic"]
    # the Bayes references are ordered as theory says on their own distributions
    assert syn["mean_loss"]["cont"]["ridge"] <= syn["mean_loss"]["cont"]["discrete"]
    assert syn["mean_loss"]["disc"]["discrete"] <= syn["mean_loss"]["disc"]["ridge"]
    assert len(syn["curves"]["cont"]["pre"]) == 6
    claims = json.loads((out / "claims.json").read_text())
    rows = claims["claims"]
    verdicts = {r["id"]: r["verdict"] for r in rows}
    assert verdicts["lm_drop_largest_in_english"] == "not measured"  # an LM claim of the default scale only
    assert dry_run_jobs(repo, *cfg) == []  # nothing left to do
    edit_file(repo / "src/paperdag/papers/conjugate_prompting/plots.py")
    jobs = {r for r, _ in dry_run_jobs(repo, *cfg)}
    assert "conjugate_prompting_figures" in jobs and "conjugate_prompting_pretrain" not in jobs
    # one more training run reruns exactly that run's chain and what aggregates it (no other run)
    os.utime(repo / "src/paperdag/papers/conjugate_prompting/plots.py", None)  # edit_file dated it ahead
    snakemake(repo, *cfg, timeout=900)
    yml = repo / "config/papers/conjugate_prompting.yaml"
    raw = yaml.safe_load(yml.read_text())
    raw["scales"]["smoke"]["synthetic"]["runs"] = runs + 1
    yml.write_text(yaml.safe_dump(raw, sort_keys=False))
    jobs = dry_run_jobs(repo, *cfg)
    trained = {(r, w) for r, w in jobs if r in ("conjugate_prompting_pretrain", "conjugate_prompting_finetune", "conjugate_prompting_evaluate", "conjugate_prompting_lm_finetune", "conjugate_prompting_lm_probe")}
    assert {r for r, _ in trained} == {"conjugate_prompting_pretrain", "conjugate_prompting_finetune", "conjugate_prompting_evaluate"}, jobs
    assert all(f"run={runs}" in w for _, w in trained), jobs

"""End-to-end smoke run of the layer_swapping pipeline in a copy of the repo (a tiny random Llama with
the SmolLM2 tokenizer through the same code as `default`)."""

from __future__ import annotations

import json

import pytest

from conftest import dry_run_jobs, edit_file, link_smollm2, snakemake


@pytest.mark.e2e
def test_smoke_pipeline(repo, smollm2_asset):
    link_smollm2(smollm2_asset, repo)  # the tokenizer of the smoke model; rule lm_asset sees it up to date
    cfg = ["--config", "scale=smoke", "papers=[layer_swapping]"]
    snakemake(repo, *cfg, timeout=900)
    out = repo / "results" / "smoke" / "layer_swapping"
    for f in ("metrics.json", "claims.json", "tables/claims.md", "tables/main.md", "tables/configurations.md",
              "figures/change_heatmap.png", "figures/german_math.png"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_runs"] == 3 and m["claims_inputs"]["swap_best_minus_soup_de"]["n"] == 3
    assert m["claims_inputs"]["provenance_ok"]["mean"] == 1.0
    first = (out / "metrics.json").read_bytes()
    assert dry_run_jobs(repo, *cfg) == []  # nothing left to do
    # determinism: the merges and evaluations again give the same metrics.json bytes
    snakemake(repo, *cfg, "--forcerun", "layer_swapping_evaluate", timeout=900)
    assert (out / "metrics.json").read_bytes() == first
    # a merge setting reruns the evaluations, never the experts' training
    cfg_file = repo / "config/papers/layer_swapping.yaml"
    cfg_file.write_text(cfg_file.read_text().replace("ties: {density: 0.2, lam: 1.0}", "ties: {density: 0.3, lam: 1.0}"))
    jobs = {r for r, _ in dry_run_jobs(repo, *cfg)}
    assert "layer_swapping_evaluate" in jobs and "layer_swapping_train" not in jobs and "layer_swapping_evaluate_base" not in jobs
    cfg_file.write_text(cfg_file.read_text().replace("density: 0.3", "density: 0.2"))
    edit_file(repo / "src/paperdag/papers/layer_swapping/plots.py")
    jobs = {r for r, _ in dry_run_jobs(repo, *cfg)}
    assert "layer_swapping_figures" in jobs and "layer_swapping_train" not in jobs

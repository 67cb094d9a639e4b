"""End-to-end smoke run of the adapt_retrieve_revise pipeline in a copy of the repo."""

from __future__ import annotations

import json

import pytest

from conftest import dry_run_jobs, edit_file, link_smollm2, snakemake


@pytest.mark.e2e
def test_smoke_pipeline(repo, smollm2_asset):
    link_smollm2(smollm2_asset, repo)  # the reviser; rule lm_asset sees it up to date
    cfg = ["--config", "scale=smoke", "papers=[adapt_retrieve_revise]"]
    snakemake(repo, *cfg, timeout=900)
    out = repo / "results" / "smoke" / "adapt_retrieve_revise"
    for f in ("metrics.json", "claims.json", "tables/claims.md", "tables/table1.md", "tables/retrieval.md", "tables/ablations.md",
              "figures/systems.png", "figures/recall_at_k.png", "figures/draft_source.png", "figures/iterations.png"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_runs"] == 2
    assert m["claims_inputs"]["arr_minus_general_direct"]["n"] == 2
    first = (out / "metrics.json").read_bytes()
    assert dry_run_jobs(repo, *cfg) == []  # nothing left to do
    # determinism: everything again from the statute book on gives the same metrics.json bytes
    snakemake(repo, *cfg, "--forcerun", "adapt_retrieve_revise_book", timeout=900)
    assert (out / "metrics.json").read_bytes() == first
    # a reviser setting reruns the jobs that use the reviser, never the drafter's training
    cfg_file = repo / "config/papers/adapt_retrieve_revise.yaml"
    cfg_file.write_text(cfg_file.read_text().replace("revise: {n_revise: 2, n_gen: 1, max_new: 6,", "revise: {n_revise: 2, n_gen: 1, max_new: 7,"))
    jobs = {r for r, _ in dry_run_jobs(repo, *cfg)}
    assert {"adapt_retrieve_revise_general", "adapt_retrieve_revise_arr"} <= jobs
    assert "adapt_retrieve_revise_adapt" not in jobs and "adapt_retrieve_revise_book" not in jobs
    cfg_file.write_text(cfg_file.read_text().replace("max_new: 7,", "max_new: 6,"))
    edit_file(repo / "src/paperdag/papers/adapt_retrieve_revise/plots.py")
    jobs = {r for r, _ in dry_run_jobs(repo, *cfg)}
    assert "adapt_retrieve_revise_figures" in jobs and "adapt_retrieve_revise_adapt" not in jobs


def test_paper_scale_dry_run_asks_for_gpus(repo):
    p = snakemake(repo, "-n", "--config", "scale=paper", "papers=[adapt_retrieve_revise]")
    out = p.stdout + p.stderr
    assert "results/paper/adapt_retrieve_revise/evals/run0.json" in out
    assert "gpu=1" in out

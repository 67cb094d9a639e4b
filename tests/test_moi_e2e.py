"""moi: the smoke pipeline end to end (once), determinism of metrics.json, and which jobs a config
edit reruns."""

from __future__ import annotations

import json

import pytest
from conftest import dry_run_jobs, link_smollm2, snakemake


@pytest.mark.e2e
def test_smoke_pipeline(repo, smollm2_asset):
    link_smollm2(smollm2_asset, repo)  # the smoke scale's random chat model uses its tokenizer
    cfg = ["--config", "scale=smoke", "papers=[moi]"]
    snakemake(repo, *cfg, timeout=900)
    out = repo / "results" / "smoke" / "moi"
    for f in ("metrics.json", "claims.json", "tables/strategies.md", "tables/prompts.md", "tables/masks.md", "tables/curves.csv",
              "figures/strategies.png", "figures/prompts.png", "figures/curves.png"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    assert m["claims_inputs"]["moi_minus_balanced_avg"]["n"] == 2
    assert m["claims_inputs"]["smollm2_code_prompt_gain"]["runs"] == 1
    first = (out / "metrics.json").read_bytes()
    assert dry_run_jobs(repo, *cfg) == []
    # determinism: retraining a run gives the same metrics.json bytes
    snakemake(repo, *cfg, "--forcerun", f"{out}/runs/moi-run0.json".replace(str(repo) + "/", ""), timeout=900)
    assert (out / "metrics.json").read_bytes() == first
    # part (a)'s settings rerun part (a) only, never a training run
    cfg_file = repo / "config/papers/moi.yaml"
    cfg_file.write_text(cfg_file.read_text().replace("      n_items: 2\n", "      n_items: 3\n"))
    jobs = {r for r, _ in dry_run_jobs(repo, *cfg)}
    assert "moi_sensitivity" in jobs and "moi_train" not in jobs and "moi_data" not in jobs

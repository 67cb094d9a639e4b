"""pleas end to end: the smoke scale in a copy of the repo (data -> train -> merge -> metrics ->
figures -> claims), its job list, and byte-identical metrics.json when rerun."""

from __future__ import annotations

import json

import pytest

from conftest import dry_run_jobs, snakemake


@pytest.mark.e2e
def test_pleas_smoke_end_to_end(repo):
    jobs = dry_run_jobs(repo, "--config", "scale=smoke", "papers=[pleas]")
    rules = [r for r, _ in jobs]
    assert rules.count("pleas_train") == 4 and rules.count("pleas_merge") == 4  # 2 settings x 2 seeds
    snakemake(repo, "--config", "scale=smoke", "papers=[pleas]")
    out = repo / "results" / "smoke" / "pleas"
    m = json.loads((out / "metrics.json").read_text())
    for s in ("labels", "domains"):
        st = m["settings"][s]
        assert st["flops_ratio"]["1"] == pytest.approx(1.0) and st["flops_ratio"]["2"] == pytest.approx(2.0)
        assert st["curves"]["pleas_activation"]["2"]["mean"] == pytest.approx(st["references"]["ensemble"]["mean"], abs=1e-6)
        assert st["ls_layers_lowered"]["pleas_activation"] == st["ls_layers"]["pleas_activation"]
        assert (out / "tables" / f"{s}.md").exists()
    assert (out / "figures" / "accuracy_vs_budget.png").stat().st_size > 10_000
    claims = json.loads((out / "claims.json").read_text())
    rows = claims["claims"] if isinstance(claims, dict) else claims
    assert len(rows) == 16
    by_id = {r["id"]: r for r in rows}
    assert by_id["labels_pleas_gain_headline"]["requires"] == ["labels_merge_beats_trivial", "labels_weight_avg_far_below"]
    # selection on validation only: the chosen budget of each pair has the largest validation gain
    for s in ("labels", "domains"):
        sel = m["settings"][s]["selection"]
        ev = json.loads((out / "evals" / s / "seed0.json").read_text())
        below = [k for k in ev["flops_ratio"] if float(k) < 2]
        gains = {k: ev["val_curves"]["pleas_activation"][k]["avg"] - ev["val_curves"]["perm_activation"][k]["avg"] for k in below}
        assert sel["best_budget"][str(ev["seed"])] == float(max(gains, key=lambda k: (round(gains[k], 9), -float(k))))
        assert sel["ridge_chosen"][str(ev["seed"])]["pleas_activation"] in sel["ridge_grid"]
    assert (out / "tables" / "selection.md").exists()
    # same config -> same bytes: one merge job rerun by hand writes an identical evals file
    from paperdag.core.config import PaperConfig
    from paperdag.core.stage import run_job

    p = PaperConfig("pleas", repo).params("smoke")
    cfg = {k: p[k] for k in ("device", "seed", "merge")}
    again = repo / "again.json"
    io = {"input": {"data": str(out / "data" / "splits.npz"), "model_a": str(out / "models" / "labels" / "seed1" / "a.safetensors"),
                    "model_b": str(out / "models" / "labels" / "seed1" / "b.safetensors")},
          "output": {"evals": str(again)}, "wildcards": {"scale": "smoke", "setting": "labels", "seed": "1"}}
    assert run_job("pleas.merge", io, json.loads(json.dumps(cfg))) == 0
    assert again.read_bytes() == (out / "evals" / "labels" / "seed1.json").read_bytes()

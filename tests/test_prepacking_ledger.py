"""prepacking: prompt sources (real offline texts, synthetic draws), the replicate structure the
claims rest on (n = independent batches; the growth slope per replicate), the table note naming
the packing algorithm, and the config's cross-key checks. Fast: no model."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from paperdag.core.config import PaperConfig
from paperdag.core.errors import PaperdagError
from paperdag.papers.prepacking import aggregate, data, plan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cfg():
    return PaperConfig("prepacking", ROOT)


def test_labels_name_real_or_synthetic_and_no_guessed_dataset(cfg):
    for scale in ("smoke", "default"):
        p = cfg.params(scale)
        for name in p["benchmark"]["distributions"]:
            d = p["distributions"][name]
            assert "est" not in name and "MMLU" not in d["label"]
            if d["kind"] in ("lognormal", "constant"):
                assert "synthetic" in d["label"]
            else:
                assert "real" in d["label"]
    p = cfg.params("default")
    assert p["benchmark"]["batches"] >= 5  # the claims' min_n
    assert all(p["distributions"][d]["kind"] == "text" for d in p["benchmark"]["distributions"])
    timing_claims = [c for c in cfg.claims if c["metric"].startswith("timing_") and "default" in c.get("scales", [])]
    assert timing_claims and all(c.get("min_n", 1) >= 5 for c in timing_claims)


def test_pydocs_source_is_real_text_and_sampling_is_deterministic():
    pool = data.text_pool("pydocs")
    assert len(pool) > 1000 and all(len(t.split()) > 1 for t in pool)
    dist = {"kind": "text", "source": "pydocs", "max_len": 40, "unit": "words"}
    a, ia = data.text_prompts(dist, 16, np.random.default_rng(3), vocab_size=512, low=3)
    b, ib = data.text_prompts(dist, 16, np.random.default_rng(3), vocab_size=512, low=3)
    assert a == b and ia == ib and len(set(ia)) == 16  # without replacement within a batch
    assert [len(x) for x in a] == [min(40, len(pool[i].split())) for i in ia]
    assert all(3 <= t < 512 for x in a for t in x)
    with pytest.raises(PaperdagError, match="tokenizer"):
        data.text_prompts({**dist, "unit": "tokens"}, 4, np.random.default_rng(0))


def test_tokens_unit_uses_the_texts_own_token_ids():
    class Tok:  # a whitespace "tokenizer": one id per word
        def __call__(self, text, add_special_tokens=True, truncation=True, max_length=None):
            ids = [len(w) for w in text.split()]
            return {"input_ids": ids[:max_length] if truncation else ids}

    dist = {"kind": "text", "source": "pydocs", "max_len": 8}
    prompts, idx = data.text_prompts(dist, 5, np.random.default_rng(0), Tok())
    pool = data.text_pool("pydocs")
    assert prompts == [[len(w) for w in pool[i].split()][:8] for i in idx]


@pytest.mark.skipif(not Path(data.GCIDE[0]).exists(), reason="Debian package dict-gcide not installed")
def test_gcide_source_reads_dictionary_entries():
    pool = data.text_pool("gcide")
    assert len(pool) > 100_000
    lengths = np.array([len(t.split()) for t in pool[:5000]])
    assert np.median(lengths) < np.percentile(lengths, 95) / 3  # a long tail


def test_every_batch_is_a_fresh_sample(cfg):
    p = cfg.params("default")
    batches = data.plan_batches(p)
    n_cells = len(p["benchmark"]["distributions"]) * len(p["benchmark"]["batch_sizes"])
    assert len(batches) == n_cells * p["benchmark"]["batches"]
    assert len({b["seed"] for b in batches}) == len(batches)


def test_growth_slope_hand_computed():
    assert aggregate.growth_slope({1: 1.0, 4: 1.0, 8: 2.0, 16: 4.0}) == pytest.approx(1.0)  # batch size 1 ignored
    assert aggregate.growth_slope({4: 2.0, 8: 2.0, 16: 2.0}) == pytest.approx(0.0)
    assert aggregate.growth_slope({4: 2.0, 16: 1.0}) == pytest.approx(-0.5)
    assert aggregate.growth_slope({1: 1.0, 16: 3.0}) is None  # one batch size >= 2: no slope


def _fake_inputs(p, speed):
    """A plan and a benchmark with `speed(bs, j)` as padded / prepacked time of batch j."""
    rng = np.random.default_rng(0)
    batches, results = [], []
    for d in p["benchmark"]["distributions"]:
        for bs in p["benchmark"]["batch_sizes"]:
            for j in range(p["benchmark"]["batches"]):
                lengths = [int(x) for x in rng.integers(1, 50, size=bs)]
                batches.append({"dist": d, "bs": bs, "batch": j, "lengths": lengths})
                t = {"prefill_cpu": 1.0, "prefill_wall": 1.0, "ttft_cpu": 1.0, "ttft_wall": 1.0, "peak_mem_mb": 1.0, "peak_mem_ttft_mb": 1.0}
                results.append({"dist": d, "bs": bs, "batch": j, "padded": {k: v * speed(bs, j) for k, v in t.items()},
                                "prepacked": dict(t)})
    corr = {"batches": [{"packed_vs_single_max_abs": 1e-6, "padded_vs_single_max_abs": 1e-6, "argmax_agree": 4,
                         "generations_identical": 4, "prompts": 4}], "max_new_tokens": 4}
    bench = {"device": "CPU", "random_weights": False, "dtype": "float32", "results": results}
    return {"batches": batches, "sources": {}}, {}, corr, bench


def test_claims_count_independent_batches_and_growth_has_an_interval(cfg):
    p = cfg.params("default")
    k = p["benchmark"]["batches"]
    speed = lambda bs, j: bs ** (0.3 + 0.01 * j)  # noqa: E731  slope 0.3 + 0.01 j per replicate
    m, tables = aggregate.build_metrics(p, *_fake_inputs(p, speed))
    ci = m["claims_inputs"]
    assert ci["timing_speedup_prefill"]["n"] == k
    assert ci["timing_speedup_prefill"]["mean"] == pytest.approx(np.mean([16 ** (0.3 + 0.01 * j) for j in range(k)]))
    g = ci["timing_speedup_growth"]
    assert g["n"] == k and g["std"] > 0
    assert g["mean"] == pytest.approx(np.mean([0.3 + 0.01 * j for j in range(k)]))
    assert ci["timing_fraction_of_bound"]["n"] == k


def test_table_note_names_the_packing_algorithm(cfg, tmp_path, monkeypatch):
    import json

    p = cfg.params("default")
    for algo, words in (("binpacking", "binpacking library"), ("ffd", "first-fit decreasing")):
        q = copy.deepcopy(p)
        q["benchmark"]["algo"] = algo
        plan_, packing, corr, bench = _fake_inputs(q, lambda bs, j: 1.5)
        files = {}
        for name, obj in (("plan", plan_), ("packing", packing), ("correctness", corr)):
            files[name] = str(tmp_path / f"{name}.json")
            Path(files[name]).write_text(json.dumps(obj))
        files["bench"] = []
        for d in q["benchmark"]["distributions"]:
            f = tmp_path / f"bench-{d}.json"
            f.write_text(json.dumps({**bench, "dist": d, "results": [r for r in bench["results"] if r["dist"] == d]}))
            files["bench"].append(str(f))
        res = aggregate.aggregate(files, q)
        note = res.tables["speedup"].note
        assert words in note and f"benchmark.algo = {algo}" in note
        assert f"benchmark.algo = {algo}" in res.tables["packing"].note
        assert res.metrics["algo"] == algo
        assert len(res.timing["timing"]["rows"]) == len(q["benchmark"]["distributions"]) * len(q["benchmark"]["batch_sizes"])


def test_cross_key_checks_name_file_and_key(cfg):
    p = cfg.params("smoke")
    bad = copy.deepcopy(p)
    bad["distributions"]["pydocs"]["unit"] = "tokens"  # a random model has no tokenizer
    with pytest.raises(PaperdagError, match=r"prepacking.yaml.*distributions.pydocs"):
        plan.check(bad, "config/papers/prepacking.yaml")
    bad = copy.deepcopy(p)
    bad["benchmark"]["batch_sizes"] = [1, 8]
    with pytest.raises(PaperdagError, match="batch_sizes"):
        plan.check(bad, "config/papers/prepacking.yaml")
    bad = copy.deepcopy(p)
    bad["benchmark"]["claim_distribution"] = "gcide"
    with pytest.raises(PaperdagError, match="claim_distribution"):
        plan.check(bad, "config/papers/prepacking.yaml")
    assert plan.bench_files("smoke", p) == [f"results/smoke/prepacking/bench/prefill-{d}.json" for d in p["benchmark"]["distributions"]]

"""dataset_decomposition: the decomposition conserves every token and never mixes documents;
every batch holds the fixed token count; the curriculum draws buckets with the odds of its
definition; document masking equals running documents alone; training resumes bit-identically;
the paper-scale loaders work on local stand-ins; and an end-to-end smoke run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from paperdag.papers.dataset_decomposition import curriculum as cur
from paperdag.papers.dataset_decomposition.decompose import (
    avg_context_length,
    concat_and_chunk,
    decompose,
    decompose_doc,
    document_mask,
)


def toy_corpus(n_docs=300, seed=0, max_len=3000, vocab=50):
    rng = np.random.default_rng(seed)
    lens = np.clip(rng.lognormal(4.0, 1.2, n_docs).astype(int), 1, max_len)
    lens[:3] = [max_len, 1, 2 ** 7]  # a long one, a tiny one, an exact power of two
    tokens = rng.integers(1, vocab, lens.sum()).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lens)])
    tokens[offsets[1:] - 1] = 0  # EOT ends every document
    return tokens, offsets


@pytest.mark.parametrize("piece,extra", [("pow2_plus_1", 1), ("pow2", 0)])
def test_decomposition_conserves_tokens_and_never_mixes_documents(piece, extra):
    tokens, offsets = toy_corpus()
    i_min, i_max = 3, 7
    docs = np.arange(len(offsets) - 1)
    out = decompose(tokens, offsets, docs, i_min, i_max, seed=1, piece=piece)
    pieces = {}
    for i, b in out["buckets"].items():
        n = 2**i + extra
        assert b["tokens"].shape[1] == n and i_min <= i <= i_max
        for row, d, s in zip(b["tokens"], b["doc"], b["start"]):
            # every sequence is one contiguous span of one document
            assert s >= 0 and s + n <= offsets[d + 1] - offsets[d]
            assert np.array_equal(row, tokens[offsets[d] + s : offsets[d] + s + n])
            pieces.setdefault(int(d), []).append((int(s), n))
    total_kept = sum(b["tokens"].size for b in out["buckets"].values())
    assert total_kept + out["dropped"].sum() == len(tokens)  # every token kept or counted as dropped
    for j, d in enumerate(docs):
        length = offsets[d + 1] - offsets[d]
        ps = sorted(pieces.get(int(d), []))
        pos = 0
        for s, n in ps:  # contiguous, non-overlapping, from the start of the document
            assert s == pos
            pos += n
        assert pos + out["dropped"][j] == length
        assert out["dropped"][j] < 2**i_min + extra
        if extra == 0 and length < 2 ** (i_max + 1):  # no roll-over: exactly the binary expansion of l, largest first
            want = [2**k for k in range(i_max, i_min - 1, -1) if length & (1 << k)]
            assert [n for _, n in ps] == want


def test_rollover_spreads_long_documents_evenly_over_buckets():
    rng = np.random.default_rng(0)
    counts = np.zeros(5)
    for _ in range(100):
        pieces, _ = decompose_doc(20_000, 4, 8, rng)
        for _, k in pieces:
            counts[k - 4] += 2**k
    share = counts / counts.sum()
    assert np.allclose(share, 0.2, atol=0.03), share


def test_document_mask_is_causal_and_per_document():
    doc = np.array([[0, 0, 1, 1, 1, 2]])
    m = document_mask(doc)[0, 0]
    assert m.shape == (6, 6)
    assert not m[np.triu_indices(6, 1)].any()  # causal
    assert m[3, 2] and m[4, 2] and not m[2, 1] and not m[5, 4] and m[5, 5]


def test_concat_and_chunk_keeps_document_order_and_ids():
    tokens, offsets = toy_corpus(50)
    chunks, which = concat_and_chunk(tokens, offsets, np.arange(50), 64, seed=3)
    stream = chunks.ravel()
    order = list(dict.fromkeys(which.ravel().tolist()))
    expect = np.concatenate([tokens[offsets[d] : offsets[d + 1]] for d in order])[: len(stream)]
    assert np.array_equal(stream, expect)


def test_average_context_length_matches_appendix_f():
    assert avg_context_length([4]) == pytest.approx(1.5)
    assert avg_context_length([2, 4]) == pytest.approx((1 + 6) / 6)


def test_mixture_and_cycles_counts():
    assert cur.mixture_tokens(4096 * 100, [10, 10, 10], "equal", 4096) == [34, 33, 33]
    n = cur.mixture_tokens(4096 * 100, [100, 300, 600], "natural", 4096)
    assert n == [10, 30, 60]
    assert cur.split_cycles(17, 8) == [3, 2, 2, 2, 2, 2, 2, 2]
    sched = cur.schedule([17, 9, 4], cur.odds("grow_p2", 3), 8, seed=0)
    assert [sched.count(i) for i in range(3)] == [17, 9, 4]
    # each cycle holds exactly its share of every bucket's batches
    pos = 0
    for j in range(8):
        n_j = sum(cur.split_cycles(n, 8)[j] for n in (17, 9, 4))
        part = sched[pos : pos + n_j]
        assert [part.count(i) for i in range(3)] == [cur.split_cycles(n, 8)[j] for n in (17, 9, 4)]
        pos += n_j


@pytest.mark.parametrize("name", ["uniform", "grow_linear", "grow_p2"])
def test_curriculum_odds_match_definition(name):
    o = cur.odds(name, 6)
    expect = {"uniform": [1] * 6, "grow_linear": [6, 5, 4, 3, 2, 1], "grow_p2": [32, 16, 8, 4, 2, 1]}[name]
    assert o.tolist() == expect
    # first draw of a cycle: P(bucket i) = o_i / sum(o), estimated over many seeds
    n = 4000
    first = np.bincount([cur.schedule([1] * 6, o, 1, seed=s)[0] for s in range(n)], minlength=6) / n
    p = o / o.sum()
    assert np.all(np.abs(first - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-9), (first, p)
    # an exhausted bucket has odds 0: with bucket 0 empty the first draw follows the others' odds
    first = np.bincount([cur.schedule([0, 1, 1, 1, 1, 1], o, 1, seed=s)[0] for s in range(n)], minlength=6) / n
    q = np.r_[0, o[1:]] / o[1:].sum()
    assert first[0] == 0 and np.all(np.abs(first - q) <= 4 * np.sqrt(q * (1 - q) / n) + 1e-9)


def test_conditional_odds_after_exhaustion():
    # buckets with 1 batch each: after the first draw, the second follows the odds of the rest
    o = cur.odds("grow_p2", 3)
    n = 4000
    pairs = [tuple(cur.schedule([1, 1, 1], o, 1, seed=s)[:2]) for s in range(n)]
    after0 = [b for a, b in pairs if a == 0]
    frac = np.mean(np.array(after0) == 1)
    assert abs(frac - o[1] / (o[1] + o[2])) < 4 * math.sqrt(0.25 / len(after0))


def small_params(kind_methods=None):
    return {
        "decompose": {"i_min": 3, "i_max": 6, "seed": 0},
        "mixture": "equal",
        "model": {"d_model": 16, "ffn": 32, "layers": 1, "heads": 2, "rope_theta": 10000.0, "tie_embeddings": False},
        "train": {"seed": 0, "data_seed": 0, "tokens_per_step": 256, "total_tokens": 256 * 12, "lr": 3e-3, "lr_min": 3e-5,
                  "warmup_frac": 0.1, "beta1": 0.9, "beta2": 0.95, "weight_decay": 0.0, "grad_clip": 1.0, "eval_every": 4,
                  "eval_batch_tokens": 512, "long_pos": 16, "device": "cpu"},
    }


def toy_setup(piece="pow2_plus_1"):
    tokens, offsets = toy_corpus(400, max_len=600)
    lens = np.diff(offsets)
    long = np.flatnonzero(lens >= 64)[:3]
    val = np.setdiff1d(np.arange(5, 15), long)
    train = np.setdiff1d(np.arange(len(lens)), np.r_[val, long])
    corpus = {"tokens": tokens, "offsets": offsets, "train": train, "val": val, "val_long": long, "vocab_size": 50}
    out = decompose(tokens, offsets, train, 3, 6, 0, piece)
    return corpus, out["buckets"]


@pytest.mark.parametrize("piece,extra", [("pow2_plus_1", 1), ("pow2", 0)])
@pytest.mark.parametrize("method", [{"kind": "cc"}, {"kind": "cc_dm"}, {"kind": "dd", "curriculum": "grow_p2", "cycles": 2}])
def test_every_batch_holds_the_fixed_token_count(method, piece, extra):
    from paperdag.papers.dataset_decomposition.train import n_tokens, plan_batches

    corpus, buckets = toy_setup(piece)
    p = small_params()
    p["decompose"]["piece_tokens"] = piece
    batches = plan_batches(method, p, corpus, buckets)
    assert len(batches) == 12
    for b in batches:
        assert n_tokens(b) == 256  # b / 2^i sequences of length 2^i
        assert b["tokens"].shape == (256 // b["L"], b["L"] + extra)  # + 1: the last token is only a target
        if method["kind"] == "dd":  # one bucket per step, one document per sequence
            valid = {tuple(r) for r in buckets[int(np.log2(b["L"]))]["tokens"].tolist()}
            assert all(tuple(r) in valid for r in b["tokens"].tolist())
        if method["kind"] == "cc_dm":
            assert b["doc"].shape == b["tokens"].shape
    if method["kind"] == "dd":
        per = [sum(b["L"] == 2**i for b in batches) for i in range(3, 7)]
        assert per == cur.mixture_tokens(256 * 12, [1] * 4, "equal", 256)


def test_plan_rejects_buckets_cut_with_the_other_convention():
    from paperdag.core.errors import PaperdagError
    from paperdag.papers.dataset_decomposition.train import plan_batches

    corpus, buckets = toy_setup("pow2")
    p = small_params()
    p["decompose"]["piece_tokens"] = "pow2_plus_1"
    with pytest.raises(PaperdagError, match="piece_tokens"):
        plan_batches({"kind": "cc"}, p, corpus, buckets)


def test_plus_one_pieces_train_on_2k_inputs_with_the_same_losses():
    """A piece of 2^k + 1 tokens: the model sees 2^k inputs (fits max_position_embeddings = L_max)
    and the loss equals feeding all tokens and dropping the last prediction."""
    import torch

    from paperdag.papers.dataset_decomposition.model import build_model
    from paperdag.papers.dataset_decomposition.train import batch_loss

    model = build_model(small_params()["model"], 50, 16, 0).eval()
    x = np.random.default_rng(0).integers(0, 50, size=(3, 17))
    seen = []
    h = model.model.register_forward_pre_hook(lambda mod, args, kw: seen.append(kw["input_ids"].shape[1]), with_kwargs=True)
    with torch.no_grad():
        a = batch_loss(model, x, None, drop_last_input=True)
        b = batch_loss(model, x, None)
    h.remove()
    assert seen == [16, 17]
    assert torch.allclose(a, b, atol=1e-5)


def test_document_masking_equals_documents_alone():
    import torch

    from paperdag.papers.dataset_decomposition.model import build_model

    torch.manual_seed(0)
    model = build_model(small_params()["model"], 50, 64, 0).eval()
    a = np.arange(1, 11)
    b = np.arange(20, 34)
    x = torch.tensor(np.r_[a, b])[None]
    doc = np.r_[np.zeros(10, int), np.ones(14, int)][None]
    with torch.no_grad():
        masked = model(input_ids=x, attention_mask=torch.from_numpy(document_mask(doc))).logits[0, 10:]
        alone = model(input_ids=torch.tensor(b)[None]).logits[0]
        plain = model(input_ids=x).logits[0, 10:]
    assert torch.allclose(masked, alone, atol=1e-4)  # RoPE is relative: masking == a fresh document
    assert not torch.allclose(plain, alone, atol=1e-3)  # without the mask the previous document leaks in


def test_training_resumes_bit_identically(tmp_path, monkeypatch):
    import logging

    import torch

    from paperdag.papers.dataset_decomposition import train as T

    corpus, buckets = toy_setup()
    p = small_params()
    method = {"kind": "dd", "curriculum": "grow_p2", "cycles": 2}
    log = logging.getLogger("test")
    ref_model, ref, _, _ = T.train_method("m", method, p, corpus, buckets, tmp_path / "a", log)

    real = T.batch_loss
    calls = {"n": 0}

    def crash(*a, **k):
        calls["n"] += 1
        if calls["n"] == 7:  # after the checkpoint at step 4
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(T, "batch_loss", crash)
    with pytest.raises(KeyboardInterrupt):
        T.train_method("m", method, p, corpus, buckets, tmp_path / "b", log)
    assert (tmp_path / "b" / "m.safetensors").exists()
    monkeypatch.setattr(T, "batch_loss", real)
    model, got, _, _ = T.train_method("m", method, p, corpus, buckets, tmp_path / "b", log)
    assert got["curve"] == ref["curve"]
    for (k, v), (_, w) in zip(ref_model.state_dict().items(), model.state_dict().items()):
        assert torch.equal(v, w), k


def test_run_list_and_seeded_configs():
    """One job per (method, seed): `seeds` runs of the main comparison, `ablation_seeds` of the
    rest; run s offsets the model and data seeds by s; bad cross-key configs name the key."""
    from paperdag.core.errors import PaperdagError
    from paperdag.papers.dataset_decomposition import plan

    p = {"run_methods": ["cc", "cc_dm", "dd_a", "dd_main"], "baseline": "cc", "dm_baseline": "cc_dm", "main_dd": "dd_main",
         "seeds": 3, "ablation_seeds": 1, "train": {"seed": 10, "data_seed": 20},
         "methods": {"cc": {"kind": "cc"}, "cc_dm": {"kind": "cc_dm"}, "dd_a": {"kind": "dd"}, "dd_main": {"kind": "dd"}},
         "ablation": {"uniform": "dd_a", "grow_p2_1": "dd_a", "grow_p2_8": "dd_main"}}
    assert plan.runs(p) == [("cc", 0), ("cc", 1), ("cc", 2), ("cc_dm", 0), ("cc_dm", 1), ("cc_dm", 2), ("dd_a", 0), ("dd_main", 0), ("dd_main", 1), ("dd_main", 2)]
    q = plan.seeded(p, 2)
    assert (q["train"]["seed"], q["train"]["data_seed"]) == (12, 22) and p["train"]["seed"] == 10
    plan.check(p, "cfg")
    with pytest.raises(PaperdagError, match="main_dd"):
        plan.check({**p, "main_dd": "cc_dm"}, "cfg")
    with pytest.raises(PaperdagError, match="ablation_seeds"):
        plan.check({**p, "ablation_seeds": 4}, "cfg")


def test_to_target_interpolates():
    from paperdag.papers.dataset_decomposition.aggregate import to_target

    curve = [{"tokens": 0, "val_loss": 5.0}, {"tokens": 100, "val_loss": 4.0}, {"tokens": 200, "val_loss": 3.0}]
    assert to_target(curve, "val_loss", 3.5, "tokens") == pytest.approx(150)
    assert to_target(curve, "val_loss", 2.0, "tokens") is None


def test_paper_scale_loaders_on_local_stand_ins(tmp_path):
    """The hub path (datasets + a pretrained tokenizer) run on a save_to_disk folder and a local
    tokenizer folder; the paper's 1B model config built on the meta device."""
    import datasets
    import torch
    from transformers import PreTrainedTokenizerFast

    from paperdag.core.stage import run_job
    from paperdag.papers.dataset_decomposition.corpus import EOT, train_bpe
    from paperdag.papers.dataset_decomposition.model import build_model, n_params

    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "light", "night", "word", "the", "of", "and"]
    texts = [" ".join(rng.choice(words, rng.integers(3, 400))) for _ in range(120)]
    datasets.Dataset.from_dict({"content": texts}).save_to_disk(str(tmp_path / "ds"))
    tok = PreTrainedTokenizerFast(tokenizer_object=train_bpe(texts, 300), eos_token=EOT)
    tok.save_pretrained(str(tmp_path / "tok"))
    from paperdag.core.config import PaperConfig

    root = Path(__file__).resolve().parents[1]
    paper = PaperConfig("dataset_decomposition", root).params("paper")
    d = dict(paper["data"])
    d["hf"] = {**d["hf"], "disk_path": str(tmp_path / "ds")}
    d["tokenizer"] = {"kind": "pretrained", "name": str(tmp_path / "tok"), "vocab_size": 300}
    d.update(max_docs=100, val_docs=5, val_long_docs=2, long_min_tokens=100)
    io = {"input": {}, "output": {"corpus": str(tmp_path / "c.npz"), "tokenizer": str(tmp_path / "t.json")}, "wildcards": {"scale": "paper"}}
    assert run_job("dataset_decomposition.fetch", io, {"data": d}) == 0
    z = np.load(tmp_path / "c.npz")
    assert len(z["offsets"]) == 101 and int(z["vocab_size"]) == tok.vocab_size
    assert (z["tokens"][z["offsets"][1:] - 1] == int(z["eot"])).all()
    with torch.device("meta"):
        m = build_model(paper["model"], 50432, 1 << paper["decompose"]["i_max"], 0)
    assert 1.0e9 < n_params(m) < 1.8e9
    assert m.config.rope_parameters["rope_theta"] == 100000


GCIDE = Path("/usr/share/dictd/gcide.dict.dz")


@pytest.mark.e2e
@pytest.mark.skipif(not GCIDE.exists(), reason="needs the Debian package dict-gcide (apt-get install -y dict-gcide)")
def test_smoke_pipeline_end_to_end(repo):
    from conftest import snakemake

    targets = [f"results/smoke/dataset_decomposition/{f}" for f in ("claims.json", "figures/cost_model.png", "figures/loss_vs_seconds.png")]
    snakemake(repo, *targets, timeout=900)
    out = repo / "results/smoke/dataset_decomposition"
    m = json.loads((out / "metrics.json").read_text())
    assert m["corpus"]["conserved"] is True
    assert set(m["methods"]) == {"cc", "cc_dm", "dd_uniform_1", "dd_grow_p2_1", "dd_grow_p2_8"}
    # one job per (method, seed): the main comparison over `seeds` runs, the ablation over one
    assert {k: v["seeds"] for k, v in m["methods"].items()} == {"cc": [0, 1], "cc_dm": [0, 1], "dd_grow_p2_8": [0, 1], "dd_uniform_1": [0], "dd_grow_p2_1": [0]}
    tokens = {v["total_tokens"] for v in m["methods"].values()}
    assert len(tokens) == 1  # every method saw the same number of tokens
    assert "train_seconds" not in (out / "metrics.json").read_text()
    # the two seeds are different runs (init and data), the claims' n counts them
    ps = m["methods"]["cc"]["per_seed"]
    assert ps["0"]["final_val_loss"] != ps["1"]["final_val_loss"]
    assert m["claims_inputs"]["final_val_loss_gain"]["n"] == 2 and m["claims_inputs"]["cycles_val_loss_gain"]["n"] == 1
    bench = json.loads((out / "timing.json").read_text())
    assert bench["methods"]["cc"]["train_seconds"] > 0
    claims = json.loads((out / "claims.json").read_text())
    assert claims
    # metrics.json is byte-identical when a DD run and a document-masked run are retrained
    first = (out / "metrics.json").read_bytes()
    rerun = [f"results/smoke/dataset_decomposition/runs/{m}/seed1.json" for m in ("dd_grow_p2_8", "cc_dm")]
    snakemake(repo, "--forcerun", *rerun, "--", *targets, timeout=900)
    assert (out / "metrics.json").read_bytes() == first

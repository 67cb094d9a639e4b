"""Core pieces: config merge/validation, claims verdicts, atomic IO, safetensors checkpoints,
and bit-identical resume of training."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import yaml

from paperdag.core.claims import evaluate_claims
from paperdag.core.config import PaperConfig, deep_merge, load_main_config
from paperdag.core.errors import PaperdagError
from paperdag.core.io import load_tensors, read_json, save_tensors, write_json
from paperdag.core.resume import Resumer

from conftest import ROOT, copy_repo


def test_deep_merge_overrides_leaves_only():
    base = {"a": 1, "b": {"c": 2, "d": 3}}
    assert deep_merge(base, {"b": {"d": 9}}) == {"a": 1, "b": {"c": 2, "d": 9}}
    assert base == {"a": 1, "b": {"c": 2, "d": 3}}


def test_every_paper_config_validates_at_every_scale():
    from paperdag.core.config import SCALES, available_papers

    for slug in available_papers(ROOT):
        cfg = PaperConfig(slug, ROOT)
        for s in SCALES:
            assert isinstance(cfg.params(s), dict)


def _bad_config(tmp_path, edit):
    root = copy_repo(tmp_path / "r")
    path = root / "config" / "papers" / "catn.yaml"
    raw = yaml.safe_load(path.read_text())
    edit(raw)
    path.write_text(yaml.safe_dump(raw))
    return root


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda r: r["scales"]["smoke"]["train"].__setitem__("epochs", "many"), "train.epochs"),
        (lambda r: r["scales"]["smoke"]["train"].__setitem__("lr", -0.1), "train.lr"),
        (lambda r: r["base"].__setitem__("learning_rate", 0.1), "learning_rate"),
        (lambda r: r["base"]["probe"].__setitem__("Cs", []), "probe.Cs"),
        (lambda r: r["scales"].__setitem__("huge", {}), "huge"),
    ],
)
def test_bad_paper_config_names_file_and_key(tmp_path, edit, key):
    root = _bad_config(tmp_path, edit)
    with pytest.raises(PaperdagError) as e:
        PaperConfig("catn", root)
    msg = str(e.value)
    assert "config/papers/catn.yaml" in msg
    assert key.split(".")[-1] in msg


def test_papers_all_is_every_paper_config():
    """`papers: all` (config/config.yaml's default) plans every config/papers/<slug>.yaml, so plain
    `snakemake` builds all papers and a new one cannot be forgotten (issue 27)."""
    every = sorted(p.stem for p in (ROOT / "config" / "papers").glob("*.yaml"))
    assert len(every) >= 13
    assert load_main_config({"scale": "smoke", "papers": "all"}, ROOT)["papers"] == every
    assert load_main_config({"scale": "smoke", "papers": ["all"]}, ROOT)["papers"] == every
    assert load_main_config({"scale": "smoke", "papers": "catn,pleas"}, ROOT)["papers"] == ["catn", "pleas"]
    shipped = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert load_main_config(shipped, ROOT)["papers"] == every
    # and every paper has its rule graph in the docs (docs/rulegraphs/make.sh draws them)
    assert sorted(p.stem for p in (ROOT / "docs" / "rulegraphs").glob("*.png")) == every


def test_unknown_paper_and_scale():
    with pytest.raises(PaperdagError, match="unknown paper 'nope'"):
        PaperConfig("nope", ROOT)
    with pytest.raises(PaperdagError, match="key scale: 'huge' is not one of"):
        load_main_config({"scale": "huge", "papers": ["catn"]}, ROOT)
    with pytest.raises(PaperdagError, match="key papers: unknown paper 'nope'"):
        load_main_config({"scale": "smoke", "papers": ["nope"]}, ROOT)
    with pytest.raises(PaperdagError, match="frobnicate"):
        load_main_config({"scale": "smoke", "papers": ["catn"], "frobnicate": 1}, ROOT)


def _claim(**kw):
    c = {"id": "c", "text": "t", "metric": "m", "paper_value": 5.0, "check": "at_least", "threshold": 1.0}
    c.update(kw)
    return c


def test_claim_verdicts():
    # the full rule (intervals, kinds, premises, magnitude, the null-effect rate) is in test_claims.py
    m = lambda mean, std, n: {"claims_inputs": {"m": {"mean": mean, "std": std, "n": n}}}  # noqa: E731
    v = lambda c, met, scale="default": evaluate_claims([c], met, scale)[0]["verdict"]  # noqa: E731
    assert v(_claim(), m(3.0, 0.5, 4)) == "reproduced"
    assert v(_claim(), m(0.5, 0.1, 4)) == "not reproduced"
    # mean passes but the one-sided 95 % t-bound does not: the seeds disagree
    assert v(_claim(), m(1.5, 2.0, 4)) == "inconclusive"
    assert v(_claim(metric="absent"), m(3.0, 0.0, 1)) == "not measured"
    assert v(_claim(scales=["paper"]), m(3.0, 0.0, 1)) == "not measured"
    assert v(_claim(check="within", tolerance=1.0), m(5.5, 0.1, 3)) == "reproduced"
    assert v(_claim(check="within", tolerance=1.0), m(7.0, 0.0, 1)) == "inconclusive"  # n = 1: no interval
    assert v(_claim(check="within", tolerance=1.0), m(7.0, 0.1, 3)) == "not reproduced"
    assert v(_claim(check="at_most", threshold=0.0, paper_value=-1.0), m(-1.0, 0.1, 3)) == "reproduced"
    assert v(_claim(check="same_sign", paper_value=-2.0), m(-0.3, 0.01, 3)) == "reproduced, weaker"
    assert v(_claim(), {"m": 2.0}) == "inconclusive"  # plain top-level number: one measurement
    # a training outcome measured on one seed cannot confirm a claim that needs several
    assert v(_claim(min_n=2), m(3.0, 0.0, 1)) == "inconclusive"
    assert v(_claim(min_n=2), m(0.5, 0.0, 1)) == "inconclusive"  # too few runs: no verdict either way
    assert v(_claim(min_n=2), m(3.0, 0.5, 3)) == "reproduced"


def test_write_json_is_stable_and_rounds(tmp_path):
    p = tmp_path / "m.json"
    write_json(p, {"b": 1 / 3, "a": [math.pi, float("nan")]})
    assert p.read_text() == '{\n  "a": [\n    3.141593,\n    null\n  ],\n  "b": 0.333333\n}\n'
    assert read_json(p)["b"] == 0.333333


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    p = tmp_path / "m.safetensors"
    save_tensors(p, {"w": torch.ones(3)}, {"step": 1})
    t, meta = load_tensors(p, with_metadata=True)
    assert meta == {"step": 1} and torch.equal(t["w"], torch.ones(3))
    p.write_bytes(p.read_bytes()[:20])
    with pytest.raises(PaperdagError, match="m.safetensors: corrupt or unreadable"):
        load_tensors(p)
    with pytest.raises(PaperdagError, match="checkpoint not found"):
        load_tensors(tmp_path / "missing.safetensors")
    bad = tmp_path / "j.json"
    bad.write_text("{not json")
    with pytest.raises(PaperdagError, match="j.json: not valid JSON"):
        read_json(bad)


def _train(epochs, resumer=None, stop_after=None):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    start = resumer.restore(model, opt) if resumer else 0
    for e in range(start, epochs):
        g = torch.Generator().manual_seed(e)
        idx = torch.randperm(32, generator=g)[:16]
        noise = torch.randn(16, 1) * 0.01  # uses the global RNG, whose state is checkpointed
        loss = ((model(x[idx]) - y[idx] - noise) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if resumer:
            resumer.save(e + 1, model, opt)
        if stop_after is not None and e + 1 == stop_after:
            return None
    return copy.deepcopy(model.state_dict())


def test_resume_is_bit_identical(tmp_path):
    straight = _train(10)
    r = Resumer(tmp_path, "run")
    assert _train(10, r, stop_after=4) is None  # "killed" after epoch 4
    resumed = _train(10, Resumer(tmp_path, "run"))
    for k in straight:
        assert torch.equal(straight[k], resumed[k]), k


def test_a_job_gets_only_the_config_sections_it_declares():
    """JOB(stage, *sections) and the declared METRICS_CONFIG / FIGURES_CONFIG: an empty list of
    sections means the job reads no config (the scaffold's evaluate, metrics and figures), not the
    whole config, which would rerun it on every edit of any key."""
    import json
    from types import SimpleNamespace

    from paperdag.core.workflow import Helpers

    cfg = SimpleNamespace(params=lambda scale: {"seed": 0, "train": {"lr": 0.1}, "data": {"n": 3}})
    h = Helpers(ROOT, {"toy": cfg})
    w = SimpleNamespace(scale="smoke")
    assert json.loads(h.P("toy", "train")(w)) == {"train": {"lr": 0.1}}
    assert json.loads(h.P("toy")(w)) == {}
    assert json.loads(h.JOB("toy.evaluate")["cfg"](w)) == {}


def test_left_pad_puts_every_prompt_against_the_right_edge():
    from paperdag.core.padding import left_pad

    ids, att = left_pad([[5, 6, 7], [8], []], pad=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8], [0, 0, 0]]
    assert att.tolist() == [[1, 1, 1], [0, 0, 1], [0, 0, 0]]

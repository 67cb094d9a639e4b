"""catn: the data splits, the representations (CATn is the concatenation of its members),
the probe's model selection, and the paper-scale path (Hugging Face datasets + a transformers
ResNet) on a tiny local stand-in."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paperdag.core.config import PaperConfig
from paperdag.core.stage import run_job
from paperdag.papers.catn import plan
from paperdag.papers.catn.data import make_digits, shift_images
from paperdag.papers.catn.models import build, parse_spec, spec_name
from paperdag.papers.catn.probe import probe

from conftest import ROOT, snakemake


@pytest.fixture(scope="module")
def smoke_params():
    return PaperConfig("catn", ROOT).params("smoke")


def test_digits_splits_are_disjoint_and_labelled(smoke_params):
    d = make_digits(smoke_params["data"])
    assert set(np.unique(d["source_train_y"])) == set(range(5))
    assert set(np.unique(d["task_train_y"])) == set(range(5))  # classes 5..9 relabelled 0..4
    assert set(np.unique(d["dist_test_y"])) == set(range(10))
    # no image appears in two splits of the same target
    for t in ("source", "task", "dist"):
        rows = [set(map(bytes, d[f"{t}_{p}_x"].astype(np.float32))) for p in ("train", "val", "test")]
        assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2]), t
    # the task-shift images are never from a source class: none equals a source training image
    assert not set(map(bytes, d["task_test_x"])) & set(map(bytes, d["source_train_x"]))


def test_shift_translates_by_one_pixel():
    x = np.zeros((1, 64), np.float32)
    x[0, 3 * 8 + 3] = 1.0
    out = shift_images(x, 8, translate=1, noise=0.0, rng=np.random.default_rng(0)).reshape(8, 8)
    (r,), (c,) = np.nonzero(out)
    assert abs(r - 3) + abs(c - 3) == 1


def test_spec_names_round_trip_and_plan_is_consistent(smoke_params):
    for kind, n in (("member", 1), ("wide", 5), ("joint", 10)):
        name = spec_name(kind, n, 0.0005, 1003)
        assert parse_spec(name) == {"kind": kind, "n": n, "wd": 0.0005, "seed": 1003}
    groups = plan.set_models(smoke_params, 1)
    assert len(groups["members"]) == max(smoke_params["cat_ns"])
    # member seeds differ across seed-sets and within a set
    seeds = [parse_spec(m)["seed"] for s in range(3) for m in plan.set_models(smoke_params, s)["members"]]
    assert len(set(seeds)) == len(seeds)
    # Table 1's network at the base weight decay is member 0: not trained twice
    pdef = PaperConfig("catn", ROOT).params("default")
    gdef = plan.set_models(pdef, 1)
    assert gdef["members"][0] in plan.table1_models(pdef, 1) and gdef["members"][0] not in gdef["wd"]


def test_joint_model_has_catn_architecture_and_features_concatenate(smoke_params):
    joint = build(parse_spec("joint3-wd0-s7"), smoke_params, 64, 5)
    member = build(parse_spec("member-wd0-s7"), smoke_params, 64, 5)
    assert len(joint.towers) == 3 and joint.rep_dim == 3 * member.rep_dim
    x = torch.randn(4, 64)
    f = joint.features(x)
    parts = torch.cat([t(x) for t in joint.towers], 1)
    assert torch.equal(f, parts)
    wide = build(parse_spec("wide3-wd0-s7"), smoke_params, 64, 5)
    assert wide.rep_dim == joint.rep_dim and len(wide.towers) == 1


def test_probe_chooses_C_on_validation_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    y = (x[:, 0] > 0).astype(int)
    # test labels are flipped: if the test split took part in choosing C, nothing would change
    # the choice, but the reported accuracy must be the (bad) test accuracy, not the val one
    res = probe(x[:100], y[:100], x[100:200], y[100:200], x[200:], 1 - y[200:], [0.01, 1.0], 200, 0)
    assert res["val_acc"] > 0.9 and res["test_acc"] < 0.1
    assert set(res["val_by_C"]) == {"0.01", "1.0"}


def _fake_hf(tmp_path, n_classes, n, name):
    import datasets
    from PIL import Image

    rng = np.random.default_rng(len(name))
    feats = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(num_classes=n_classes)})

    def split(k):
        imgs, labels = [], []
        for i in range(k):
            c = i % n_classes
            a = (rng.random((8, 8, 3)) * 60 + c * (190 / n_classes)).astype(np.uint8)
            imgs.append(Image.fromarray(a))
            labels.append(c)
        return datasets.Dataset.from_dict({"img": imgs, "label": labels}, features=feats)

    dd = datasets.DatasetDict({"train": split(n), "test": split(n // 2)})
    path = tmp_path / name
    dd.save_to_disk(str(path))
    return str(path)


def test_paper_scale_path_on_a_tiny_local_stand_in(tmp_path):
    """The paper scale's loaders (datasets by id -> here a local save_to_disk folder) and
    transformers ResNet towers, through the real stages, on a tiny stand-in."""
    p = PaperConfig("catn", ROOT).params("paper")
    src = _fake_hf(tmp_path, 3, 48, "src")
    tgt = _fake_hf(tmp_path, 4, 48, "tgt")
    spec = lambda i: {"id": i, "train_split": "train", "test_split": "test", "image_column": "img", "label_column": "label"}  # noqa: E731
    p["data"]["hf"].update(image_size=8, max_train=48, max_test=24, source=spec(src), task_shift=spec(tgt), distribution_shift=spec(src))
    p["model"]["resnet"] = {"image_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1], "embedding_size": 8, "layer_type": "basic"}
    p.update(seed_sets=1, cat_ns=[1, 2], wide_ns=[2], joint_ns=[2], claims_n=2)
    p["train"].update(epochs=2, batch_size=16, checkpoint_every=1)
    p["probe"].update(Cs=[1.0], max_iter=50)
    data = str(tmp_path / "r/data/splits.npz")
    assert run_job("catn.data", {"output": {"data": data}}, p, 1) == 0
    dirs = []
    for g in ("members", "wide", "joint", "wd"):
        out = str(tmp_path / f"r/models/set0/{g}")
        assert run_job("catn.train", {"input": {"data": data}, "output": {"models": out}, "wildcards": {"set": "0", "group": g, "scale": "paper"}}, p, 1) == 0
        dirs.append(out)
    ev = str(tmp_path / "r/evals/set0.json")
    assert run_job("catn.evaluate", {"input": {"data": data, "models": dirs}, "output": {"evals": ev}, "wildcards": {"set": "0"}}, p, 1) == 0
    import json

    res = json.loads(open(ev).read())
    assert {"cat1", "cat2", "wide2", "joint2"} <= set(res["reps"])
    assert 0.0 <= res["reps"]["cat2"]["task"]["test_acc"] <= 1.0


def test_paper_scale_dry_run_asks_for_gpus(repo):
    p = snakemake(repo, "-n", "--config", "scale=paper", "papers=[catn]")
    out = p.stdout + p.stderr
    assert "results/paper/catn/models/set0/members" in out
    assert "gpu=1" in out

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
from paperdag.papers.catn.data import GLYPHS, draw, glyph_array, glyph_images, make_data, make_digits, place, shift_images
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


@pytest.fixture(scope="module")
def glyph_params():
    g = PaperConfig("catn", ROOT).params("default")["data"]["glyphs"]
    return dict(g, n_source=[6, 2, 2], n_target=[4, 2, 2])


def test_glyph_primitives_are_distinct_under_every_translation():
    """No primitive is another one shifted: a detector of one primitive cannot stand in for another."""
    G = glyph_array()
    k = G.shape[1]
    assert G.shape == (len(GLYPHS), k, k) and all(G[i].sum() >= 5 for i in range(len(G)))
    pad = np.zeros((len(G), 3 * k, 3 * k), np.float32)
    pad[:, k : 2 * k, k : 2 * k] = G
    for i in range(len(G)):
        for j in range(len(G)):
            if i == j:
                continue
            for dr in range(-k + 1, k):
                for dc in range(-k + 1, k):
                    assert not np.array_equal(np.roll(pad[j], (dr, dc), (0, 1)), pad[i]), (i, j, dr, dc)


def test_glyph_classes_are_as_constructed(glyph_params):
    """Every image holds exactly its class's primitives, at non-overlapping positions, and is the
    clean drawing plus the pixel noise only."""
    g = glyph_params
    side, k = g["side"], len(GLYPHS[0])
    G = glyph_array()
    for classes in (g["source_classes"], g["task_classes"]):
        x, y, pls = glyph_images(classes, 20, g, np.random.default_rng(3))
        assert x.shape == (20 * len(classes), side * side) and np.bincount(y).tolist() == [20] * len(classes)
        for xi, yi, pl in zip(x, y, pls):
            assert sorted(p[0] for p in pl) == sorted(classes[yi])
            for i, (_, r, c, a) in enumerate(pl):
                assert 0 <= r <= side - k and 0 <= c <= side - k and g["intensity"][0] <= a <= g["intensity"][1]
                for _, r2, c2, _ in pl[:i]:
                    assert abs(r - r2) >= k or abs(c - c2) >= k
            clean = draw(pl, side, G)
            # the strokes of each primitive are where it was placed
            for gid, r, c, a in pl:
                assert np.allclose(clean[r : r + k, c : c + k][G[gid] > 0], a)
            resid = xi.reshape(side, side) - clean
            assert abs(resid.std() - g["noise"]) < 0.02 and abs(resid.mean()) < 0.02
    # the source task: pairs of primitives, each used once; the task shift: single primitives
    src = [p for c in g["source_classes"] for p in c]
    assert all(len(c) == 2 for c in g["source_classes"]) and sorted(src) == list(range(len(GLYPHS)))
    assert sorted(c[0] for c in g["task_classes"]) == list(range(len(GLYPHS)))


def test_glyph_shift_changes_only_the_appearance(glyph_params):
    """The same generator state with and without the distribution shift: the same labels, primitives,
    positions and intensities; the pixels differ by the shift's contrast, clutter and noise alone."""
    g, sh = glyph_params, glyph_params["shift"]
    side = g["side"]
    x0, y0, p0 = glyph_images(g["source_classes"], 30, g, np.random.default_rng(5))
    x1, y1, p1 = glyph_images(g["source_classes"], 30, g, np.random.default_rng(5), shift=sh)
    assert np.array_equal(y0, y1) and p0 == p1
    assert not np.allclose(x0, x1)
    G = glyph_array()
    resid = np.stack([x1[i].reshape(side, side) - draw(p1[i], side, G, sh["contrast"]) for i in range(len(x1))])
    assert abs(np.median(resid) ) < 0.02 and abs(np.median(np.abs(resid)) / 0.6745 - sh["noise"]) < 0.02  # Gaussian part
    bright = (resid > 0.5 + 3 * sh["noise"]).sum((1, 2))
    assert bright.mean() <= sh["clutter"]  # the clutter pixels (some land on strokes)
    no_shift = dict(sh, contrast=1.0, noise=g["noise"], clutter=0)
    x2, _, _ = glyph_images(g["source_classes"], 30, g, np.random.default_rng(5), shift=no_shift)
    assert np.array_equal(x0, x2)


def test_glyph_data_splits(glyph_params):
    p = PaperConfig("catn", ROOT).params("default")["data"]
    d = make_data(dict(p, glyphs=glyph_params))
    n_src, n_tgt = len(glyph_params["source_classes"]), len(glyph_params["task_classes"])
    for part, n in zip(("train", "val", "test"), glyph_params["n_source"]):
        assert np.bincount(d[f"source_{part}_y"]).tolist() == [n] * n_src
    for part, n in zip(("train", "val", "test"), glyph_params["n_target"]):
        assert np.bincount(d[f"task_{part}_y"]).tolist() == [n] * n_tgt
        assert np.bincount(d[f"dist_{part}_y"]).tolist() == [n] * n_src
    rows = {k: set(map(bytes, d[k])) for k in d if k.endswith("_x")}
    keys = sorted(rows)
    assert all(not (rows[a] & rows[b]) for i, a in enumerate(keys) for b in keys[:i])  # fresh images everywhere
    assert len(d["source_classes"]) == n_src and len(d["target_classes"]) == n_tgt


def test_glyph_placement_rejects_a_canvas_too_small():
    from paperdag.core.errors import PaperdagError

    with pytest.raises(PaperdagError):
        place([0, 1, 2, 3, 4], 9, [0.5, 1.0], np.random.default_rng(0))


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

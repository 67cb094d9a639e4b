"""pleas: tests of the math (matching, partial merge, FLOPs, least squares, BN re-estimation)
and of the paper-scale code path on a tiny local stand-in (transformers ResNet checkpoints and
`datasets` folders written by the test)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from paperdag.papers.pleas import merge as M
from paperdag.papers.pleas.nets import MLP, ResNet

torch.set_num_threads(1)


def _randomize_bn(net, seed):
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.weight.data = 0.5 + torch.rand(n, generator=g)
            m.bias.data = 0.3 * torch.randn(n, generator=g)
            m.running_mean = 0.2 * torch.randn(n, generator=g)
            m.running_var = 0.5 + torch.rand(n, generator=g)
    net.eval()
    return net


def mlp(seed, heads=None):
    torch.manual_seed(seed)
    return _randomize_bn(MLP(12, {"h0": 10, "h1": 9, "h2": 8}, heads or {"all": 4}), seed)


def resnet(seed, heads=None):
    torch.manual_seed(seed)
    w = ResNet.base_widths([1, 2], 8, [16, 24])
    return _randomize_bn(ResNet([1, 2], w, heads or {"all": 3}), seed)


def permuted_copy(net, seed):
    """The same function with the units of every group permuted: B unit j = A unit q[g][j]."""
    rng = np.random.default_rng(seed)
    q = {g: rng.permutation(n) for g, n in net.widths.items()}
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    for s in net.specs():
        w = f"{s['name']}.weight"
        if s["out"] is not None:
            sd[w] = sd[w][torch.as_tensor(q[s["out"]])]
            if f"{s['name']}.bias" in sd:
                sd[f"{s['name']}.bias"] = sd[f"{s['name']}.bias"][torch.as_tensor(q[s["out"]])]
            for v in ("weight", "bias", "running_mean", "running_var"):
                sd[f"{s['bn']}.{v}"] = sd[f"{s['bn']}.{v}"][torch.as_tensor(q[s["out"]])]
        if s["inp"] is not None:
            sd[w] = sd[w][:, torch.as_tensor(q[s["inp"]])]
    b = M.build(net.arch())
    b.load_state_dict(sd)
    b.eval()
    return b, q


def x_for(net, n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 12, generator=g) if isinstance(net, MLP) else torch.randn(n, 3, 32, 32, generator=g)


def out(net, x, head="all"):
    with torch.no_grad():
        return net(x)[head]


@pytest.mark.parametrize("make", [mlp, resnet])
@pytest.mark.parametrize("matching", ["activation", "weight"])
def test_permuted_copy_is_recovered_and_merge_is_the_original(make, matching):
    a = make(0)
    b, q = permuted_copy(a, 1)
    x = x_for(a)
    torch.testing.assert_close(out(a, x), out(b, x), rtol=1e-4, atol=1e-5)
    if matching == "activation":
        perm, score = M.activation_matching(a, b, [x[:32], x[32:]])
    else:
        perm, score = M.weight_matching(a, b, seed=0)
    for g in a.widths:
        np.testing.assert_array_equal(perm[g], np.argsort(q[g]), err_msg=f"group {g}")
    for r in (0.0, 0.5, 1.0):  # full merge, partial merge, no merge: all the original function
        lay = {g: M.make_layout(perm[g], score[g], r) for g in a.widths}
        merged = M.partial_merge(a, b, lay)
        torch.testing.assert_close(out(merged, x), out(a, x), rtol=1e-4, atol=1e-4)


def test_budget_one_is_full_merge_and_budget_two_is_ensemble():
    a, b = mlp(0), mlp(1)
    x = x_for(a)
    perm, score = M.activation_matching(a, b, [x])
    table = M.layer_table(a, b)
    pos = M.output_positions(a, x)
    base = M.merge_flops(table, None, pos)

    def ffn(r):
        return M.merge_flops(table, {g: M.make_layout(perm[g], score[g], r[g]) for g in a.widths}, pos) / base

    r1 = M.ratios_for_budget(1.0, list(a.widths), ffn)
    lay1 = {g: M.make_layout(perm[g], score[g], r1[g]) for g in a.widths}
    assert all(lay1[g].width == a.widths[g] and len(lay1[g].as_) == 0 for g in a.widths)
    m1 = M.partial_merge(a, b, lay1)
    # full merge = Git Re-Basin: average of A and the permuted B
    pb = torch.as_tensor(perm["h1"])
    wb = b.fcs[1].weight[pb][:, torch.as_tensor(perm["h0"])]
    torch.testing.assert_close(m1.fcs[1].weight, 0.5 * (a.fcs[1].weight + wb))
    assert ffn(r1) == pytest.approx(1.0)

    r2 = M.ratios_for_budget(2.0, list(a.widths), ffn)
    lay2 = {g: M.make_layout(perm[g], score[g], r2[g]) for g in a.widths}
    assert ffn(r2) == pytest.approx(2.0)
    m2 = M.partial_merge(a, b, lay2)
    torch.testing.assert_close(out(m2, x), 0.5 * (out(a, x) + out(b, x)), rtol=1e-4, atol=1e-5)
    # per-branch BN re-estimation of the 2x model = the sources re-estimated on their own data
    xa, xb = x_for(a, 80, 5), x_for(a, 80, 6) + 0.5
    M.bn_stats(a, [xa[:40], xa[40:]])
    M.bn_stats(b, [xb[:40], xb[40:]])
    M.reset_bn(m2, [torch.cat([xa, xb])], [xa[:40], xa[40:]], [xb[:40], xb[40:]], lay2)
    torch.testing.assert_close(out(m2, x), 0.5 * (out(a, x) + out(b, x)), rtol=1e-4, atol=1e-4)
    # different label spaces: each task head of the 2x model is its own source model
    ta, tb = mlp(2, {"a": 3}), mlp(3, {"b": 5})
    p2, s2 = M.activation_matching(ta, tb, [x])
    lay = {g: M.make_layout(p2[g], s2[g], 1.0) for g in ta.widths}
    mt = M.partial_merge(ta, tb, lay)
    torch.testing.assert_close(out(mt, x, "a"), out(ta, x, "a"), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out(mt, x, "b"), out(tb, x, "b"), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make", [mlp, resnet])
@pytest.mark.parametrize("r", [0.0, 0.3, 0.7, 1.0])
def test_flops_accounting_matches_direct_count(make, r):
    a, b = make(0), make(1)
    x = x_for(a, 4)
    perm, score = M.weight_matching(a, b, seed=0, max_iter=3)
    lay = {g: M.make_layout(perm[g], score[g], r) for g in a.widths}
    merged = M.partial_merge(a, b, lay)
    table = M.layer_table(a, b)
    pos = M.output_positions(a, x)
    assert M.merge_flops(table, lay, pos) == M.direct_flops(merged, x)
    assert M.merge_flops(table, None, pos) == M.direct_flops(a, x)
    if make is mlp:  # hidden x hidden layer: (1 + r_in)(1 + r_out) - 2 r_in r_out times one model
        n = 9 * 10
        lo, li = lay["h1"], lay["h0"]
        ri, ro = len(li.as_) / 10, len(lo.as_) / 9
        assert int(M.allowed_mask(lo, li, lo.width, li.width).sum()) == pytest.approx(n * ((1 + ri) * (1 + ro) - 2 * ri * ro))


def test_ratios_hit_the_budget():
    a, b = mlp(0), mlp(1)
    x = x_for(a, 4)
    perm, score = M.activation_matching(a, b, [x_for(a)])
    table, pos = M.layer_table(a, b), M.output_positions(a, x)
    base = M.merge_flops(table, None, pos)

    def ffn(r):
        return M.merge_flops(table, {g: M.make_layout(perm[g], score[g], r[g]) for g in a.widths}, pos) / base

    prev = 0
    for bud in (1.0, 1.25, 1.5, 1.75, 2.0):
        f = ffn(M.ratios_for_budget(bud, list(a.widths), ffn))
        assert f <= bud + 1e-9 and f >= bud - 0.15 and f >= prev
        prev = f
    z = M.ratios_for_budget(1.5, list(a.widths), ffn, "zip", a.group_stage())
    assert set(z.values()) <= {0.0, 1.0} and z["h0"] == 0.0


def _noise(p) -> float:
    """Absolute tolerance for comparing two reconstruction errors of one problem: recon_error
    subtracts terms of the size of the targets' mean square (YY / (N x outputs)), so errors
    below a millionth of that are floating-point noise (both errors can be ~1e-15 when a fit is
    exact, and which one is smaller then depends on the machine's BLAS kernels)."""
    return 1e-6 * p["YY"] / (p["N"] * p["W0"].shape[0])


@pytest.mark.parametrize("make", [mlp, resnet])
def test_least_squares_lowers_every_layers_error(make):
    a, b = make(0), make(1)
    x = x_for(a, 48)
    batches = [x[:24], x[24:]]
    perm, score = M.activation_matching(a, b, batches)
    lay = {g: M.make_layout(perm[g], score[g], 0.4) for g in a.widths}
    merged = M.partial_merge(a, b, lay)
    probs = M.ls_problems(a, b, merged, lay, batches, positions_per_image=None if make is mlp else 20, seed=0)
    assert len(probs) == len(merged.specs())
    for solver in ("closed_form", "adam"):
        if solver == "closed_form":
            sols = {k: M.solve_closed_form(p, 0.1) for k, p in probs.items()}
        else:
            sols = M.solve_adam(probs, steps=60, lr=1e-3, batch_size=64, seed=0)
        for k, p in probs.items():
            e0, e1 = M.recon_error(p, p["W0"]), M.recon_error(p, sols[k])
            if solver == "closed_form":
                assert e1 <= e0 * (1 + 1e-9) + _noise(p), (k, e0, e1)
            assert torch.all(sols[k][~p["mask"]] == 0), f"{k}: cross blocks must stay zero"
        if solver == "adam":
            tot0 = sum(M.recon_error(p, p["W0"]) for p in probs.values())
            assert sum(M.recon_error(p, sols[k]) for k, p in probs.items()) < tot0
    # plain least squares (tiny ridge) fits at least as well as the proximal ridge
    for k, p in probs.items():
        e_plain, e_ridge = M.recon_error(p, M.solve_closed_form(p, 1e-9)), M.recon_error(p, M.solve_closed_form(p, 0.1))
        assert e_plain <= e_ridge * (1 + 1e-6) + _noise(p), (k, e_plain, e_ridge)
    M.set_weights(merged, probs, {k: M.solve_closed_form(p, 0.1) for k, p in probs.items()})
    for s in merged.specs():
        w = M.get_module(merged, s["name"]).weight
        lo = lay[s["out"]] if s["out"] else None
        li = lay[s["inp"]] if s["inp"] else None
        mask = M.allowed_mask(lo, li, w.shape[0], w.shape[1])
        assert torch.all(w[~mask] == 0)


def test_least_squares_on_a_permuted_copy_is_exact():
    a = mlp(0)
    b, _ = permuted_copy(a, 3)
    x = x_for(a)
    perm, score = M.activation_matching(a, b, [x])
    lay = {g: M.make_layout(perm[g], score[g], 0.5) for g in a.widths}
    merged = M.partial_merge(a, b, lay)
    probs = M.ls_problems(a, b, merged, lay, [x])
    for k, p in probs.items():
        assert M.recon_error(p, M.solve_closed_form(p, 0.1)) < 1e-10


def test_resnet_loads_transformers_checkpoint():
    from transformers import ResNetConfig, ResNetModel

    torch.manual_seed(0)
    cfg = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[16, 24], depths=[1, 2], layer_type="bottleneck")
    hf = ResNetModel(cfg).eval()
    _randomize_bn(hf, 4)
    net = ResNet([1, 2], ResNet.base_widths([1, 2], 8, [16, 24]), {"all": 3})
    net.from_hf_state_dict(hf.state_dict())
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = hf(pixel_values=x).pooler_output.flatten(1)
        torch.testing.assert_close(net.features(x), ref, rtol=1e-4, atol=1e-5)


def _standin(tmp_path):
    """Two tiny transformers ResNet checkpoints and tiny image datasets in `datasets` folders."""
    import datasets
    from PIL import Image
    from transformers import ResNetConfig, ResNetForImageClassification

    rng = np.random.default_rng(0)
    for name, seed in (("rn_a", 0), ("rn_b", 1)):
        torch.manual_seed(seed)
        cfg = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[16, 24], depths=[1, 1], layer_type="bottleneck", num_labels=3)
        ResNetForImageClassification(cfg).save_pretrained(tmp_path / name)

    def images(n, shift):
        return [Image.fromarray((rng.random((20, 20, 3)) * 120 + shift).astype(np.uint8)) for _ in range(n)]

    def ds(n, ncls, shift, domain=None):
        d = {"image": images(n, shift), "label": [int(i % ncls) for i in range(n)]}
        if domain is not None:
            d["domain"] = [domain[i % 2] for i in range(n)]
        return datasets.Dataset.from_dict(d)

    for name, ncls, shift, dom in (("cub", 3, 0, None), ("pets", 2, 60, None), ("dn", 3, 30, ["clipart", "real"])):
        datasets.DatasetDict({"train": ds(24, ncls, shift, dom), "test": ds(12, ncls, shift, dom)}).save_to_disk(str(tmp_path / name))
    datasets.DatasetDict({"validation": ds(16, 2, 90)}).save_to_disk(str(tmp_path / "imagenet"))


def test_paper_path_on_tiny_standin(tmp_path):
    """The paper-scale code path (hub-format datasets and ResNet checkpoints, zip ratios, conv
    least squares on sampled positions) end to end on a tiny local stand-in."""
    from paperdag.core.config import PaperConfig
    from paperdag.core.stage import run_job
    from paperdag.core.config import deep_merge
    from pathlib import Path

    _standin(tmp_path)
    root = Path(__file__).resolve().parents[1]
    p = PaperConfig("pleas", root).params("paper")
    hf = p["data"]["hf"]
    for setting, t, name in (("labels", "a", "cub"), ("labels", "b", "pets"), ("domains", "a", "dn"), ("domains", "b", "dn")):
        hf[setting][t].pop("id")
        hf[setting][t]["path"] = str(tmp_path / name)
    hf["public"].pop("id")
    hf["public"]["path"] = str(tmp_path / "imagenet")
    p = deep_merge(p, {
        "seeds": 1,
        "data": {"hf": {"image_size": 32, "max_public": 16}},
        "model": {"resnet": {"depths": [1, 1], "hidden_sizes": [16, 24], "embedding_size": 8,
                             "init_a": str(tmp_path / "rn_a"), "init_b": str(tmp_path / "rn_b")}},
        "train": {"epochs": 2, "batch_size": 8, "checkpoint_every": 1, "bn_batch": 8},
        "merge": {"batch_size": 8, "max_samples_per_model": None, "ls": {"positions_per_image": 4, "adam_steps": 5},
                  "matchings": ["activation", "weight"]},
    })
    io = lambda inp, outp, wc: {"input": inp, "output": outp, "wildcards": {"scale": "paper", **wc}}
    data = str(tmp_path / "r" / "splits.npz")
    assert run_job("pleas.data", io({}, {"data": data}, {}), p) == 0
    for setting in ("labels", "domains"):
        ma, mb = str(tmp_path / "r" / f"{setting}_a.safetensors"), str(tmp_path / "r" / f"{setting}_b.safetensors")
        assert run_job("pleas.train", io({"data": data}, {"model_a": ma, "model_b": mb}, {"setting": setting, "seed": "0"}), p) == 0
        ev = str(tmp_path / "r" / f"{setting}.json")
        assert run_job("pleas.merge", io({"data": data, "model_a": ma, "model_b": mb}, {"evals": ev}, {"setting": setting, "seed": "0"}), p) == 0
        e = json.loads(Path(ev).read_text())
        assert set(e["flops_ratio"]) == {"1", "1.2", "1.55", "1.8", "2"}
        assert e["flops_ratio"]["1"] == pytest.approx(1.0) and e["flops_ratio"]["2"] == pytest.approx(2.0)
        for m in ("perm_activation", "pleas_activation", "pleas_adam_weight", "pleas_free"):
            assert 0.0 <= e["curves"][m]["1"]["avg"] <= 1.0
        # 2x with per-branch BatchNorm statistics = the ensemble (merge data = all training data:
        # the merged branches get the same BatchNorm statistics as the sources)
        assert e["curves"]["pleas_activation"]["2"]["avg"] == pytest.approx(e["ensemble"]["avg"], abs=1e-9)


def _digits_params():
    from pathlib import Path

    from paperdag.core.config import PaperConfig

    return PaperConfig("pleas", Path(__file__).resolve().parents[1]).params("smoke")


def test_validation_split_is_carved_from_training_data_only():
    """Validation = a stratified share of each task's training data: train and val partition the
    original training set, the test set is untouched."""
    from paperdag.papers.pleas.data import carve_validation, make_digits

    p = _digits_params()["data"]
    full = make_digits(p)
    d = carve_validation({k: v.copy() for k, v in full.items()}, p)
    rows = lambda x: {r.tobytes() for r in x}  # noqa: E731
    for s in ("labels", "domains"):
        for t in ("a", "b"):
            tr, va, te = d[f"{s}_{t}_train_x"], d[f"{s}_{t}_val_x"], d[f"{s}_{t}_test_x"]
            assert len(tr) + len(va) == len(full[f"{s}_{t}_train_x"])
            assert rows(tr) | rows(va) == rows(full[f"{s}_{t}_train_x"])
            assert not rows(va) & rows(tr)
            assert np.array_equal(te, full[f"{s}_{t}_test_x"])
            assert abs(len(va) / len(full[f"{s}_{t}_train_x"]) - p["val_frac"]) < 0.05
            assert set(np.unique(d[f"{s}_{t}_val_y"])) == set(np.unique(d[f"{s}_{t}_train_y"]))


def test_ridge_is_chosen_on_validation_accuracy_over_budgets_below_two():
    from paperdag.papers.pleas.evaluate import select_ridge

    acc = lambda *v: {k: {"avg": x} for k, x in zip(("1", "1.5", "2"), v)}  # noqa: E731
    # 0.1 wins below 2x; the 2x column (the ensemble for every ridge) is ignored
    assert select_ridge({"0.01": acc(0.80, 0.85, 0.99), "0.1": acc(0.82, 0.86, 0.90), "1": acc(0.70, 0.75, 0.90)}, ["1", "1.5", "2"]) == 0.1
    # ties go to the first value of the grid
    assert select_ridge({"0.01": acc(0.8, 0.9, 0.9), "0.1": acc(0.8, 0.9, 0.9)}, ["1", "1.5", "2"]) == 0.01


@pytest.mark.parametrize(
    "change, key",
    [
        ({"claims_matching": "weight"}, "claims_matching"),
        ({"merge": {"budgets": [1.25, 1.5, 2.0]}}, "merge.budgets"),
        ({"claims_large_budget": 1.9}, "claims_large_budget"),
    ],
)
def test_cross_key_checks_name_the_key(change, key):
    from paperdag.core.config import deep_merge
    from paperdag.core.errors import PaperdagError
    from paperdag.papers.pleas.plan import check

    p = _digits_params()
    check(p, "config/papers/pleas.yaml (scale smoke)")
    with pytest.raises(PaperdagError, match=key.replace(".", r"\.")):
        check(deep_merge(p, change), "config/papers/pleas.yaml (scale smoke)")

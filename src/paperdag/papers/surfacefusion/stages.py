"""surfacefusion stages: data (G2P splits from espeak-ng) -> train (one job per variant and run) ->
evaluate (one job per run: every variant's test/validation scores, layer-attention weights and
their ablation, embedding spectra and PCA) -> metrics/tables (aggregate.py) -> figures (plots.py)."""

from __future__ import annotations

from paperdag.core.io import load_tensors, read_json, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


@stage("surfacefusion.data")
def data(ctx):
    """Splits by word, one joint vocabulary, token types (source-only / target-only / shared)."""
    from .data import build_vocab, make_splits, token_types

    d = ctx.params["data"]
    splits = make_splits(d, ctx.params["seed"])
    vocab = build_vocab(splits["train"])
    for part, pairs in splits.items():
        ctx.log.info("%s: %d pairs", part, len(pairs))
    ctx.log.info("vocabulary: %d tokens", len(vocab))
    write_json(ctx.output.data, {"vocab": vocab, "types": token_types(vocab, splits["train"]), **{k: [[list(s), list(y)] for s, y in v] for k, v in splits.items()}})


def _tensors(pairs, vocab, d):
    import torch

    from .data import encode

    src, tgt = encode(pairs, vocab, d["max_src"], d["max_tgt"])
    return torch.from_numpy(src), torch.from_numpy(tgt)


def _trim(src, tgt):
    """Drop all-pad columns of a batch."""
    s = int(src.ne(0).sum(1).max())
    t = int(tgt.ne(0).sum(1).max())
    return src[:, :s], tgt[:, :t]


def build_model(vocab_size: int, variant: str, p: dict):
    from .model import Seq2Seq

    return Seq2Seq(vocab_size, variant, p["model"], p["fusion"])


def make_optimizer(model, t: dict):
    """Adam (0.9, 0.98). The layer-attention weights (ef, fg) are a group of their own whose rate is
    `ta_lr_mult` times the schedule's (`mult` of each group, applied by the training loop): a probe
    trained for a few hundred updates at the base rate stays at its initialisation (config/README.md)."""
    import torch

    ta = [q for name, q in model.named_parameters() if name == "ta_weight"]
    rest = [q for name, q in model.named_parameters() if name != "ta_weight"]
    groups = [{"params": rest, "mult": 1.0}] + ([{"params": ta, "mult": float(t["ta_lr_mult"])}] if ta else [])
    for g in groups:
        g["lr"] = t["lr"] * g["mult"]
    return torch.optim.Adam(groups, lr=t["lr"], betas=(0.9, 0.98), eps=1e-8)


@stage("surfacefusion.train")
def train(ctx):
    """One independent run of one variant: Adam (0.9, 0.98), inverse-sqrt schedule with warm-up (the
    layer-attention weights at `train.ta_lr_mult` times the rate), label-smoothed cross-entropy on the (fused) log-probabilities, a fixed number of updates (the
    last checkpoint is evaluated: no selection). Resumes from `.resume/` after an interruption."""
    import torch

    from paperdag.core.resume import Resumer

    from .model import label_smoothed_nll, n_params

    p = ctx.params
    variant, run = ctx.wildcards["variant"], int(ctx.wildcards["run"])
    seed = plan.run_seed(p, run)
    seed_everything(seed)
    d = read_json(ctx.input.data)
    vocab = d["vocab"]
    src, tgt = _tensors(d["train"], vocab, p["data"])
    model = build_model(len(vocab), variant, p)
    t = p["train"]
    opt = make_optimizer(model, t)
    tag = f"{variant}-run{run}"
    res = Resumer(ctx.resume_dir(), tag, every=t["checkpoint_every"])
    extra = {"losses": []}
    start = res.restore(model, opt, extra)
    losses = list(extra.get("losses", []))
    ctx.log.info("%s: %d parameters, %d training pairs, steps %d..%d", tag, n_params(model), len(src), start, t["steps"])
    n, B = len(src), t["batch"]
    per_epoch = n // B
    model.train()
    for step in range(start, t["steps"]):
        epoch, k = divmod(step, per_epoch)
        g = torch.Generator().manual_seed(seed * 100003 + epoch)  # data order: a function of (seed, epoch)
        idx = torch.randperm(n, generator=g)[k * B : (k + 1) * B]
        s, y = _trim(src[idx], tgt[idx])
        num = step + 1
        lr = t["lr"] * min(num / t["warmup"], (t["warmup"] / num) ** 0.5)
        for group in opt.param_groups:
            group["lr"] = lr * group["mult"]
        lp = model(s, y[:, :-1])
        loss = label_smoothed_nll(lp, y[:, 1:], t["label_smoothing"], 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if num % t["log_every"] == 0 or num == t["steps"]:
            losses.append([num, float(loss.detach())])
            ctx.log.info("%s step %d/%d loss %.4f lr %.2e", tag, num, t["steps"], float(loss.detach()), lr)
        res.maybe_save(num, model, opt, {"losses": losses})
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save_tensors(ctx.output.model, sd, {"variant": variant, "run": run, "seed": seed, "losses": losses, "params": n_params(model)})
    res.finish()


# -- evaluation ---------------------------------------------------------------------------------------
def edit_distance(a, b) -> int:
    """Levenshtein distance between two token sequences."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def score(hyps: list[list[str]], refs: list[list[str]]) -> dict:
    """BLEU (sacrebleu, phoneme tokens, tokenize='none'), chrF (sacrebleu, on the IPA strings),
    phoneme error rate (edit distance / reference length, stress marks counted as tokens) and word
    error rate (share of words not exactly right), all in %."""
    import sacrebleu

    bleu = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(r) for r in refs]], tokenize="none")
    chrf = sacrebleu.corpus_chrf(["".join(h) for h in hyps], [["".join(r) for r in refs]])
    errs = sum(edit_distance(h, r) for h, r in zip(hyps, refs))
    return {
        "bleu": float(bleu.score),
        "chrf": float(chrf.score),
        "per": 100.0 * errs / sum(len(r) for r in refs),
        "wer": 100.0 * sum(h != r for h, r in zip(hyps, refs)) / len(refs),
    }


def decode(model, pairs, vocab, p) -> list[list[str]]:
    import torch

    from .data import BOS, EOS

    idx = {t: i for i, t in enumerate(vocab)}
    src, _ = _tensors(pairs, vocab, p["data"])
    out = []
    B = p["eval"]["batch"]
    for i in range(0, len(src), B):
        s = src[i : i + B]
        s = s[:, : int(s.ne(0).sum(1).max())]
        ys = model.greedy(s, idx[BOS], idx[EOS], p["data"]["max_tgt"] + 1)
        for row in ys.tolist():
            toks = []
            for t in row:
                if t == idx[EOS] or t == 0:
                    break
                toks.append(vocab[t])
            out.append(toks)
    torch.set_grad_enabled(True)
    return out


def spectrum(emb) -> list[float]:
    """log(σ_i / σ_max) of the embedding matrix (rows: the non-special vocabulary)."""
    import numpy as np

    s = np.linalg.svd(np.asarray(emb, dtype=np.float64), compute_uv=False)
    return [float(x) for x in np.log(s / s[0])]


def pca2(emb):
    """2-D PCA coordinates of the embedding rows (sign fixed: largest |loading| positive)."""
    import numpy as np

    x = np.asarray(emb, dtype=np.float64)
    x = x - x.mean(0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    for k in range(2):
        if vt[k][np.argmax(np.abs(vt[k]))] < 0:
            vt[k] = -vt[k]
    return (x @ vt[:2].T).tolist(), [float(v) for v in (s[:2] ** 2 / (s**2).sum())]


@stage("surfacefusion.evaluate")
def evaluate(ctx):
    """One run: every variant's greedy-decoding scores on validation and test; for the layer-
    attention variants the learned weights (mean over dimensions; and at initialisation) and the test
    scores with each encoder layer removed from the fused set (its weight masked, the softmax renormalised
    over the others, at inference); the embedding spectrum and 2-D PCA of every variant; and the
    trivial control (copying the spelling)."""
    import torch

    from .data import SPECIALS

    p = ctx.params
    run = int(ctx.wildcards["run"])
    d = read_json(ctx.input.data)
    vocab = d["vocab"]
    val, test = d["val"], d["test"]
    if p["eval"]["n_val"]:
        val = val[: p["eval"]["n_val"]]
    refs = {"val": [y for _, y in val], "test": [y for _, y in test]}
    out = {"run": run, "seed": plan.run_seed(p, run), "variants": {}}
    out["copy_control"] = {part: score([s for s, _ in pairs], refs[part]) for part, pairs in (("val", val), ("test", test))}
    keep = [i for i, t in enumerate(vocab) if t not in SPECIALS]
    torch.set_num_threads(max(1, ctx.threads))
    for path in ctx.input.models:
        tensors, meta = load_tensors(path, with_metadata=True)
        variant = meta["variant"]
        model = build_model(len(vocab), variant, p)
        model.load_state_dict(tensors)
        model.eval()
        r = {"losses": meta["losses"], "params": meta["params"]}
        for part, pairs in (("val", val), ("test", test)):
            r[part] = score(decode(model, pairs, vocab, p), refs[part])
        ctx.log.info("run %d %s: test %s", run, variant, {k: round(v, 2) for k, v in r["test"].items()})
        if variant in ("ef", "fg"):
            with torch.no_grad():
                w = model.layer_weights()
            r["layer_weights"] = (w.mean(-1) if variant == "fg" else w).tolist()
            # the same weights at initialisation (the training job's seed rebuilds its initial model)
            seed_everything(int(meta["seed"]))
            with torch.no_grad():
                w0 = build_model(len(vocab), variant, p).layer_weights()
            r["layer_weights_init"] = (w0.mean(-1) if variant == "fg" else w0).tolist()
            if variant == "fg":
                # share of the d dimensions whose largest weight is on encoder layer j, per decoder layer
                top = torch.nn.functional.one_hot(w.argmax(1), w.shape[1]).float().mean(1)
                r["layer_argmax_share"] = top.tolist()
            ablate = {}
            nl = model.n_enc + 1
            for j in range(nl):
                m = torch.ones(nl, dtype=torch.bool)
                m[j] = False
                model.layer_mask = m
                ablate[str(j)] = {"test": score(decode(model, test, vocab, p), refs["test"])}
                ctx.log.info("run %d %s: without encoder layer %d: test BLEU %.2f", run, variant, j, ablate[str(j)]["test"]["bleu"])
            model.layer_mask = None
            r["ablation"] = ablate
        emb = model.embed.weight.detach()[keep].numpy()
        r["spectrum"] = spectrum(emb)
        coords, ratio = pca2(emb)
        r["pca"] = coords
        r["pca_explained"] = ratio
        out["variants"][variant] = r
    out["tokens"] = [vocab[i] for i in keep]
    out["token_types"] = [d["types"][i] for i in keep]
    write_json(ctx.output.evals, out)

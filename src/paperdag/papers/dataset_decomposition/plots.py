"""Figures from metrics.json, timing.json and the curve tables (rerunning them never retrains)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperdag.core.plotting import setup

STYLE = {"cc": ("tab:gray", "--"), "cc_dm": ("black", ":")}


def _style(name: str, i: int):
    if name in STYLE:
        return STYLE[name]
    cols = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"]
    return cols[i % len(cols)], "-"


def length_hist(metrics: dict, p: dict, bench: dict, tables: dict):
    """The corpus' document-length histogram and what decomposition makes of it."""
    plt = setup()
    st = metrics["corpus"]
    edges = np.asarray(st["length_hist"]["edges"])
    docs = np.asarray(st["length_hist"]["docs"])
    toks = np.asarray(st["length_hist"]["tokens"])
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    keep = np.flatnonzero(docs)
    lo, hi = keep.min(), keep.max() + 1
    x = np.arange(lo, hi)
    labels = [f"{edges[i]}" for i in x]
    ax[0].bar(x - 0.2, docs[lo:hi] / docs.sum() * 100, width=0.4, label="documents")
    ax[0].bar(x + 0.2, toks[lo:hi] / toks.sum() * 100, width=0.4, label="tokens")
    ax[0].set_xticks(x, labels, rotation=60)
    ax[0].set_xlabel("document length bin [2^k, 2^(k+1)) (tokens)")
    ax[0].set_ylabel("share of corpus (%)")
    ax[0].set_title(f"corpus: {st['train_docs']} docs, mean {st['doc_length']['mean']:.0f}, median {st['doc_length']['median']:.0f}, max {st['doc_length']['max']} tokens")
    ax[0].legend()
    bt = st["bucket_tokens"]
    ks = sorted(bt, key=int)
    tot = sum(bt.values()) + st["dropped_tokens"]
    ax[1].bar(range(len(ks)), [bt[k] / tot * 100 for k in ks], color="tab:green", label="tokens in bucket")
    ax[1].bar([len(ks)], [st["dropped_tokens"] / tot * 100], color="tab:red", label="dropped (< smallest bucket)")
    ax[1].set_xticks(range(len(ks) + 1), ks + ["dropped"])
    ax[1].set_xlabel("DD bucket: sequence length (tokens)")
    ax[1].set_ylabel("share of training tokens (%)")
    ax[1].set_title("after dataset decomposition")
    ax[1].legend()
    fig.tight_layout()
    return fig


def _mean_curves(df: pd.DataFrame, name: str, cols: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Per step: mean, min and max over the method's runs (seeds) of `cols`, and the number of runs."""
    c = df[df.method == name]
    g = c.groupby("step")[cols]
    return g.mean(), g.min(), g.max(), int(c.seed.nunique()) if "seed" in c else 1


def _target(metrics: dict) -> float:
    t = metrics["target_val_loss"]
    return float(np.mean(list(t.values()))) if isinstance(t, dict) else float(t)


def loss_vs_tokens(metrics: dict, p: dict, bench: dict, tables: dict):
    """Validation loss vs tokens (and vs analytic FLOPs), long-document loss vs tokens: mean over
    each method's runs, the band spans the runs (min to max)."""
    plt = setup()
    curves = tables["val_loss"]
    target = _target(metrics)
    names = list(p["run_methods"])
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.9))
    for i, n in enumerate(names):
        mean, lo, hi, k = _mean_curves(curves, n, ["tokens", "flops", "val_loss", "long_loss"])
        col, ls = _style(n, i)
        lw = 1.6 if k > 1 else 0.9
        lab = f"{n} (n={k})"
        for a, x, y in ((ax[0], mean.tokens / 1e6, "val_loss"), (ax[1], mean.flops / 1e12, "val_loss"), (ax[2], mean.tokens / 1e6, "long_loss")):
            a.plot(x, mean[y], color=col, ls=ls, lw=lw, label=lab)
            if k > 1:
                a.fill_between(x, lo[y], hi[y], color=col, alpha=0.15, lw=0)
    for a in ax[:2]:
        a.axhline(target, color="gray", lw=0.7, ls="-.", label=f"target ({metrics['baseline']} final, mean over runs)")
        a.set_ylabel("validation loss (nats/token)")
    ax[0].set_xlabel("training tokens (millions)")
    ax[1].set_xlabel("training compute (analytic TFLOPs)")
    ax[2].set_xlabel("training tokens (millions)")
    ax[2].set_ylabel(f"long-document loss, positions >= {p['train']['long_pos']} (nats/token)")
    lo_all = min(curves.val_loss.min(), curves.long_loss.min())
    for a in ax:
        a.set_ylim(lo_all - 0.1, lo_all + 2.5)
    ax[0].legend(fontsize=6.5)
    fig.suptitle("Validation and long-document loss vs training tokens and compute (mean over runs; bands: min-max over runs)", fontsize=9)
    fig.tight_layout()
    return fig


def loss_vs_seconds(metrics: dict, p: dict, bench: dict, tables: dict):
    """Validation loss vs measured training seconds (paper Fig. 1b analogue), mean over runs."""
    plt = setup()
    curves, timing = tables["val_loss"], tables["val_loss_seconds"]
    target = _target(metrics)
    names = list(p["run_methods"])
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, n in enumerate(names):
        mean, _, _, k = _mean_curves(timing, n, ["train_seconds", "val_loss"])
        col, ls = _style(n, i)
        ax.plot(mean.train_seconds, mean.val_loss, color=col, ls=ls, lw=1.6 if k > 1 else 0.9, label=f"{n} (n={k})")
    ax.axhline(target, color="gray", lw=0.7, ls="-.", label=f"target ({metrics['baseline']} final, mean over runs)")
    ax.set_ylim(curves.val_loss.min() - 0.1, curves.val_loss.min() + 2.5)
    ax.set_xlabel("measured training seconds (1 thread, shared CPU; excludes evaluation)")
    ax.set_ylabel("validation loss (nats/token)")
    ax.set_title("Validation loss vs measured training seconds (mean over runs; paper Fig. 1b: vs GPU hours)\n"
                 "wall-clock on a CPU shared with other jobs: load varied during and between runs", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def cost_model(metrics: dict, p: dict, bench: dict, tables: dict):
    """Cost of a step by sequence length: analytic FLOPs, measured seconds, the paper's."""
    plt = setup()
    cases = metrics["cost_analytic"]["cases"]
    probe = bench["cost_probe"]
    keys = sorted((k for k, v in cases.items() if not v["dm"]), key=lambda k: cases[k]["L"])
    L = np.array([cases[k]["L"] for k in keys])
    f = np.array([cases[k]["flops_per_step"] for k in keys])
    s = np.array([probe[k]["seconds_per_step"] for k in keys])
    fig, ax = plt.subplots(figsize=(6, 4.0))
    ax.plot(L, f / f[0], "o-", label="ours: analytic FLOPs per step")
    ax.plot(L, s / s[0], "s-", label="ours: measured seconds per step")
    ref = p["paper_reference"]
    ax.plot(ref["fig7_lengths"], np.array(ref["fig7_rel_time"]) / 100, "*--", color="black", mfc="none", ms=9, label="paper Fig. 7 (OpenLM-1B, H100)")
    dm = [k for k, v in cases.items() if v["dm"]]
    if dm:
        ax.plot([cases[dm[0]]["L"]], [probe[dm[0]]["seconds_per_step"] / s[0]], "x", color="tab:red", ms=9, label="ours: measured, with document mask")
    q = metrics["claims_inputs"]
    ax.axhline(q["cost_ratio_vs_baseline"] * (f[-1] / f[0]), color="tab:green", lw=0.8, ls="-.", label=f"{metrics['main_dd']} (its length mix), analytic")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sequence length (tokens), fixed tokens per step")
    ax.set_ylabel("cost per step relative to the shortest length")
    ax.set_title("Cost of a step of fixed tokens vs sequence length", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig

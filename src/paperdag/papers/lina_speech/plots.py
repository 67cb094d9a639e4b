"""lina_speech's figures, from metrics.json and timing.json only (never training code)."""

from __future__ import annotations

import numpy as np

from paperdag.core import plotting

from .aggregate import LABELS, NAMES

COLORS = {"none": "black", "prompt": "tab:gray", "ist": "tab:red", "finetune": "tab:blue", "lora": "tab:green"}


def adaptation(metrics: dict, p: dict, timing=None):
    """NLL, mel distance and SIM proxy vs adaptation-set size, per system (mean ± std over runs)."""
    plt = plotting.setup()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    sizes = metrics["sizes"]
    for ax, m in zip(axes, ("nll", "mel_db", "sim")):
        for s in metrics["systems"]:
            if s in ("none", "prompt"):
                v = metrics["scores"][s][m]
                ax.axhline(v["mean"], color=COLORS[s], linestyle="--" if s == "none" else ":", label=NAMES[s])
                ax.axhspan(v["mean"] - v["std"], v["mean"] + v["std"], color=COLORS[s], alpha=0.08)
            else:
                vs = [metrics["scores"][f"{s}_{n}"][m] for n in sizes]
                ax.errorbar(sizes, [v["mean"] for v in vs], yerr=[v["std"] for v in vs], marker="o", capsize=3, color=COLORS[s],
                            label=f"{NAMES[s]} ({metrics['trainable'][f'{s}_{sizes[0]}']:,} params)")
        if m in metrics["codec_reference"]:
            ax.axhline(metrics["codec_reference"][m]["mean"], color="tab:purple", linewidth=0.8, label="codec round trip of the real utterance")
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("adaptation set (utterances of the target voice)")
        ax.set_ylabel(LABELS[m] + (" (higher = closer)" if m == "sim" else " (lower = better)"))
    axes[0].legend(fontsize=6.5)
    axes[1].legend(handles=[h for h in axes[1].get_lines() if h.get_label().startswith("codec")], fontsize=6.5)
    fig.suptitle(f"Adaptation to held-out voices vs adaptation-set size (n = {metrics['runs']} runs x {len(metrics['heldout_voices'])} voices); paper: no numbers retrievable", fontsize=9)
    fig.tight_layout()
    return fig


def efficiency(metrics: dict, p: dict, timing=None):
    """Per-step decode time and state memory vs generated length, GLA vs Transformer with KV cache."""
    plt = plotting.setup()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    rows = (timing or {}).get("timing", {}).get("rows", [])
    for bs, ls in zip(sorted({r["batch"] for r in rows}), ("-", "--", ":", "-.")):
        rr = sorted((r for r in rows if r["batch"] == bs), key=lambda r: r["length"])
        L = [r["length"] for r in rr]
        a1.errorbar(L, [r["gla_ms"]["mean"] for r in rr], yerr=[r["gla_ms"]["std"] for r in rr], color="tab:red", linestyle=ls, marker="o", capsize=2, label=f"GLA, batch {bs}")
        a1.errorbar(L, [r["tfm_ms"]["mean"] for r in rr], yerr=[r["tfm_ms"]["std"] for r in rr], color="tab:blue", linestyle=ls, marker="s", capsize=2, label=f"Transformer + KV cache, batch {bs}")
    a1.set_xscale("log", base=2)
    a1.set_yscale("log")
    a1.set_xlabel("generated length before the step (frames)")
    a1.set_ylabel("decode time per step (ms, CPU, 1 thread)")
    a1.legend(fontsize=6.5)
    mem = metrics["memory"]
    bs = max(r["batch"] for r in mem)
    mm = sorted((r for r in mem if r["batch"] == bs), key=lambda r: r["length"])
    L = [r["length"] for r in mm]
    a2.plot(L, [r["gla_state_bytes"] / 2**20 for r in mm], "o-", color="tab:red", label="GLA recurrent state")
    a2.plot(L, [r["kv_cache_bytes"] / 2**20 for r in mm], "s-", color="tab:blue", label="Transformer KV cache")
    a2.set_xscale("log", base=2)
    a2.set_yscale("log")
    a2.set_xlabel("generated length (frames)")
    a2.set_ylabel(f"decoding state (MiB, fp32, batch {bs})")
    a2.legend(fontsize=7)
    fig.suptitle("Decode cost vs generated length: GLA vs softmax Transformer of the same width and depth (random weights)", fontsize=9)
    fig.tight_layout()
    return fig


def spectrograms(metrics: dict, p: dict, timing=None):
    """Log-mel spectrograms of one test sentence of a held-out voice: the real reference and each system."""
    plt = plotting.setup()
    sp = metrics["spectrograms"]
    mels = sp["mels"]
    rank = {"reference": 0, "none": 1, "prompt": 2, "ist": 3, "finetune": 4, "lora": 5}
    keys = sorted(mels, key=lambda k: rank.get(k.rsplit("_", 1)[0] if k[-1].isdigit() else k, 9))
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 1.5 * len(keys)), sharex=True)
    axes = np.atleast_1d(axes)
    vmin = min(float(np.min(mels[k])) for k in keys)
    vmax = max(float(np.max(mels[k])) for k in keys)
    vmin = max(vmin, vmax - 6)
    for ax, k in zip(axes, keys):
        m = np.array(mels[k])
        ax.imshow(m.T, origin="lower", aspect="auto", vmin=vmin, vmax=vmax, cmap="magma", extent=(0, len(m) * 0.02, 0, m.shape[1]))
        base = k.rsplit("_", 1)
        name = "real reference" if k == "reference" else NAMES.get(base[0], k) + (f", {base[1]} utt." if len(base) == 2 and base[1].isdigit() else "")
        ax.set_ylabel("mel band", fontsize=7)
        ax.set_title(name, fontsize=8, loc="left")
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(f"Log-mel spectrograms, voice {sp['voice']}, run {sp['run']}: \"{sp['sentence']}\"", fontsize=9)
    fig.tight_layout()
    return fig

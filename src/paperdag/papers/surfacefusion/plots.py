"""surfacefusion's figures, from metrics.json only (never training code)."""

from __future__ import annotations

import numpy as np

from paperdag.core import plotting

COLORS = {"vanilla": "tab:gray", "ef": "tab:blue", "fg": "tab:purple", "sf_hard": "tab:red", "sf_soft": "tab:orange"}


def layer_attention(metrics: dict, p: dict, timing=None):
    """Decoder layer x encoder layer weights of the fine-grained layer attention (mean over
    dimensions and runs; encoder layer 0 = embedding), and of the scalar layer attention, on a
    diverging colour scale centred at the uniform weight 1/L (white: the probe did not move)."""
    plt = plotting.setup()
    la = metrics["layer_attention"]
    keys = [v for v in ("fg", "ef") if v in la]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, v in zip(axes[0], keys):
        W = np.array(la[v]["weights_mean"])
        u = 1.0 / W.shape[1]
        span = max(0.1, float(np.abs(W - u).max()))
        im = ax.imshow(W, cmap="RdBu_r", origin="lower", aspect="auto", vmin=u - span, vmax=u + span)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                ax.text(j, i, f"{W[i, j]:.3f}", ha="center", va="center", fontsize=8, color="white" if abs(W[i, j] - u) > 0.6 * span else "black")
        ax.set_xticks(range(W.shape[1]), ["0 (emb)"] + [str(j) for j in range(1, W.shape[1])])
        ax.set_yticks(range(W.shape[0]), [str(i + 1) for i in range(W.shape[0])])
        ax.set_xlabel("encoder layer")
        ax.set_ylabel("decoder layer")
        dev = la[v].get("uniform_dev")
        moved = f"; max |w − {u:.2f}| = {dev['mean']:.3f}" if dev else ""
        ax.set_title(metrics["variant_names"][v].replace("EncoderFusion ", "").strip("()") + f"\n(mean of {metrics['runs']} runs{moved})", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, label="weight (uniform = %.2f)" % u)
    fig.suptitle("G2P: layer-attention weights, decoder × encoder layer (layer 0 = embedding)", fontsize=10)
    fig.tight_layout()
    return fig


def layer_ablation(metrics: dict, p: dict, timing=None):
    """Test BLEU drop when one encoder layer is removed from the fused set, per layer."""
    plt = plotting.setup()
    la = metrics["layer_attention"]
    keys = [v for v in ("fg", "ef") if v in la]
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    width = 0.8 / max(1, len(keys))
    for k, v in enumerate(keys):
        d = la[v]["removal_test_bleu_drop"]
        js = sorted(d, key=int)
        m = [d[j]["mean"] for j in js]
        s = [d[j]["std"] for j in js]
        x = np.arange(len(js)) + (k - (len(keys) - 1) / 2) * width
        ax.bar(x, m, width, yerr=s, capsize=3, color=COLORS[v], label=metrics["variant_names"][v])
    ax.set_xticks(range(len(js)), ["0 (emb)"] + [str(j) for j in range(1, len(js))])
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("encoder layer removed from the fused set")
    ax.set_ylabel("test BLEU drop (full − removed)")
    ax.set_title(f"G2P: BLEU drop when one encoder layer is removed\n(mean ± std of {metrics['runs']} runs)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def spectrum(metrics: dict, p: dict, timing=None):
    """log(σ_i/σ_max) of the shared embedding matrix vs index, per model (mean over runs)."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for v, s in metrics["spectrum_mean"].items():
        fl = metrics["spectrum_flatness_runs"][v]
        ax.plot(range(1, len(s) + 1), s, color=COLORS[v], lw=1.6 if v in ("vanilla", "sf_hard") else 0.9, label=f"{metrics['variant_names'][v]} (mean {np.mean(fl):.2f})")
    ax.set_xlabel("singular value index i")
    ax.set_ylabel("log(σ_i / σ_max)")
    ax.set_title(f"G2P: singular-value spectrum of the shared embeddings\n(mean of {metrics['runs']} runs; legend: mean of log(σ_i/σ_max), higher = flatter)", fontsize=9)
    ax.legend(fontsize=6.5)
    fig.tight_layout()
    return fig


def embedding_pca(metrics: dict, p: dict, timing=None):
    """2-D PCA of the shared embeddings (run 0), coloured by token type."""
    plt = plotting.setup()
    pca = metrics["pca_run0"]
    keys = [v for v in ("vanilla", "sf_hard", "sf_soft") if v in pca]
    types = metrics["token_types"]
    tokens = metrics["tokens"]
    col = {"source": "tab:blue", "target": "tab:red", "shared": "tab:green"}
    lab = {"source": "source only (letters)", "target": "target only (phonemes)", "shared": "shared (letter = phoneme)"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 4.0), squeeze=False)
    for ax, v in zip(axes[0], keys):
        xy = np.array(pca[v]["coords"])
        for t in ("source", "target", "shared"):
            idx = [i for i, ty in enumerate(types) if ty == t]
            ax.scatter(xy[idx, 0], xy[idx, 1], s=14, color=col[t], label=lab[t])
        for i, tok in enumerate(tokens):
            ax.annotate(tok, xy[i], fontsize=5.5, alpha=0.8)
        ev = pca[v]["explained"]
        ax.set_xlabel(f"PC 1 ({100 * ev[0]:.0f} %)")
        ax.set_ylabel(f"PC 2 ({100 * ev[1]:.0f} %)")
        ax.set_title(metrics["variant_names"][v], fontsize=9)
    axes[0][0].legend(fontsize=6.5)
    fig.suptitle("G2P: 2-D PCA of the shared embeddings (run 0)", fontsize=10)
    fig.tight_layout()
    return fig

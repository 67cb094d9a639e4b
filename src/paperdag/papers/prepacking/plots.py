"""Figures from metrics.json only: measured prefill speed-up vs batch size beside the ideal
bounds and the paper's values; prefill time and peak memory per method."""

from __future__ import annotations

from paperdag.core.plotting import setup

PAPER_MARKERS = ["*", "^", "v", "D"]
COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]


def _by_dist(metrics):
    out = {}
    for key, t in metrics["tokens"].items():
        out.setdefault(t["dist"], []).append(key)
    for d in out:
        out[d].sort(key=lambda k: metrics["tokens"][k]["bs"])
    return out


def _who(metrics, tm) -> str:
    weights = " (random weights)" if tm["random_weights"] else ""
    return f"{metrics['model']}{weights}, {tm['device']}"


def speedup(metrics: dict, p: dict, timing: dict):
    """Measured prefill speed-up over padding vs batch size, the ideal bounds and the paper's values."""
    plt = setup()
    tm = timing["timing"]
    clock = tm["clock"]
    dists = _by_dist(metrics)
    ref = p["paper_reference"]
    who = _who(metrics, tm)

    fig, axes = plt.subplots(1, len(dists), figsize=(4.2 * len(dists), 3.6), squeeze=False)
    for ax, (d, keys) in zip(axes[0], dists.items()):
        bs = [metrics["tokens"][k]["bs"] for k in keys]
        rows = [tm["rows"].get(k) for k in keys]
        sp = [r[f"speedup_prefill_{clock}"]["mean"] if r else float("nan") for r in rows]
        err = [r[f"speedup_prefill_{clock}"]["std"] if r else 0 for r in rows]
        n = min((r["batches"] for r in rows if r), default=0)
        ax.errorbar(bs, sp, yerr=err, marker="o", color="tab:blue", capsize=3,
                    label=f"measured ({clock} time; mean ± std, {n} batches each)")
        for r in rows:  # every independent batch
            if r and r.get(f"speedup_prefill_{clock}_each"):
                ax.plot([r["bs"]] * len(r[f"speedup_prefill_{clock}_each"]), r[f"speedup_prefill_{clock}_each"], ".",
                        color="tab:blue", alpha=0.35, ms=4)
        ttft = [r[f"speedup_ttft_{clock}"]["mean"] if r else float("nan") for r in rows]
        ax.plot(bs, ttft, marker="x", ls=":", color="tab:cyan", label="measured, TTFT")
        ax.plot(bs, [metrics["tokens"][k]["bound_rows"] for k in keys], ls="--", color="k", label="bound k/r (padded/packed tokens)")
        ax.plot(bs, [metrics["tokens"][k]["bound_real"] for k in keys], ls=":", color="gray", label="bound padded/real tokens")
        for i, pr in enumerate(ref.get("speedup_vs_batch", [])):
            ax.plot([x[0] for x in pr["points"]], [x[1] for x in pr["points"]], PAPER_MARKERS[i % len(PAPER_MARKERS)],
                    ms=9, color="tab:red", ls=":" if len(pr["points"]) > 1 else "", lw=0.8,
                    label=f"paper: {pr['label']} (its prompts, GPU)")
        ax.axhline(1.0, color="0.6", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size k (prompts)")
        ax.set_ylabel("prefill speed-up over padding (x)")
        ax.set_title(f"{d}: {p['distributions'][d].get('label', d)}", fontsize=8)
        ax.legend(fontsize=6.5, loc="upper left")
    fig.suptitle(f"Prefill speed-up of prepacking over Hugging Face padding vs batch size "
                 f"(packing: {metrics['algo']}): {who}", fontsize=9)
    fig.tight_layout()
    return fig


def time_memory(metrics: dict, p: dict, timing: dict):
    """Prefill time and peak memory per batch and method."""
    plt = setup()
    tm = timing["timing"]
    clock = tm["clock"]
    dists = _by_dist(metrics)
    who = _who(metrics, tm)
    fig, axes = plt.subplots(2, len(dists), figsize=(4.2 * len(dists), 6.2), squeeze=False)
    names = {"padded": "padding (HF)", "prepacked": "prepacking", "loop": "one prompt at a time"}
    for j, (d, keys) in enumerate(dists.items()):
        bs = [metrics["tokens"][k]["bs"] for k in keys]
        rows = [tm["rows"].get(k) or {} for k in keys]
        for i, m in enumerate(("padded", "prepacked", "loop")):
            if f"{m}_prefill_{clock}" not in rows[0]:
                continue
            axes[0, j].plot(bs, [r[f"{m}_prefill_{clock}"] for r in rows], marker="o", color=COLORS[i], label=names[m])
            axes[1, j].plot(bs, [r[f"{m}_peak_mem_mb"] for r in rows], marker="o", color=COLORS[i], label=f"{names[m]}, prefill")
            if m == "prepacked":
                axes[1, j].plot(bs, [r[f"{m}_peak_mem_ttft_mb"] for r in rows], marker="s", ls="--", color=COLORS[i],
                                label=f"{names[m]}, prefill + unpacked caches")
        for ax in axes[:, j]:
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch size k (prompts)")
            ax.legend(fontsize=7)
        axes[0, j].set_yscale("log")
        axes[0, j].set_ylabel(f"prefill time per batch (s, {clock})")
        cpu = not str(tm["device"]).startswith(("NVIDIA", "Tesla", "AMD"))
        axes[1, j].set_ylabel("peak resident-set growth (MB; CPU: under-reports)" if cpu else "peak GPU memory growth (MB)")
        axes[0, j].set_title(f"{d}: {p['distributions'][d].get('label', d)}", fontsize=8)
    fig.suptitle(f"Prefill time and peak memory per batch: {who}", fontsize=9)
    fig.tight_layout()
    return fig

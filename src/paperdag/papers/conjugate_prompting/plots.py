"""conjugate_prompting figures, from metrics.json only."""

from __future__ import annotations

import numpy as np

from paperdag.core import plotting

REF = {
    "ridge": dict(color="black", linestyle="--", label="ridge (Bayes, D_cont)"),
    "discrete": dict(color="gray", linestyle=":", label="discrete regression (Bayes, D_disc)"),
    "mixture": dict(color="tab:purple", linestyle="-.", label="posterior mixture (Bayes, D_mix)"),
}


def _model_styles(snaps):
    cols = ["tab:orange", "tab:red", "darkred", "magenta"]
    st = {"pre": dict(color="tab:blue", marker="o", label="pre-trained on D_mix")}
    for i, s in enumerate(snaps):
        st[f"ft{s}"] = dict(color=cols[i % len(cols)], marker="s", label=f"fine-tuned on D_disc ({s} steps)")
    return st


def _setup(m: dict, p: dict):
    s = p["synthetic"]
    return plotting.setup(), s, m["synthetic"], _model_styles(s["finetune"]["snapshots"])


def loss_vs_examples(m: dict, p: dict, timing=None):
    """In-context regression loss vs number of in-context examples, before and after fine-tuning."""
    plt, s, syn, styles = _setup(m, p)
    K = s["prompt_len"]
    ks = np.arange(K)

    # Figure 1: loss vs number of in-context examples, both distributions, + ambiguity panel
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, dist, title in ((axes[0], "cont", "continuous tasks D_cont (w ~ N(0, I))"), (axes[1], "disc", f"discrete tasks D_disc ({s['n_tasks']} fixed w)")):
        c = syn["curves"][dist]
        for r, st in REF.items():
            ax.plot(ks, c[r], **st)
        for name, st in styles.items():
            ax.plot(ks, c[name], markersize=3, **st)
        ax.axhline(syn["noise_floor"], color="green", linewidth=0.8, label="noise floor sigma²/d")
        ax.set_xlabel("number of in-context examples k")
        ax.set_ylabel("squared error / d")
        ax.set_title(title)
    h, lab = axes[0].get_legend_handles_labels()
    fig.legend(h, lab, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax = axes[2]
    bins = syn["delta_by_pi"]
    ctr = [(b["lo"] + b["hi"]) / 2 for b in bins if b["delta"] is not None]
    val = [b["delta"] for b in bins if b["delta"] is not None]
    wid = [(b["hi"] - b["lo"]) * 0.9 for b in bins if b["delta"] is not None]
    ax.bar(ctr, val, width=wid, color="tab:red", alpha=0.7, label=f"fine-tuned ({p['synthetic']['claims']['finetune_step']} steps) − pre-trained")
    for x, b in zip(ctr, [b for b in bins if b["delta"] is not None]):
        ax.annotate(f"n={b['n']}", (x, b["delta"]), textcoords="offset points", xytext=(0, 3 if b["delta"] >= 0 else -10), ha="center", fontsize=7)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("Bayes posterior P(discrete task | prompt) under D_mix")
    ax.set_ylabel("loss change on D_cont (squared error / d)")
    ax.set_title("loss change on D_cont vs posterior ambiguity (k ≥ 1)")
    lo, hi = min(val + [0.0]), max(val + [0.0])
    ax.set_ylim(lo - 0.15 * (hi - lo) - 1e-9, hi + 0.25 * (hi - lo) + 1e-9)
    ax.legend(loc="upper right")
    fig.suptitle(f"conjugate_prompting: in-context linear regression loss vs examples, before and after fine-tuning (mean over {syn['runs']} training runs; "
                 "the paper's Fig. 2 shape, it quotes no numbers)", y=1.02, fontsize=10)
    fig.tight_layout()
    return fig


def conjugate_gamma(m: dict, p: dict, timing=None):
    """Conjugate prompting by label scaling: loss vs gamma per model."""
    plt, s, syn, styles = _setup(m, p)
    gammas = s["eval"]["gammas"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, dist, title in ((axes[0], "cont", "D_cont (continuous tasks)"), (axes[1], "disc", "D_disc (discrete tasks, the fine-tuning data)")):
        ml = syn["mean_loss"][dist]
        for name, st in styles.items():
            ax.plot(gammas, [ml[name][f"g{g:g}"] for g in gammas], **st)
        ax.axhline(ml["ridge"], **REF["ridge"])
        ax.axhline(ml["discrete"], **REF["discrete"])
        ax.axvline(1.0, color="gray", linewidth=0.6)
        ax.set_xscale("log", base=2)
        ax.set_xticks(gammas, [f"{g:g}" for g in gammas])
        ax.set_xlabel("label scale gamma (prompt labels × gamma, prediction ÷ gamma)")
        ax.set_ylabel("mean squared error / d over k = 0..K-1")
        ax.set_title(title)
    axes[0].legend(loc="upper left", fontsize=7)
    fig.suptitle(f"loss vs label scale gamma (gamma = 1: plain prompt; mean over {syn['runs']} training runs; the paper quotes no numbers)", y=1.02, fontsize=10)
    fig.tight_layout()
    return fig


def lm_probe(m: dict, p: dict, timing=None):
    """The LM probe: ICL accuracy per language of the pre-trained LM and of the fine-tunes (mean
    over runs, std as error bar, each run as a dot)."""
    plt, s, syn, styles = _setup(m, p)
    fig, ax = plt.subplots(figsize=(10, 4))
    lm = m.get("lm")
    if lm:
        langs = lm["languages"]
        x = np.arange(len(langs))
        bl = lm["by_language"]
        pre = [bl[la]["pretrained_acc"] for la in langs]
        ft = [bl[la]["finetuned_acc"] for la in langs]
        sd = [bl[la]["finetuned_sd"] for la in langs]
        ax.bar(x - 0.2, pre, 0.4, label=f"pre-trained ({lm['models']['pretrained']})", color="tab:blue")
        ax.bar(x + 0.2, ft, 0.4, yerr=sd, capsize=3, label=f"fine-tuned ({lm['models']['finetuned']}), mean ± std over {lm['runs']} runs", color="tab:red", alpha=0.8)
        for xi, la in zip(x, langs):
            runs = bl[la]["finetuned_runs"]
            ax.scatter(np.full(len(runs), xi + 0.2) + np.linspace(-0.08, 0.08, len(runs)), runs, s=10, color="black", zorder=3,
                       label="fine-tuned, each run" if xi == 0 else None)
        for xi, a, b in zip(x, pre, ft):
            ax.annotate(f"{a:.0f}", (xi - 0.2, a), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=7)
            ax.annotate(f"{b:.0f}", (xi + 0.2, b), textcoords="offset points", xytext=(8, 2), ha="left", fontsize=7)
            ax.annotate(f"drop {a - b:+.0f}", (xi, 108), ha="center", fontsize=8)
        ax.set_xticks(x, langs)
        ax.set_ylim(0, 115)
        ax.set_yticks([0, 20, 40, 60, 80, 100])
        ax.set_ylabel("in-context answer accuracy (%)")
        ax.set_xlabel("prompt language / conjugate transform")
        ax.set_title("ICL vs instruction-following probe: ICL accuracy per language, averaged over task pairs\n"
                     "(drop = pre-trained − fine-tuned, points; the paper's Table 1 shape, its numbers are not in our notes)", fontsize=9)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False, fontsize=8)
    else:
        ax.text(0.5, 0.5, "LM probe not run at this scale", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    fig.tight_layout()
    return fig

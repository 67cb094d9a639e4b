"""adapt_retrieve_revise's figures, from metrics.json only (never training code)."""

from __future__ import annotations

from paperdag.core import plotting

TASKS = [("lcr", "LCR"), ("cp", "CP"), ("qa", "LegalQA"), ("mcq", "Exam-MCQ"), ("avg", "average")]
SYSTEMS = [("general_direct", "general direct"), ("drafter_direct", "drafter direct"),
           ("qrag_general", "query-RAG + general"), ("qrag_draft_general", "query-RAG + draft + general"),
           ("arr", "ARR (draft retrieval)")]


def systems(metrics: dict, p: dict, timing=None):
    """Table 1 analogue as bars (mean ± std over runs), with the paper's ARR gain over each row drawn
    as the height ARR would need above that row."""
    plt = plotting.setup()
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4), gridspec_kw={"width_ratios": [3, 1.3]})
    ax = axes[0]
    w = 0.16
    colors = ["0.6", "tab:green", "tab:orange", "tab:red", "tab:blue"]
    for j, (key, label) in enumerate(SYSTEMS):
        s = metrics["systems"][key]
        xs = [i + (j - 2) * w for i in range(len(TASKS))]
        ax.bar(xs, [s[t]["mean"] or 0 for t, _ in TASKS], w, yerr=[s[t]["std"] or 0 for t, _ in TASKS], color=colors[j],
               label=label, capsize=2)
    ax.set_xticks(range(len(TASKS)), [n for _, n in TASKS])
    ax.set_ylabel("article-level recall / MCQ accuracy (%)")
    ax.hlines(25, 2.55, 3.45, color="k", ls=":", lw=1, label="MCQ chance (25 %)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Systems by task (ours, n = {metrics['n_runs']} runs; scoring-mode reviser)")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1]
    ref = p["paper_reference"]["arr_gain"]
    ci = metrics["claims_inputs"]
    keys = [("general_direct", "arr_minus_general_direct", "vs general direct"),
            ("qrag_general", "arr_minus_qrag_general", "vs query-RAG + general"),
            ("qrag_draft_general", "arr_minus_qrag_draft_general", "vs query-RAG + draft + general")]
    ys = range(len(keys))
    ax.barh([y + 0.2 for y in ys], [ci[c]["mean"] for _, c, _ in keys], 0.4, xerr=[ci[c]["std"] for _, c, _ in keys],
            color="tab:blue", label="ours (average over tasks)")
    ax.barh([y - 0.2 for y in ys], [ref[k] for k, _, _ in keys], 0.4, color="0.75", label="paper (v3, average)")
    ax.set_yticks(list(ys), [lab for _, _, lab in keys], fontsize=7)
    ax.set_xlabel("ARR gain (points, average of the 4 tasks)")
    ax.set_title("ARR minus baseline")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def recall_at_k(metrics: dict, p: dict, timing=None):
    """Paper Figure 4: recall@k of the gold article, retrieval keyed on the question vs the draft."""
    plt = plotting.setup()
    fig, axes = plt.subplots(1, 5, figsize=(14, 3.3), sharey=True)
    r = metrics["retrieval"]["all"]
    for ax, (t, name) in zip(axes, TASKS):
        for key, color, label in (("query", "tab:orange", "query-keyed"), ("draft", "tab:blue", "draft-keyed")):
            ks = sorted(r[t][key], key=int)
            m = [r[t][key][k]["mean"] for k in ks]
            s = [r[t][key][k]["std"] for k in ks]
            ax.errorbar([int(k) for k in ks], m, yerr=s, marker="o", color=color, label=label, capsize=2)
        ax.set_title(name)
        ax.set_xlabel("k")
        ax.set_ylim(0, 105)
    axes[0].set_ylabel("recall@k (%)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Retrieval recall@k by key (ours, n = {metrics['n_runs']} runs; the paper's Fig. 4 gives no numbers in our notes)", fontsize=9)
    fig.tight_layout()
    return fig


def draft_source(metrics: dict, p: dict, timing=None):
    """Paper Figure 5: which text keys the retrieval, at the reviser's k: query, the drafter's draft,
    the general model's own answer."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    r = metrics["retrieval"]["subset"]
    k = str(metrics["k"])
    w = 0.26
    for j, (key, color, label) in enumerate((("query", "tab:orange", "question"), ("draft", "tab:blue", "drafter's draft"),
                                             ("general", "0.5", "general model's answer"))):
        xs = [i + (j - 1) * w for i in range(len(TASKS))]
        ax.bar(xs, [r[t][key][k]["mean"] for t, _ in TASKS], w, yerr=[r[t][key][k]["std"] for t, _ in TASKS], color=color,
               label=label, capsize=2)
    ax.set_xticks(range(len(TASKS)), [n for _, n in TASKS])
    ax.set_ylabel(f"recall@{k} (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Retrieval key source (ours, n = {metrics['n_runs']} runs)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def iterations(metrics: dict, p: dict, timing=None):
    """Paper Figure 7: rounds of retrieve -> revise (each round retrieves with the previous round's
    revised answer and revises it again), with the share of answers each round changes."""
    plt = plotting.setup()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    ax = axes[0]
    it = metrics["iterations"]
    rounds = sorted(it, key=int)
    for t, name in TASKS:
        ax.errorbar([int(r) for r in rounds], [it[r][t]["mean"] for r in rounds], yerr=[it[r][t]["std"] for r in rounds],
                    marker="o", label=name, capsize=2, linewidth=2.5 if t == "avg" else 1)
    ax.set_xticks([int(r) for r in rounds])
    ax.set_xlabel("retrieve → revise round")
    ax.set_ylabel("article-level recall / MCQ accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"ARR iterations (ours, scoring reviser, n = {metrics['n_runs']} runs)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    bars = [(f"{what} changed, round {r} vs {int(r) - 1}", metrics.get(field, {})[r], color)
            for field, what, color in (("iteration_evidence_changed", "evidence", "0.6"), ("iteration_changed", "answers", "tab:red"))
            for r in sorted(metrics.get(field, {}), key=int)]
    w = 0.8 / max(1, len(bars))
    for j, (label, ch, color) in enumerate(bars):
        xs = [i + (j - (len(bars) - 1) / 2) * w for i in range(len(TASKS))]
        ax.bar(xs, [ch[t]["mean"] for t, _ in TASKS], w, yerr=[ch[t]["std"] for t, _ in TASKS], capsize=2, color=color, label=label)
    ax.set_xticks(range(len(TASKS)), [n for _, n in TASKS], fontsize=8)
    ax.set_ylabel("items changed (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Share of items whose evidence / answer a new round changes", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig

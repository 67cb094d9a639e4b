"""The claims ledger: each claim in a paper's config names a metric, the paper's value, and a
check. `evaluate_claims` compares them with this run's metrics and writes one row per claim:
paper value, ours (mean ± std over n), verdict:

- reproduced: the check holds for our mean and for mean ± one standard error (std/sqrt(n));
- inconclusive: the check holds for our mean but not across mean ± one standard error, i.e.
  the seeds disagree about it, or it rests on fewer independent runs than the claim's `min_n`;
- not reproduced: the check fails for our mean;
- not measured: this scale does not measure the claim's metric (never counted as reproduced)."""

from __future__ import annotations

from typing import Any

VERDICTS = ("reproduced", "inconclusive", "not reproduced", "not measured")


def _stat(metrics: dict, key: str) -> dict | None:
    """Metrics carry claim inputs as {mean, std, n} under metrics['claims_inputs'][key], or a
    plain number at metrics[key]."""
    ci = metrics.get("claims_inputs", {})
    if key in ci and ci[key] is not None:
        v = ci[key]
        if isinstance(v, dict):
            return {"mean": v.get("mean"), "std": v.get("std", 0.0), "n": v.get("n", 1)}
        return {"mean": float(v), "std": 0.0, "n": 1}
    v = metrics.get(key)
    if isinstance(v, (int, float)):
        return {"mean": float(v), "std": 0.0, "n": 1}
    return None


def check_claim(claim: dict, ours: float) -> bool:
    kind = claim["check"]
    if kind == "at_least":
        return ours >= claim["threshold"]
    if kind == "at_most":
        return ours <= claim["threshold"]
    if kind == "within":
        return abs(ours - claim["paper_value"]) <= claim["tolerance"]
    if kind == "same_sign":
        pv = claim["paper_value"]
        return (ours > 0) == (pv > 0) and ours != 0
    raise ValueError(f"unknown check {kind}")


def describe_check(claim: dict) -> str:
    kind = claim["check"]
    unit = claim.get("unit", "")
    if kind == "at_least":
        return f"ours >= {claim['threshold']}{unit}"
    if kind == "at_most":
        return f"ours <= {claim['threshold']}{unit}"
    if kind == "within":
        return f"|ours - paper| <= {claim['tolerance']}{unit}"
    return "same sign as the paper"


def evaluate_claims(claims: list[dict], metrics: dict, scale: str) -> list[dict[str, Any]]:
    rows = []
    for c in claims:
        row = {
            "id": c["id"],
            "text": c["text"],
            "paper": c.get("paper", ""),
            "metric": c["metric"],
            "paper_value": c.get("paper_value"),
            "unit": c.get("unit", ""),
            "criterion": describe_check(c),
        }
        st = _stat(metrics, c["metric"])
        applies = scale in c.get("scales", [scale])
        if st is None or st["mean"] is None or not applies:
            row.update(ours=None, ours_std=None, n=0, verdict="not measured")
        else:
            m, sd, n = st["mean"], st["std"] or 0.0, max(1, st["n"] or 1)
            se = sd / n**0.5
            if not check_claim(c, m):
                verdict = "not reproduced"
            elif n < c.get("min_n", 1):  # too few independent runs to tell an effect from seed noise
                verdict = "inconclusive"
            elif check_claim(c, m - se) and check_claim(c, m + se):
                verdict = "reproduced"
            else:
                verdict = "inconclusive"
            row.update(ours=m, ours_std=st["std"], n=st["n"], verdict=verdict)
        rows.append(row)
    return rows


def fmt_value(v, std=None, n=None, digits=2) -> str:
    if v is None:
        return "–"
    s = f"{v:.{digits}f}"
    if std is not None and n and n > 1:
        s += f" ± {std:.{digits}f} (n={n})"
    return s


def claims_markdown(rows: list[dict]) -> str:
    out = ["| claim | paper | ours | criterion | verdict |", "|---|---|---|---|---|"]
    for r in rows:
        pv = fmt_value(r["paper_value"])
        if r.get("paper"):
            pv = f"{pv} ({r['paper']})"
        out.append(
            f"| {r['text']} | {pv} | {fmt_value(r['ours'], r['ours_std'], r['n'])} | {r['criterion']} | **{r['verdict']}** |"
        )
    return "\n".join(out) + "\n"

"""The claims ledger: each row of a paper's config names a metric, the paper's value and a check.
`evaluate_claims` compares them with this run's metrics and writes one row per entry: paper value,
ours (mean ± std over n independent runs), the interval the verdict rests on, ours / paper, and a
verdict. Rows are of three kinds (`kind:` in the config, default `claim`):

- **claim**, an empirical finding of the paper. With m, s, n the mean, std and number of
  independent runs (training seeds, benchmark batches; never prompts or examples of one model)
  and t the Student-t quantile with n - 1 degrees of freedom:
  - *reproduced*: the one-sided 95 % t-bound of the mean lies on the claim's side of its threshold
    (`at_least`: m - t(.95) s/sqrt(n) >= threshold; `at_most`: m + t(.95) s/sqrt(n) <= threshold;
    `same_sign`: the bound on the paper's side of 0 excludes 0); `within`: the two-sided 90 %
    t-interval lies inside paper_value ± tolerance (two one-sided 5 % tests, TOST). Under a null
    effect (true mean exactly at the threshold) this says "reproduced" at most 5 % of the time;
  - *reproduced, weaker*: reproduced, but the claim's effect is under half the paper's comparable
    number (ours / paper < 0.5; `at_least` and `same_sign` claims, and `at_most` claims whose
    paper number is a negative effect such as a drop; see `comparable_paper_number`);
  - *inconclusive*: the mean passes but the interval does not; or n < the claim's `min_n`, whether
    the mean passes or fails (too few runs to assert either way); or a
    single measurement (n = 1: no replicates, no interval), which is never "reproduced"; or a
    mean whose std is not written (missing, null, NaN: no interval either);
  - *not reproduced*: the check fails for our mean (with at least `min_n` runs);
  - *not measured*: this scale does not measure the claim's metric.
- **check** (true by construction, a correctness identity, or a testbed precondition that
  premises rest on): *check passed* / *check failed*,
  decided on the measured value (the mean where runs are averaged); no interval, any n.
- **analytic** (a formula evaluated on our sizes): *analytic*, the value shown (the row also records
  whether its criterion holds, `criterion_holds`).

Premises: a claim may list `requires: [ids]` of rows of the same paper. A required row that failed
(claim not reproduced, check failed, analytic criterion false) makes the claim
"not reproduced (premise failed: <id>)", whatever its own value. A required row that is not
established (inconclusive, not measured) caps the claim at "inconclusive (premise inconclusive:
<id>)": a claim is never more reproduced than its premises. Premises are resolved in dependency
order, so failure propagates along chains.

Only rows of kind `claim` are counted as verdicts (`count_verdicts`); checks and analytic rows are
listed apart."""

from __future__ import annotations

import math
from typing import Any

from .stats import t_bound, t_interval

KINDS = ("claim", "check", "analytic")
CLAIM_VERDICTS = ("reproduced", "reproduced, weaker", "inconclusive", "not reproduced", "not measured")
CHECK_VERDICTS = ("check passed", "check failed", "not measured")
ANALYTIC_VERDICTS = ("analytic", "not measured")
# every value `verdict_class` can take (the full `verdict` may add "(premise failed: <id>)")
VERDICT_CLASSES = tuple(dict.fromkeys(CLAIM_VERDICTS + CHECK_VERDICTS + ANALYTIC_VERDICTS))
VERDICTS = CLAIM_VERDICTS  # the verdicts counted in the ledger (claims only)

LEVEL = 0.95  # one-sided confidence of the bound a "reproduced" rests on
WITHIN_LEVEL = 0.90  # two-sided interval for `within` (= two one-sided 95 % bounds)
WEAKER_BELOW = 0.5  # ours / paper under this: "reproduced, weaker"


def _stat(metrics: dict, key: str) -> dict | None:
    """Metrics carry claim inputs as {mean, std, n} under metrics['claims_inputs'][key] (optionally
    `runs`, the number of independent runs when n counts prompts or examples of fewer trained
    models: then n = runs), or a plain number at metrics[key] (one measurement: n = 1)."""
    ci = metrics.get("claims_inputs", {})
    if key in ci and ci[key] is not None:
        v = ci[key]
        if isinstance(v, dict):
            n = v.get("n", 1)
            # `runs`: independent runs behind a mean taken over prompts/examples (pseudo-replicates):
            # the verdict counts runs, never the prompts
            if v.get("runs") is not None and (n is None or v["runs"] < n):
                n = v["runs"]
            return {"mean": v.get("mean"), "std": v.get("std"), "n": n}  # no std: unknown, not 0
        return {"mean": float(v), "std": 0.0, "n": 1}
    v = metrics.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"mean": float(v), "std": 0.0, "n": 1}
    return None


def check_claim(claim: dict, ours: float) -> bool:
    kind = claim["check"]
    if math.isnan(ours):  # a broken measurement passes no check (NaN > 0 is False, so is NaN < 0)
        return False
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


def verdict_interval(claim: dict, mean: float, std: float, n: int) -> tuple[float, float]:
    """The interval of the mean a claim's verdict rests on: (lower, +inf) for `at_least`,
    (-inf, upper) for `at_most`, the one-sided bound on the paper's side for `same_sign`, the
    two-sided 90 % interval for `within`. Infinite ends where n < 2."""
    kind = claim["check"]
    if kind == "within":
        return t_interval(mean, std, n, WITHIN_LEVEL)
    if kind == "at_least" or (kind == "same_sign" and claim["paper_value"] > 0):
        return t_bound(mean, std, n, LEVEL, "lower"), math.inf
    return -math.inf, t_bound(mean, std, n, LEVEL, "upper")


def interval_holds(claim: dict, lo: float, hi: float) -> bool:
    kind = claim["check"]
    if kind == "at_least":
        return lo >= claim["threshold"]
    if kind == "at_most":
        return hi <= claim["threshold"]
    if kind == "within":
        pv, tol = claim["paper_value"], claim["tolerance"]
        return lo >= pv - tol and hi <= pv + tol
    if kind == "same_sign":
        return lo > 0 if claim["paper_value"] > 0 else hi < 0
    raise ValueError(f"unknown check {kind}")


def comparable_paper_number(claim: dict) -> float | None:
    """The paper's number for the same quantity as our metric, for ours / paper: `paper_effect`
    when the config sets it (null: no comparable number, e.g. a non-inferiority claim), else
    `paper_value` for `at_least`, `at_most` and `same_sign` claims (for `within`, paper_value is
    the target, not an effect)."""
    if "paper_effect" in claim:
        return claim["paper_effect"]
    if claim["check"] in ("at_least", "at_most", "same_sign"):
        return claim.get("paper_value")
    return None


def _finite(x):
    return x if x is not None and math.isfinite(x) else None


def _fmt(x) -> str:
    return f"{x:.4g}"


def _own_verdict(c: dict, m: float, sd: float, n: int, row: dict) -> tuple[str, str]:
    """(verdict, reason) of one row from its own measurement, before premises."""
    kind = c.get("kind", "claim")
    holds = check_claim(c, m)
    if kind == "analytic":
        row["criterion_holds"] = holds
        return "analytic", f"formula value; criterion {'holds' if holds else 'does not hold'}"
    if kind == "check":
        return ("check passed", "holds") if holds else ("check failed", "fails for the measured value")
    if n < c.get("min_n", 1):  # too few runs to assert either way, a failing mean included
        return "inconclusive", (f"n = {n} independent runs < min_n = {c['min_n']} "
                                f"(the mean {'passes' if holds else 'fails'} the check)")
    if not holds:
        return "not reproduced", "the check fails for our mean"
    if n < 2:
        return "inconclusive", "a single measurement (n = 1): no replicates, no interval"
    if sd is None or not math.isfinite(sd):
        return "inconclusive", f"n = {n} runs but no std of them: no interval"
    lo, hi = verdict_interval(c, m, sd, n)
    what = "90 % two-sided interval" if c["check"] == "within" else "95 % one-sided bound"
    if not interval_holds(c, lo, hi):
        return "inconclusive", f"mean passes, the {what} does not"
    # magnitude: an effect in the paper's direction but under half its size (for at_most claims
    # only where the paper's number is a negative effect, e.g. a drop; an upper bound on a
    # positive quantity has no "size of effect" to compare)
    directional = c["check"] in ("at_least", "same_sign") or (c["check"] == "at_most" and (comparable_paper_number(c) or 0) < 0)
    if directional and row.get("ratio") is not None and row["ratio"] < WEAKER_BELOW:
        return "reproduced, weaker", f"the {what} passes; ours / paper = {row['ratio']:.2f} < {WEAKER_BELOW}"
    return "reproduced", f"the {what} passes"


def _premise_status(row: dict) -> str:
    """'ok', 'failed' or 'unsure' for a row used as a premise."""
    vc = row["verdict_class"]
    if vc in ("reproduced", "reproduced, weaker", "check passed"):
        return "ok"
    if vc in ("not reproduced", "check failed"):
        return "failed"
    if vc == "analytic":
        return "ok" if row.get("criterion_holds") else "failed"
    return "unsure"


def _premise_order(claims: list[dict]) -> list[str]:
    """Ids in an order where every row comes after the rows it requires (ValueError on a cycle)."""
    req = {c["id"]: list(c.get("requires", [])) for c in claims}
    order, state = [], {}

    def visit(i, path):
        if state.get(i) == "done":
            return
        if state.get(i) == "open":
            raise ValueError("requires: cycle " + " -> ".join(path + [i]))
        state[i] = "open"
        for r in req.get(i, []):
            if r not in req:
                raise ValueError(f"claim {i}: requires unknown claim id '{r}'")
            visit(r, path + [i])
        state[i] = "done"
        order.append(i)

    for i in req:
        visit(i, [])
    return order


def evaluate_claims(claims: list[dict], metrics: dict, scale: str) -> list[dict[str, Any]]:
    rows = []
    for c in claims:
        kind = c.get("kind", "claim")
        row = {
            "id": c["id"],
            "kind": kind,
            "text": c["text"],
            "paper": c.get("paper", ""),
            "metric": c["metric"],
            "paper_value": c.get("paper_value"),
            "unit": c.get("unit", ""),
            "criterion": describe_check(c),
            "requires": list(c.get("requires", [])),
            "interval": [None, None],
            "ratio": None,
        }
        if c.get("paper_value_note"):
            row["paper_value_note"] = c["paper_value_note"]
        st = _stat(metrics, c["metric"])
        applies = scale in c.get("scales", [scale])
        if st is None or st["mean"] is None or not applies:
            row.update(ours=None, ours_std=None, n=0, verdict="not measured", reason="this scale does not measure it")
        else:
            m, sd, n = st["mean"], st["std"], max(1, st["n"] or 1)
            p = comparable_paper_number(c)
            if kind == "claim" and p:
                row["ratio"] = m / p
            if kind == "claim" and n >= 2:
                row["interval"] = [_finite(v) for v in verdict_interval(c, m, sd, n)]
            verdict, reason = _own_verdict(c, m, sd, n, row)
            row.update(ours=m, ours_std=st["std"], n=st["n"], verdict=verdict, reason=reason)
        row["verdict_class"] = row["verdict"]
        rows.append(row)
    by_id = {r["id"]: r for r in rows}
    for i in _premise_order(claims):
        r = by_id[i]
        if not r["requires"] or r["verdict_class"] == "not measured":
            continue
        status = {p: _premise_status(by_id[p]) for p in r["requires"]}
        failed = [p for p, s in status.items() if s == "failed"]
        unsure = [p for p, s in status.items() if s == "unsure"]
        if failed:
            r["verdict"] = f"not reproduced (premise failed: {', '.join(failed)})"
            r["verdict_class"] = "not reproduced"
            r["reason"] = f"premise failed: {', '.join(failed)}; own measurement: {r['reason']}"
        elif unsure and r["verdict_class"] in ("reproduced", "reproduced, weaker"):
            r["verdict"] = f"inconclusive (premise inconclusive: {', '.join(unsure)})"
            r["verdict_class"] = "inconclusive"
            r["reason"] = f"premise not established: {', '.join(unsure)}; own measurement: {r['reason']}"
    return rows


def count_verdicts(rows: list[dict], kind: str = "claim") -> dict[str, int]:
    """Verdict classes of the rows of one kind (ledgers written before kinds existed: all claims)."""
    counts: dict[str, int] = {}
    for r in rows:
        if r.get("kind", "claim") == kind:
            v = r.get("verdict_class", r["verdict"])
            counts[v] = counts.get(v, 0) + 1
    order = {v: i for i, v in enumerate(VERDICT_CLASSES)}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], 99)))


def counts_line(rows: list[dict]) -> str:
    """'5 reproduced, 1 inconclusive; checks: 2 passed; analytic: 2' (claims counted, others apart)."""
    parts = [", ".join(f"{v} {k}" for k, v in count_verdicts(rows, "claim").items()) or "no claims"]
    chk = count_verdicts(rows, "check")
    if chk:
        parts.append("checks: " + ", ".join(f"{v} {k.replace('check ', '')}" for k, v in chk.items()))
    ana = count_verdicts(rows, "analytic")
    if ana:
        parts.append(f"analytic: {sum(ana.values())}")
    return "; ".join(parts)


def fmt_value(v, std=None, n=None, digits=2) -> str:
    """'3.00 ± 0.50 (n=4)'; a single measurement shows its n too: '1.16 (n=1)'."""
    if v is None:
        return "–"

    def num(x):  # small non-zero values (e.g. a 6.4e-05 logit difference) keep two significant digits
        return f"{x:.2g}" if x and abs(x) < 0.5 * 10**-digits else f"{x:.{digits}f}"

    s = num(v)
    if n is not None and n > 1 and std is not None:
        s += f" ± {num(std)}"
    if n:
        s += f" (n={n})"
    return s


def fmt_interval(r: dict, digits=2) -> str:
    lo, hi = (r.get("interval") or [None, None])[:2]
    if lo is None and hi is None:
        return "–"
    if hi is None:
        return f"≥ {lo:.{digits}f}"
    if lo is None:
        return f"≤ {hi:.{digits}f}"
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def fmt_ratio(r: dict) -> str:
    return "–" if r.get("ratio") is None else f"{r['ratio']:.2f}"


def md_cell(text: str) -> str:
    """Text for a Markdown table cell: a literal '|' (as in '|ours - paper|') would split the cell."""
    return str(text).replace("|", "\\|")


def _paper_cell(r: dict) -> str:
    pv = fmt_value(r["paper_value"])
    if r.get("paper_value") is None and r.get("paper_value_note"):
        pv = f"– ({r['paper_value_note']})"
    if r.get("paper"):
        pv = f"{pv} ({r['paper']})"
    return pv


def claims_markdown(rows: list[dict]) -> str:
    """Claims (counted), then checks and analytic rows in tables of their own."""
    out = []
    claims = [r for r in rows if r.get("kind", "claim") == "claim"]
    checks = [r for r in rows if r.get("kind") == "check"]
    analytic = [r for r in rows if r.get("kind") == "analytic"]
    if claims:
        out += [
            "Claims (counted): " + (", ".join(f"{v} {k}" for k, v in count_verdicts(rows).items()) or "none"),
            "",
            "| claim | paper | ours | ours / paper | criterion | interval (95 %) | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in claims:
            out.append(
                f"| {r['text']} | {_paper_cell(r)} | {fmt_value(r['ours'], r['ours_std'], r['n'])} | {fmt_ratio(r)} "
                f"| {md_cell(r['criterion'])} | {fmt_interval(r)} | **{r['verdict']}** |"
            )
    if checks:
        out += ["", "Checks (identities, ground truth and testbed preconditions; not counted as claims):", "",
                "| check | expected | ours | criterion | verdict |", "|---|---|---|---|---|"]
        for r in checks:
            out.append(f"| {r['text']} | {_paper_cell(r)} | {fmt_value(r['ours'], r['ours_std'], r['n'])} | {md_cell(r['criterion'])} | **{r['verdict']}** |")
    if analytic:
        out += ["", "Analytic values (a formula on our sizes; not counted as claims):", "",
                "| value | paper | ours | criterion | verdict |", "|---|---|---|---|---|"]
        for r in analytic:
            holds = " (criterion holds)" if r.get("criterion_holds") else (" (criterion does not hold)" if r.get("criterion_holds") is False else "")
            out.append(f"| {r['text']} | {_paper_cell(r)} | {fmt_value(r['ours'], r['ours_std'], r['n'])} | {md_cell(r['criterion'])}{holds} | **{r['verdict']}** |")
    return "\n".join(out).lstrip("\n") + "\n"

"""The claims ledger: each row of a paper's config names a metric, the paper's value and a check.
`evaluate_claims` compares them with this run's metrics and writes one row per entry: paper value,
ours (mean ± std over n independent runs), both bounds of the interval the verdict rests on,
ours / paper, and a verdict. Every count of verdicts anywhere (claims.json, claims.md, SUMMARY.md,
`paperdag list`, the README table, the run view) comes from `verdict_counts` / `counts_line` here.

Rows are of five kinds (`kind:` in the config, default `claim`):

- **claim**, one of the paper's own empirical findings. With m, s, n the mean, std and number of
  independent runs (training seeds, benchmark batches; never prompts or examples of one model) and
  t the Student-t quantile with n - 1 degrees of freedom, the interval is [m - t(.95) s/sqrt(n),
  m + t(.95) s/sqrt(n)]: each end a one-sided 95 % bound, together the two-sided 90 % interval.
  - *reproduced*: the interval lies wholly on the claim's side of its threshold (`at_least`: lower
    bound >= threshold; `at_most`: upper bound <= threshold; `same_sign`: the interval excludes 0
    on the paper's side; `within`: the interval lies inside paper_value ± tolerance, i.e. TOST).
    Under a true mean exactly at the threshold this happens at most 5 % of the time;
  - *reproduced, weaker*: reproduced, but the effect is under half the paper's comparable number
    (ours / paper < 0.5; `at_least` and `same_sign` claims, and `at_most` claims whose paper
    number is a negative effect such as a drop; see `comparable_paper_number`);
  - *not reproduced*: the interval lies wholly on the failing side (`at_least`: upper bound <
    threshold; `at_most`: lower bound > threshold; `same_sign`: the interval excludes 0 on the
    other side; `within`: the interval lies wholly outside paper_value ± tolerance, the mirror of
    TOST). Under a true mean exactly at the threshold this too happens at most 5 % of the time;
  - *inconclusive*: the interval reaches the threshold (whichever side the mean is on); or
    n < the claim's `min_n`; or a single measurement (n = 1: no interval); or a mean whose std is
    not written; or a NaN measurement. Each inconclusive row with an observed spread carries
    `runs_needed`: the number of runs at which the observed mean and std would decide (a power
    estimate, labelled as such);
  - *untestable*: a premise the claim requires failed: the claim was not tested
    (`untestable (premise: <id>)`);
  - *not measured*: this scale does not measure the claim's metric.
- **premise**, a precondition of the testbed that claims rest on (the model learned the task, the
  trivial control is beaten, the mechanism exists at this size): the same interval rule, with the
  verdicts *premise holds* / *premise failed* / *premise inconclusive* / *untestable* /
  *not measured*. Never counted among the paper's claims.
- **check** (true by construction: an identity, a generator's ground truth, equality with a
  reference): *check passed* / *check failed*. A check over several runs passes only if it holds in
  every run: on the per-run `values` where metrics give them, else on both ends of the range every
  run must lie in (Samuelson's bound: |x_i - m| <= s (n - 1) / sqrt(n)).
- **analytic** (a formula evaluated on our sizes): *analytic*, the value shown (the row also records
  whether its criterion holds, `criterion_holds`).
- **descriptive**: a measured number shown beside the paper's where no decision is possible by
  design (one pretrained model; an absolute score on our generator's difficulty): *descriptive*.

Premises: `requires: [ids]` on a claim or premise row names rows of the same paper. A required row
that failed (premise failed, claim not reproduced, check failed, analytic criterion false, or itself
untestable) makes the row *untestable*, whatever its own value. A required row that is not
established (inconclusive, not measured) caps the row at *inconclusive (premise inconclusive:
<id>)*: a row is never more decided than its premises. Rows are resolved in dependency order
(`premise_order`, the one cycle check, also used by the config validation), so failure propagates
along chains."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from .stats import t_bound

KINDS = ("premise", "claim", "check", "analytic", "descriptive")  # the ledger's order of sections
CLAIM_VERDICTS = ("reproduced", "reproduced, weaker", "inconclusive", "not reproduced", "untestable", "not measured")
PREMISE_VERDICTS = ("premise holds", "premise failed", "premise inconclusive", "untestable", "not measured")
CHECK_VERDICTS = ("check passed", "check failed", "not measured")
ANALYTIC_VERDICTS = ("analytic", "not measured")
DESCRIPTIVE_VERDICTS = ("descriptive", "not measured")
VERDICTS_BY_KIND = {"claim": CLAIM_VERDICTS, "premise": PREMISE_VERDICTS, "check": CHECK_VERDICTS,
                    "analytic": ANALYTIC_VERDICTS, "descriptive": DESCRIPTIVE_VERDICTS}
# every value `verdict_class` can take (the full `verdict` may add "(premise: <id>)")
VERDICT_CLASSES = tuple(dict.fromkeys(v for vs in VERDICTS_BY_KIND.values() for v in vs))
VERDICTS = CLAIM_VERDICTS  # the verdicts counted as the paper's claims

LEVEL = 0.95  # one-sided confidence of each bound of the interval
WEAKER_BELOW = 0.5  # ours / paper under this: "reproduced, weaker"
MAX_RUNS_NEEDED = 1000  # the power estimate's search stops here ("more than 1000")


# --------------------------------------------------------------------------------------------
# The check kinds, in one table: whether a value passes, what the interval decides, how far the
# mean is from deciding, and how the criterion reads.


@dataclass(frozen=True)
class CheckKind:
    describe: Callable[[dict], str]
    holds: Callable[[dict, float], bool]  # one value passes
    decide: Callable[[dict, float, float], str | None]  # "pass" / "fail" / None (open) for [lo, hi]
    margin: Callable[[dict, float], float]  # distance of a mean from the nearest decision boundary


def _u(c: dict) -> str:
    """The row's unit as written after a number ("%", " pts", "points" -> " points")."""
    u = c.get("unit", "")
    return u if not u or u[0] in " %" else f" {u}"


def _same_sign_pos(c: dict) -> bool:
    return c["paper_value"] > 0


def _within_margin(c: dict, m: float) -> float:
    lo, hi = c["paper_value"] - c["tolerance"], c["paper_value"] + c["tolerance"]
    return min(m - lo, hi - m) if lo <= m <= hi else (lo - m if m < lo else m - hi)


CHECKS: dict[str, CheckKind] = {
    "at_least": CheckKind(
        describe=lambda c: f"ours >= {c['threshold']}{_u(c)}",
        holds=lambda c, x: x >= c["threshold"],
        decide=lambda c, lo, hi: "pass" if lo >= c["threshold"] else ("fail" if hi < c["threshold"] else None),
        margin=lambda c, m: abs(m - c["threshold"]),
    ),
    "at_most": CheckKind(
        describe=lambda c: f"ours <= {c['threshold']}{_u(c)}",
        holds=lambda c, x: x <= c["threshold"],
        decide=lambda c, lo, hi: "pass" if hi <= c["threshold"] else ("fail" if lo > c["threshold"] else None),
        margin=lambda c, m: abs(m - c["threshold"]),
    ),
    "within": CheckKind(
        describe=lambda c: f"|ours - paper| <= {c['tolerance']}{_u(c)}",
        holds=lambda c, x: abs(x - c["paper_value"]) <= c["tolerance"],
        decide=lambda c, lo, hi: (
            "pass" if lo >= c["paper_value"] - c["tolerance"] and hi <= c["paper_value"] + c["tolerance"]
            else ("fail" if lo > c["paper_value"] + c["tolerance"] or hi < c["paper_value"] - c["tolerance"] else None)
        ),
        margin=lambda c, m: max(_within_margin(c, m), 0.0),
    ),
    "same_sign": CheckKind(
        describe=lambda c: "same sign as the paper",
        holds=lambda c, x: (x > 0) == _same_sign_pos(c) and x != 0,
        decide=lambda c, lo, hi: (
            ("pass" if lo > 0 else ("fail" if hi <= 0 else None)) if _same_sign_pos(c)
            else ("pass" if hi < 0 else ("fail" if lo >= 0 else None))
        ),
        margin=lambda c, m: abs(m),
    ),
}


def check_kind(claim: dict) -> CheckKind:
    try:
        return CHECKS[claim["check"]]
    except KeyError:
        raise ValueError(f"unknown check {claim.get('check')!r} (known: {', '.join(CHECKS)})") from None


def check_claim(claim: dict, ours: float) -> bool:
    """Does one value pass the row's criterion? (A NaN passes nothing.)"""
    if ours is None or math.isnan(ours):
        return False
    return check_kind(claim).holds(claim, ours)


def describe_check(claim: dict) -> str:
    return check_kind(claim).describe(claim)


def verdict_interval(mean: float, std: float | None, n: int) -> tuple[float, float]:
    """[lower, upper]: the one-sided 95 % t-bounds of the mean (the two-sided 90 % interval);
    infinite ends where n < 2 or the std is unknown."""
    return t_bound(mean, std, n, LEVEL, "lower"), t_bound(mean, std, n, LEVEL, "upper")


def runs_needed(claim: dict, mean: float, std: float, n: int) -> int | None:
    """A power estimate: the fewest runs at which an interval of the observed std around the
    observed mean would decide the row (t(.95, n'-1) s / sqrt(n') < the mean's distance from the
    nearest decision boundary), and at least the row's min_n. None: no estimate (no spread
    observed, or the mean sits on a boundary); MAX_RUNS_NEEDED + 1 means "more than that"."""
    if std is None or not math.isfinite(std) or std <= 0 or n < 2 or math.isnan(mean):
        return None
    d = check_kind(claim).margin(claim, mean)
    if d <= 0:
        return None
    def decides(k: int) -> bool:  # the half-width t(.95, k-1) s / sqrt(k) falls with k: bisect
        return t_bound(0.0, std, k, LEVEL, "upper") < d

    lo, hi = max(2, claim.get("min_n", 1)), MAX_RUNS_NEEDED
    if not decides(hi):
        return MAX_RUNS_NEEDED + 1
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if decides(mid) else (mid + 1, hi)
    return lo


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


# --------------------------------------------------------------------------------------------
# Reading metrics


def _stat(metrics: dict, key: str) -> dict | None:
    """Metrics carry claim inputs as {mean, std, n} under metrics['claims_inputs'][key]
    (optionally `runs`, the number of independent runs when n counts prompts or examples of fewer
    trained models: then n = runs; and `values`, one per run, for checks over runs), or a plain
    number at metrics[key] (one measurement: n = 1)."""
    ci = metrics.get("claims_inputs", {})
    if key in ci and ci[key] is not None:
        v = ci[key]
        if isinstance(v, dict):
            n = v.get("n", 1)
            # `runs`: independent runs behind a mean taken over prompts/examples (pseudo-replicates):
            # the verdict counts runs, never the prompts
            if v.get("runs") is not None and (n is None or v["runs"] < n):
                n = v["runs"]
            vals = v.get("values")
            return {"mean": v.get("mean"), "std": v.get("std"), "n": n,  # no std: unknown, not 0
                    "values": list(vals) if isinstance(vals, (list, tuple)) else None}
        return {"mean": float(v), "std": 0.0, "n": 1, "values": None}
    v = metrics.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"mean": float(v), "std": 0.0, "n": 1, "values": None}
    return None


def _finite(x):
    return x if x is not None and math.isfinite(x) else None


# --------------------------------------------------------------------------------------------
# Verdicts


_DECIDED = {  # (kind, decision) -> verdict
    ("claim", "pass"): "reproduced", ("claim", "fail"): "not reproduced", ("claim", None): "inconclusive",
    ("premise", "pass"): "premise holds", ("premise", "fail"): "premise failed", ("premise", None): "premise inconclusive",
}


def _interval_verdict(c: dict, kind: str, m: float, sd, n: int, row: dict) -> tuple[str, str]:
    """(verdict, reason) of a claim or premise row from its own measurement, before premises."""
    open_ = _DECIDED[(kind, None)]
    passes = check_claim(c, m)
    if math.isnan(m):
        return open_, "the measured value is NaN (a broken measurement): no verdict"
    if n < c.get("min_n", 1):  # too few runs to assert either way
        return open_, f"n = {n} independent runs < min_n = {c['min_n']} (the mean {'passes' if passes else 'fails'} the check)"
    if n < 2:
        return open_, "a single measurement (n = 1): no replicates, no interval"
    if sd is None or not math.isfinite(sd):
        return open_, f"n = {n} runs but no std of them: no interval"
    lo, hi = row["interval"]
    lo = -math.inf if lo is None else lo
    hi = math.inf if hi is None else hi
    decision = check_kind(c).decide(c, lo, hi)
    if decision is None:
        side = "passes" if passes else "fails"
        return open_, f"the mean {side} the check, but the 90 % interval [{_fmt(lo)}, {_fmt(hi)}] reaches the threshold"
    if decision == "fail":
        return _DECIDED[(kind, "fail")], f"the 90 % interval [{_fmt(lo)}, {_fmt(hi)}] lies on the failing side (each end a one-sided 95 % bound)"
    # magnitude: an effect in the paper's direction but under half its size (for at_most claims
    # only where the paper's number is a negative effect, e.g. a drop; an upper bound on a
    # positive quantity has no "size of effect" to compare)
    if kind == "claim":
        directional = c["check"] in ("at_least", "same_sign") or (c["check"] == "at_most" and (comparable_paper_number(c) or 0) < 0)
        if directional and row.get("ratio") is not None and row["ratio"] < WEAKER_BELOW:
            return "reproduced, weaker", f"the interval passes; ours / paper = {row['ratio']:.2f} < {WEAKER_BELOW}"
    return _DECIDED[(kind, "pass")], f"the 90 % interval [{_fmt(lo)}, {_fmt(hi)}] lies on the claim's side"


def _check_verdict(c: dict, st: dict) -> tuple[str, str]:
    """A check holds in every run: on the per-run values where given, else on both ends of the
    range (Samuelson) that every run of mean m and std s over n runs lies in."""
    m, sd, n, vals = st["mean"], st["std"], max(1, st["n"] or 1), st.get("values")
    if vals:
        bad = [i for i, x in enumerate(vals) if not check_claim(c, float("nan") if x is None else float(x))]
        if bad:
            return "check failed", f"fails in run(s) {', '.join(map(str, bad))} of {len(vals)} (per-run values {', '.join(_fmt(x) for x in vals)})"
        return "check passed", f"holds in each of the {len(vals)} runs"
    if n < 2 or sd == 0:
        if check_claim(c, m):
            return "check passed", "holds" if n < 2 else f"holds in each of the {n} runs (identical values)"
        return "check failed", "fails for the measured value"
    if sd is None or not math.isfinite(sd):
        return "check failed", f"{n} runs without per-run values or a std: cannot show it holds in every run"
    half = sd * (n - 1) / math.sqrt(n)
    lo, hi = m - half, m + half
    if check_claim(c, lo) and check_claim(c, hi) and check_claim(c, m):
        return "check passed", f"holds over the whole range [{_fmt(lo)}, {_fmt(hi)}] that each of the {n} runs lies in"
    return "check failed", (f"not shown to hold in every run: per-run values are not recorded and the range each "
                            f"of the {n} runs lies in, [{_fmt(lo)}, {_fmt(hi)}], reaches the failing side")


def _fmt(x) -> str:
    return f"{x:.4g}"


_FAILED = {"premise failed", "not reproduced", "check failed", "untestable"}
_ESTABLISHED = {"premise holds", "reproduced", "reproduced, weaker", "check passed", "descriptive"}


def premise_status(row: dict) -> str:
    """'ok', 'failed' or 'unsure' for a row used as a premise."""
    vc = row["verdict_class"]
    if vc == "analytic":
        return "ok" if row.get("criterion_holds") else "failed"
    if vc in _FAILED:
        return "failed"
    if vc in _ESTABLISHED:
        return "ok"
    return "unsure"


def premise_order(claims: list[dict], where: Callable[[str], str] | None = None) -> list[str]:
    """Ids in an order where every row comes after the rows it requires. The one premise check:
    an unknown id, a row requiring itself or a cycle raises ValueError (the config validation turns
    it into an error naming the file and key; `where(id)` gives that key)."""
    where = where or (lambda i: f"claim {i}")
    req = {c["id"]: list(c.get("requires", [])) for c in claims}
    order, state = [], {}

    def visit(i, path):
        if state.get(i) == "done":
            return
        if state.get(i) == "open":
            cyc = path[path.index(i):] + [i]
            raise ValueError(f"{where(cyc[0])}.requires: cycle of premises {' -> '.join(cyc)}")
        state[i] = "open"
        for j, r in enumerate(req[i]):
            if r == i:
                raise ValueError(f"{where(i)}.requires.{j}: claim '{r}' requires itself")
            if r not in req:
                raise ValueError(f"{where(i)}.requires.{j}: unknown claim id '{r}' (known: {', '.join(req)})")
            visit(r, path + [i])
        state[i] = "done"
        order.append(i)

    for i in req:
        visit(i, [])
    return order


def evaluate_claims(claims: list[dict], metrics: dict, scale: str) -> list[dict[str, Any]]:
    """One ledger row per config entry, in the config's order (`ledger_sections` groups them)."""
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
        for k in ("paper_value_note", "note"):
            if c.get(k):
                row[k] = c[k]
        st = _stat(metrics, c["metric"])
        applies = scale in c.get("scales", [scale])
        if st is None or st["mean"] is None or not applies:
            row.update(ours=None, ours_std=None, n=0, verdict="not measured", reason="this scale does not measure it")
        else:
            m, sd, n = float(st["mean"]), st["std"], max(1, st["n"] or 1)
            p = comparable_paper_number(c)
            if kind in ("claim", "descriptive") and p:
                row["ratio"] = m / p
            if n >= 2 and not math.isnan(m):
                row["interval"] = [_finite(v) for v in verdict_interval(m, sd, n)]
            if kind in ("claim", "premise"):
                verdict, reason = _interval_verdict(c, kind, m, sd, n, row)
                if verdict in ("inconclusive", "premise inconclusive"):
                    row["runs_needed"] = runs_needed(c, m, sd, n) if not math.isnan(m) else None
            elif kind == "check":
                verdict, reason = _check_verdict(c, st)
            elif kind == "analytic":
                row["criterion_holds"] = check_claim(c, m)
                verdict, reason = "analytic", f"formula value; criterion {'holds' if row['criterion_holds'] else 'does not hold'}"
            else:  # descriptive
                verdict, reason = "descriptive", "a measured value shown beside the paper's; no verdict by design"
            row.update(ours=m, ours_std=sd, n=st["n"], verdict=verdict, reason=reason)
            if st.get("values") is not None:
                row["values"] = st["values"]
        row["verdict_class"] = row["verdict"]
        rows.append(row)
    by_id = {r["id"]: r for r in rows}
    for i in premise_order(claims):
        r = by_id[i]
        if not r["requires"] or r["verdict_class"] == "not measured" or r["kind"] not in ("claim", "premise"):
            continue
        status = {p: premise_status(by_id[p]) for p in r["requires"]}
        failed = [p for p, s in status.items() if s == "failed"]
        unsure = [p for p, s in status.items() if s == "unsure"]
        if failed:
            r["verdict"] = f"untestable (premise: {', '.join(failed)})"
            r["verdict_class"] = "untestable"
            r["reason"] = f"premise failed: {', '.join(failed)}; own measurement: {r['reason']}"
            r.pop("runs_needed", None)
        elif unsure and r["verdict_class"] not in ("inconclusive", "premise inconclusive"):
            open_ = "inconclusive" if r["kind"] == "claim" else "premise inconclusive"
            r["verdict"] = f"{open_} (premise inconclusive: {', '.join(unsure)})"
            r["verdict_class"] = open_
            r["reason"] = f"premise not established: {', '.join(unsure)}; own measurement: {r['reason']}"
    return rows


# --------------------------------------------------------------------------------------------
# Counting: the one place


def verdict_counts(rows: list[dict]) -> dict[str, dict[str, int]]:
    """{kind: {verdict class: count}} in the fixed order of KINDS and of each kind's verdicts.
    Rows without `kind` (ledgers written before kinds existed) are claims."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        kind = r.get("kind") or "claim"
        v = r.get("verdict_class") or r.get("verdict", "?")
        out.setdefault(kind, {})
        out[kind][v] = out[kind].get(v, 0) + 1
    kinds = {k: i for i, k in enumerate(KINDS)}

    def order(kind: str, verdict: str) -> int:
        vs = VERDICTS_BY_KIND.get(kind, VERDICT_CLASSES)
        return vs.index(verdict) if verdict in vs else 99

    return {k: dict(sorted(c.items(), key=lambda kv: order(k, kv[0])))
            for k, c in sorted(out.items(), key=lambda kc: kinds.get(kc[0], 99))}


def count_verdicts(rows: list[dict], kind: str = "claim") -> dict[str, int]:
    """Verdict classes of the rows of one kind."""
    return verdict_counts(rows).get(kind, {})


_SHORT = {"check passed": "passed", "check failed": "failed", "premise holds": "hold", "premise failed": "failed",
          "premise inconclusive": "inconclusive"}


def counts_line(rows: list[dict]) -> str:
    """'5 reproduced, 1 inconclusive, 2 untestable; premises: 2 hold, 1 failed; checks: 2 passed;
    analytic: 2; descriptive: 1': the paper's claims counted, every other kind apart."""
    c = verdict_counts(rows)
    parts = [", ".join(f"{v} {k}" for k, v in c.get("claim", {}).items()) or "no claims"]
    for kind, label in (("premise", "premises"), ("check", "checks")):
        if c.get(kind):
            parts.append(f"{label}: " + ", ".join(f"{v} {_SHORT.get(k, k)}" for k, v in c[kind].items()))
    for kind in ("analytic", "descriptive"):
        if c.get(kind):
            parts.append(f"{kind}: {sum(c[kind].values())}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# Markdown


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
    return f"[{'-∞' if lo is None else f'{lo:.{digits}f}'}, {'+∞' if hi is None else f'{hi:.{digits}f}'}]"


def fmt_runs_needed(r: dict) -> str:
    k = r.get("runs_needed")
    if r.get("verdict_class") not in ("inconclusive", "premise inconclusive"):
        return ""
    if k is None:
        return "–"
    return f"> {MAX_RUNS_NEEDED}" if k > MAX_RUNS_NEEDED else str(k)


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


SECTION_TITLES = {
    "premise": "Premises (testbed preconditions the claims rest on; not counted as claims)",
    "claim": "Claims (the paper's findings; counted)",
    "check": "Checks (identities, ground truth, rows that hold by construction; not counted)",
    "analytic": "Analytic values (a formula on our sizes; not counted)",
    "descriptive": "Descriptive values (measured, shown beside the paper's; no verdict by design; not counted)",
}
INTERVAL_HEADER = "interval (90 %: one-sided 95 % bounds)"
RUNS_HEADER = "runs needed (power estimate)"


def ledger_sections(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """The rows grouped by kind, premises first."""
    return [(k, [r for r in rows if (r.get("kind") or "claim") == k]) for k in KINDS
            if any((r.get("kind") or "claim") == k for r in rows)]


def claims_markdown(rows: list[dict]) -> str:
    """Premises first, then the claims (counted), then checks, analytic and descriptive rows."""
    out = ["Verdicts: " + counts_line(rows), ""]
    for kind, rs in ledger_sections(rows):
        out += [f"### {SECTION_TITLES[kind]}", ""]
        if kind in ("claim", "premise"):
            out += [f"| {kind} | paper | ours | ours / paper | criterion | {INTERVAL_HEADER} | {RUNS_HEADER} | verdict |",
                    "|---|---|---|---|---|---|---|---|"]
            for r in rs:
                out.append(
                    f"| {md_cell(r['text'])} | {md_cell(_paper_cell(r))} | {fmt_value(r['ours'], r['ours_std'], r['n'])} | {fmt_ratio(r)} "
                    f"| {md_cell(r['criterion'])} | {fmt_interval(r)} | {fmt_runs_needed(r)} | **{r['verdict']}** |"
                )
        else:
            out += [f"| {kind} | paper | ours | {INTERVAL_HEADER} | criterion | verdict |", "|---|---|---|---|---|---|"]
            for r in rs:
                holds = ""
                if kind == "analytic":
                    holds = {True: " (criterion holds)", False: " (criterion does not hold)"}.get(r.get("criterion_holds"), "")
                out.append(f"| {md_cell(r['text'])} | {md_cell(_paper_cell(r))} | {fmt_value(r['ours'], r['ours_std'], r['n'])} "
                           f"| {fmt_interval(r)} | {md_cell(r['criterion'])}{holds} | **{r['verdict']}** |")
        notes = [r for r in rs if r.get("note")]
        if notes:
            out += [""] + [f"- `{r['id']}`: {r['note']}" for r in notes]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"

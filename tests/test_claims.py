"""The claims ledger's verdict rule (core/claims.py, core/stats.py): intervals, the null-effect
false-"reproduced" rate, row kinds, premises (and their config errors), min_n, magnitude, and the
SUMMARY showing n for every value. Fast: no pipeline runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from paperdag.core.claims import claims_markdown, count_verdicts, counts_line, evaluate_claims
from paperdag.core.config import validate_claims
from paperdag.core.errors import PaperdagError
from paperdag.core.stats import mean_std, summarize, t_bound, t_interval
from paperdag.core.summary import summary_markdown, summary_rows


def _claim(**kw):
    c = {"id": "c", "text": "t", "metric": "m", "paper_value": None, "check": "at_least", "threshold": 0.0}
    c.update(kw)
    return c


def _m(mean, std, n, key="m"):
    return {"claims_inputs": {key: {"mean": mean, "std": std, "n": n}}}


def _v(c, met, scale="default"):
    return evaluate_claims([c], met, scale)[0]["verdict"]


def test_t_interval_helper():
    # t(0.95, df=2) = 2.919986: mean 1, std 1, n 3 -> 1 - 2.919986/sqrt(3)
    assert t_bound(1.0, 1.0, 3, 0.95, "lower") == pytest.approx(1 - 2.919986 / math.sqrt(3), abs=1e-6)
    assert t_bound(1.0, 1.0, 3, 0.95, "upper") == pytest.approx(1 + 2.919986 / math.sqrt(3), abs=1e-6)
    # the two-sided 90 % interval ends at the one-sided 95 % bounds
    assert t_interval(1.0, 1.0, 3, 0.90) == pytest.approx((t_bound(1, 1, 3), t_bound(1, 1, 3, side="upper")))
    assert t_bound(2.0, 0.0, 1) == -math.inf and t_bound(2.0, 0.5, 1, side="upper") == math.inf
    assert t_bound(2.0, 0.0, 3) == 2.0  # identical replicates: the interval is the mean
    s = summarize([1.0, 2.0, 3.0])
    assert (s["mean"], s["std"], s["n"]) == (2.0, 1.0, 3) and s["lower"] == pytest.approx(2 - 2.919986 / math.sqrt(3), abs=1e-6)
    assert summarize([4.0])["lower"] is None and summarize([])["mean"] is None
    assert mean_std([1.0, None, 3.0]) == {"mean": 2.0, "std": math.sqrt(2), "n": 2}  # unchanged helper


def test_interval_rule_per_check():
    # at_least, threshold 0: mean 1, std 1, n 3 -> lower bound -0.69: the mean passes, the bound does not
    assert _v(_claim(), _m(1.0, 1.0, 3)) == "inconclusive"
    assert _v(_claim(), _m(2.0, 1.0, 3)) == "reproduced"  # lower bound 0.31
    # a mean on the failing side whose interval still reaches the threshold shows nothing either way
    assert _v(_claim(), _m(-0.1, 1.0, 3)) == "inconclusive"  # [-1.79, 1.59]
    assert _v(_claim(), _m(-2.0, 1.0, 3)) == "not reproduced"  # upper bound -0.31 < 0
    assert _v(_claim(check="at_most", threshold=0.0), _m(-2.0, 1.0, 3)) == "reproduced"
    assert _v(_claim(check="at_most", threshold=0.0), _m(-1.0, 1.0, 3)) == "inconclusive"
    assert _v(_claim(check="same_sign", paper_value=-5.0), _m(-4.0, 1.0, 3)) == "reproduced"
    assert _v(_claim(check="same_sign", paper_value=-5.0), _m(-1.0, 1.0, 3)) == "inconclusive"
    assert _v(_claim(check="same_sign", paper_value=-5.0), _m(1.0, 1.0, 3)) == "inconclusive"
    assert _v(_claim(check="same_sign", paper_value=-5.0), _m(2.0, 1.0, 3)) == "not reproduced"
    assert _v(_claim(check="at_most", threshold=0.0), _m(2.0, 1.0, 3)) == "not reproduced"  # lower 0.31 > 0
    # within: the two-sided 90 % interval inside paper ± tolerance (TOST)
    w = _claim(check="within", paper_value=0.0, tolerance=1.0)
    assert _v(w, _m(0.1, 0.2, 3)) == "reproduced"  # [-0.24, 0.44]
    assert _v(w, _m(0.9, 0.2, 3)) == "inconclusive"  # [0.56, 1.24]
    assert _v(w, _m(1.2, 0.2, 3)) == "inconclusive"  # [0.86, 1.54] reaches the tolerance
    assert _v(w, _m(1.6, 0.2, 3)) == "not reproduced"  # [1.26, 1.94] wholly outside: the mirror of TOST
    assert _v(w, _m(-1.6, 0.2, 3)) == "not reproduced"
    # both bounds are stored in every row with n >= 2
    row = evaluate_claims([_claim()], _m(2.0, 1.0, 3), "default")[0]
    half = 2.919986 / math.sqrt(3)
    assert row["interval"] == pytest.approx([2 - half, 2 + half], abs=1e-5)


def test_single_measurements_and_min_n():
    # one measurement, no replicates: never reproduced, however large
    assert _v(_claim(), _m(100.0, 0.0, 1)) == "inconclusive"
    assert _v(_claim(), {"m": 100.0}) == "inconclusive"  # a plain number in metrics.json
    assert _v(_claim(), _m(-1.0, 0.0, 1)) == "inconclusive"  # not reproduced needs an interval too
    assert _v(_claim(min_n=3), _m(5.0, 0.1, 2)) == "inconclusive"
    assert _v(_claim(min_n=3), _m(5.0, 0.1, 3)) == "reproduced"
    # too few runs to assert either way: a failing mean is inconclusive too, not "not reproduced"
    assert _v(_claim(min_n=3), _m(-5.0, 0.1, 2)) == "inconclusive"
    assert _v(_claim(min_n=3), _m(-5.0, 0.0, 1)) == "inconclusive"


def test_at_most_claims_about_a_drop_compare_magnitude():
    # the paper: a drop of 10 points; ours: a drop of 2 (same direction, a fifth of the size)
    c = _claim(check="at_most", threshold=-1.0, paper_value=-10.0)
    assert _v(c, _m(-2.0, 0.1, 5)) == "reproduced, weaker"
    assert _v(c, _m(-8.0, 0.1, 5)) == "reproduced"
    # an upper bound on a positive quantity (an error at most 5) has no effect size to compare
    assert _v(_claim(check="at_most", threshold=5.0, paper_value=4.0), _m(0.5, 0.1, 5)) == "reproduced"
    assert _v(_claim(metric="absent"), _m(5.0, 0.1, 3)) == "not measured"
    assert _v(_claim(scales=["paper"]), _m(5.0, 0.1, 3)) == "not measured"
    # 2000 prompts of one trained model are one run, not 2000 (pseudo-replication)
    pseudo = {"claims_inputs": {"m": {**mean_std([1.0, 1.1, 0.9] * 700, runs=1)}}}
    row = evaluate_claims([_claim()], pseudo, "default")[0]
    assert (row["verdict"], row["n"]) == ("inconclusive", 1)


def test_null_effect_false_reproduced_rate():
    """True mean exactly at the threshold, normal noise, n = 3 runs, fixed seed. The interval rule
    says "reproduced" in at most 5 % of trials; the old rule (mean and mean ± one standard error)
    in about 21 % (P(t_2 >= 1) = 0.211). 4000 trials: Monte-Carlo standard error of a 5 % rate is
    sqrt(.05 * .95 / 4000) = 0.0034, so the bound is 0.05 + 3 SE = 0.06."""
    rng = np.random.default_rng(20261201)
    trials, n, thr = 4000, 3, 1.0
    x = thr + rng.normal(0.0, 2.0, size=(trials, n))
    means, stds = x.mean(1), x.std(1, ddof=1)
    claim = _claim(threshold=thr)
    rows = evaluate_claims(
        [dict(claim, id=f"c{i}", metric=f"m{i}") for i in range(trials)],
        {"claims_inputs": {f"m{i}": {"mean": float(means[i]), "std": float(stds[i]), "n": n} for i in range(trials)}},
        "default",
    )
    new_rate = np.mean([r["verdict"] == "reproduced" for r in rows])
    se = stds / math.sqrt(n)
    old_rate = np.mean((means >= thr) & (means - se >= thr))
    assert new_rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials), new_rate
    assert 0.18 <= old_rate <= 0.25, old_rate
    # the same for within at the edge of the tolerance (paper 0, tolerance 1, true mean 1)
    y = 1.0 + rng.normal(0.0, 0.5, size=(trials, n))
    w = _claim(check="within", paper_value=0.0, tolerance=1.0)
    rows = evaluate_claims(
        [dict(w, id=f"w{i}", metric=f"w{i}") for i in range(trials)],
        {"claims_inputs": {f"w{i}": {"mean": float(y[i].mean()), "std": float(y[i].std(ddof=1)), "n": n} for i in range(trials)}},
        "default",
    )
    assert np.mean([r["verdict"] == "reproduced" for r in rows]) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials)


def test_kinds_are_listed_apart():
    claims = [
        _claim(id="a"),
        _claim(id="chk", kind="check", check="within", paper_value=0.0, tolerance=0.5, metric="e"),
        _claim(id="bad", kind="check", check="at_most", threshold=1e-4, metric="d"),
        _claim(id="ana", kind="analytic", check="at_most", threshold=0.9, metric="r"),
    ]
    met = {"claims_inputs": {"m": {"mean": 2.0, "std": 0.1, "n": 3}, "e": 0.0, "d": 0.01, "r": 0.7}}
    rows = {r["id"]: r for r in evaluate_claims(claims, met, "default")}
    assert rows["chk"]["verdict"] == "check passed"  # n = 1 is fine for a check
    assert rows["bad"]["verdict"] == "check failed"
    assert rows["ana"]["verdict"] == "analytic" and rows["ana"]["criterion_holds"] is True
    lst = list(rows.values())
    assert count_verdicts(lst) == {"reproduced": 1}
    assert counts_line(lst) == "1 reproduced; checks: 1 passed, 1 failed; analytic: 1"


def test_magnitude_weaker():
    # paper 15 points, ours 2.2 +- small: holds, but under half the paper's effect
    c = _claim(paper_value=15.0, threshold=1.0)
    row = evaluate_claims([c], _m(2.2, 0.3, 3), "default")[0]
    assert row["verdict"] == "reproduced, weaker" and row["ratio"] == pytest.approx(2.2 / 15)
    assert _v(c, _m(8.0, 0.3, 3)) == "reproduced"  # 0.53 of the paper's effect
    assert _v(dict(c, paper_effect=None), _m(2.2, 0.3, 3)) == "reproduced"  # no comparable number
    assert _v(dict(c, paper_value=None, paper_effect=3.0), _m(2.2, 0.3, 3)) == "reproduced"  # 0.73
    # within: paper_value is the target, not an effect
    assert evaluate_claims([_claim(check="within", paper_value=4.0, tolerance=1.0)], _m(4.0, 0.1, 3), "d")[0]["ratio"] is None


def test_premises():
    up = _m(3.0, 0.1, 3)["claims_inputs"]["m"]
    met = {"claims_inputs": {"up": up, "down": {"mean": -1.0, "std": 0.1, "n": 3}, "noisy": {"mean": 1.0, "std": 3.0, "n": 3}}}
    base = dict(check="at_least", threshold=0.0)
    claims = [
        _claim(id="drop", kind="premise", metric="down", **base),  # premise failed
        _claim(id="unsure", kind="premise", metric="noisy", **base),  # premise inconclusive
        _claim(id="explains", metric="up", requires=["drop"], **base),
        _claim(id="capped", metric="up", requires=["unsure"], **base),
        _claim(id="capped_neg", metric="down", requires=["unsure"], **base),
        _claim(id="chain", metric="up", requires=["explains"], **base),
        _claim(id="ok", metric="up", requires=["chk"], **base),
        _claim(id="chk", kind="check", metric="up", **base),
        _claim(id="gone", metric="absent", requires=["drop"], **base),
        _claim(id="held", kind="premise", metric="up", **base),
        _claim(id="on_held", metric="up", requires=["held"], **base),
        _claim(id="on_claim", metric="up", requires=["capped_neg_own"], **base),
        _claim(id="capped_neg_own", metric="down", **base),  # a claim not reproduced, required by another
    ]
    rows = {r["id"]: r for r in evaluate_claims(claims, met, "default")}
    assert rows["drop"]["verdict"] == "premise failed" and rows["unsure"]["verdict"] == "premise inconclusive"
    assert rows["held"]["verdict"] == "premise holds"
    # a failed premise: the claim was not tested
    assert rows["explains"]["verdict"] == "untestable (premise: drop)"
    assert rows["explains"]["verdict_class"] == "untestable"
    assert rows["chain"]["verdict"] == "untestable (premise: explains)"  # propagates along chains
    assert rows["on_claim"]["verdict"] == "untestable (premise: capped_neg_own)"  # a claim not reproduced
    # an unsure premise caps both a passing and a failing claim at inconclusive
    assert rows["capped"]["verdict"] == "inconclusive (premise inconclusive: unsure)"
    assert rows["capped_neg"]["verdict"] == "inconclusive (premise inconclusive: unsure)"
    assert rows["ok"]["verdict"] == "reproduced" and rows["on_held"]["verdict"] == "reproduced"
    assert rows["gone"]["verdict"] == "not measured"
    # premises are counted apart, never as the paper's claims
    lst = list(rows.values())
    assert count_verdicts(lst) == {"reproduced": 2, "inconclusive": 2, "not reproduced": 1, "untestable": 3, "not measured": 1}
    assert count_verdicts(lst, "premise") == {"premise holds": 1, "premise failed": 1, "premise inconclusive": 1}
    assert counts_line(lst) == ("2 reproduced, 2 inconclusive, 1 not reproduced, 3 untestable, 1 not measured; "
                                "premises: 1 hold, 1 failed, 1 inconclusive; checks: 1 passed")
    # the ledger lists premises first, under their own heading
    md = claims_markdown(lst)
    assert md.index("### Premises") < md.index("### Claims") < md.index("### Checks")


def test_a_check_over_runs_holds_in_every_run():
    """adapt_retrieve_revise's "iteration changes some answers": per-run 5, 0, 0 has mean 1.67 > 0
    but fails in two runs. With per-run values the check reads them; without, it needs both ends
    of the range each run must lie in (|x_i - m| <= s (n - 1) / sqrt(n))."""
    c = _claim(kind="check", threshold=0.5)
    per_run = {"claims_inputs": {"m": mean_std([5.0, 0.0, 0.0], keep_values=True)}}
    row = evaluate_claims([c], per_run, "default")[0]
    assert row["verdict"] == "check failed" and "run(s) 1, 2 of 3" in row["reason"] and row["values"] == [5.0, 0.0, 0.0]
    assert _v(c, {"claims_inputs": {"m": mean_std([1.0, 2.0, 3.0], keep_values=True)}}) == "check passed"
    # no per-run values: mean 1.67, std 2.89, n 3 -> each run in [-1.67, 5.0]: not shown
    assert _v(c, _m(5 / 3, 2.886751, 3)) == "check failed"
    # linkorgs' truth slope 2.533 +- 0.052 (n = 3) within 2.5 +- 0.3: every run lies in [2.47, 2.59]
    w = _claim(kind="check", check="within", paper_value=2.5, tolerance=0.3)
    assert _v(w, _m(2.533356, 0.05233, 3)) == "check passed"
    assert _v(c, _m(1.0, 0.0, 3)) == "check passed"  # identical runs


def test_runs_needed_power_estimate():
    """For an inconclusive row, the runs at which an interval of the observed spread would
    decide: t(.95, k-1) s / sqrt(k) < |mean - threshold|."""
    from scipy import stats as st

    row = evaluate_claims([_claim()], _m(1.0, 1.0, 3), "default")[0]
    k = row["runs_needed"]
    assert row["verdict"] == "inconclusive" and k == 5
    assert st.t.ppf(0.95, k - 1) / math.sqrt(k) < 1.0 <= st.t.ppf(0.95, k - 2) / math.sqrt(k - 1)
    # the failing side too: mean -1 is as far from the threshold
    assert evaluate_claims([_claim()], _m(-1.0, 1.0, 3), "default")[0]["runs_needed"] == 5
    # surfacefusion's "SurfaceFusion beats vanilla": -1.28 +- 1.88 BLEU, n = 3, threshold 0
    sf = evaluate_claims([_claim()], _m(-1.28, 1.88, 3), "default")[0]
    assert sf["verdict"] == "inconclusive" and sf["interval"][1] > 1.8 and sf["runs_needed"] >= 6
    assert "runs_needed" not in evaluate_claims([_claim()], _m(3.0, 0.1, 3), "default")[0]  # decided
    assert evaluate_claims([_claim()], _m(1.0, 0.0, 1), "default")[0]["runs_needed"] is None  # no spread seen
    assert evaluate_claims([_claim(min_n=8)], _m(5.0, 1.0, 3), "default")[0]["runs_needed"] == 8
    # within: the distance to the nearer edge of the tolerance band
    w = _claim(check="within", paper_value=0.0, tolerance=1.0)
    assert evaluate_claims([w], _m(0.5, 1.0, 3), "default")[0]["runs_needed"] == 13


def test_premise_config_errors():
    p = Path("config/papers/x.yaml")
    good = [_claim(id="a"), _claim(id="b", requires=["a"])]
    validate_claims(good, p)
    with pytest.raises(PaperdagError, match=r"x.yaml: key claims.1.requires.0: unknown claim id 'zz'"):
        validate_claims([_claim(id="a"), _claim(id="b", requires=["zz"])], p)
    with pytest.raises(PaperdagError, match=r"x.yaml: key claims.0.requires: cycle of premises a -> b -> a"):
        validate_claims([_claim(id="a", requires=["b"]), _claim(id="b", requires=["a"])], p)
    with pytest.raises(PaperdagError, match=r"claims.0.requires.0: claim 'a' requires itself"):
        validate_claims([_claim(id="a", requires=["a"])], p)
    with pytest.raises(PaperdagError, match=r"claims.1.id: duplicate claim id 'a'"):
        validate_claims([_claim(id="a"), _claim(id="a")], p)
    with pytest.raises(PaperdagError, match=r"claims.0.requires: only rows of kind 'claim' or 'premise'"):
        validate_claims([_claim(id="a", kind="check", requires=["b"]), _claim(id="b")], p)
    with pytest.raises(PaperdagError, match=r"claims.0.tolerance: check 'within' needs"):
        validate_claims([_claim(id="a", check="within", paper_value=1.0)], p)


def test_summary_shows_n_for_every_value(tmp_path):
    claims = [
        _claim(id="a", text="seeded claim"),
        _claim(id="b", text="single run claim", metric="s"),
        _claim(id="c", text="a check", kind="check", metric="s"),
        _claim(id="d", text="a formula", kind="analytic", metric="s"),
        _claim(id="e", text="absent claim", metric="absent"),
    ]
    met = {"claims_inputs": {"m": {"mean": 2.0, "std": 0.5, "n": 3}}, "s": 1.5}
    led = evaluate_claims(claims, met, "default")
    rows = summary_rows(tmp_path, ["p"], {"p": led}, runtimes={"p": 12.0})
    md = summary_markdown("default", rows, {"p": "Paper"})
    lines = {ln.split(" | ")[1]: ln for ln in md.splitlines() if ln.startswith("| p |")}
    assert "2.00 ± 0.50 (n=3)" in lines["seeded claim"]
    for t in ("single run claim", "a check", "a formula"):
        assert "1.50 (n=1)" in lines[t], lines[t]
    assert "| – |" in lines["absent claim"]
    # claims counted apart from checks and analytic rows, each kind in its own section
    assert "All papers: 1 reproduced, 1 inconclusive, 1 not measured; checks: 1 passed; analytic: 1" in md
    assert "- `p`: 1 reproduced, 1 inconclusive, 1 not measured; checks: 1 passed; analytic: 1" in md
    assert md.index("## Claims") < md.index("## Checks") < md.index("## Analytic")


def test_provenance_beside_timings(tmp_path):
    from paperdag.core.io import read_json, write_json
    from paperdag.core.provenance import add_provenance_to, with_provenance

    t = {"timing": {"s": 1.0}}
    out = with_provenance(t)
    assert out["timing"] == {"s": 1.0} and "provenance" not in t
    prov = out["provenance"]
    assert prov["torch"]["version"] and prov["python"] and prov["packages"]["numpy"]
    assert {"model", "machine", "logical_cpus"} <= set(prov["cpu"]) and prov["torch"]["threads"] >= 1
    p = tmp_path / "timing.json"
    write_json(p, t)
    add_provenance_to(p)
    assert read_json(p)["timing"] == {"s": 1.0} and "provenance" in read_json(p)


def test_a_mean_without_its_spread_is_never_reproduced():
    """n >= 2 runs but no std written (missing or null): the spread is unknown, so there is no
    interval; a zero-width one would call any passing mean "reproduced"."""
    assert _v(_claim(), {"claims_inputs": {"m": {"mean": 5.0, "n": 3}}}) == "inconclusive"
    assert _v(_claim(), _m(5.0, None, 3)) == "inconclusive"
    assert _v(_claim(), _m(5.0, float("nan"), 3)) == "inconclusive"
    assert _v(_claim(), _m(5.0, 0.0, 3)) == "reproduced"  # a written std of 0: identical runs


def test_a_nan_value_never_passes():
    for c in (_claim(check="same_sign", paper_value=-1.0), _claim(), _claim(check="at_most"),
              _claim(check="within", paper_value=0.0, tolerance=1.0)):
        # a broken measurement decides nothing (and is never "reproduced")
        assert _v(c, _m(float("nan"), 1.0, 3)) == "inconclusive", c
        assert _v(dict(c, kind="check"), {"m": float("nan")}) == "check failed", c


def test_summary_keeps_ledgers_of_papers_not_in_this_run(tmp_path):
    """Running one paper must not erase the others from SUMMARY.md (issue 27): the summary stage
    merges the ledgers an earlier run left for the other papers, marked as such."""
    import json

    from paperdag.core.stage import run_job

    scale = tmp_path / "results" / "smoke"
    met = {"claims_inputs": {"m": {"mean": 2.0, "std": 0.5, "n": 3}}, "s": 1.5}
    led = evaluate_claims([_claim(id="a", text="claim of the paper")], met, "smoke")
    for slug in ("old", "new"):
        (scale / slug).mkdir(parents=True)
        (scale / slug / "claims.json").write_text(json.dumps({"claims": led}))
    (scale / "absent").mkdir()  # a paper never run at this scale: no ledger, no row
    out = {"md": str(scale / "SUMMARY.md"), "json": str(scale / "summary.json")}
    cfg = {"papers": ["new"], "all_papers": ["absent", "new", "old"], "titles": {"absent": "A", "new": "N", "old": "O"}}
    assert run_job("core.summary", {"input": {"claims": [str(scale / "new" / "claims.json")]}, "output": out}, cfg) == 0
    summ = json.loads((scale / "summary.json").read_text())
    assert [(r["slug"], r["run"]) for r in summ["rows"]] == [("new", "this"), ("old", "earlier")]
    assert summ["this_run"] == ["new"] and summ["earlier"] == ["old"]
    md = (scale / "SUMMARY.md").read_text()
    assert "| old † | claim of the paper |" in md and "| new | claim of the paper |" in md
    assert "Ledgers kept from an earlier run" in md and "absent" not in md
    # a corrupt earlier ledger is an error naming the file, not a silently shorter summary
    (scale / "old" / "claims.json").write_text("{not json")
    assert run_job("core.summary", {"input": {"claims": [str(scale / "new" / "claims.json")]}, "output": out}, cfg) == 1

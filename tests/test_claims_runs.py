"""Adding independent runs settles an inconclusive claim without redoing the runs already done:
raising a paper's run count (its `RUNS` keys, README "Verdicts") plans the new runs' jobs and the
aggregates only. Checked for every paper through two dry runs of the whole workflow from scratch,
one with the configured counts and one with each count raised by one (`--config set=[...]`, what
`paperdag run --set` passes): every job of the first dry run must appear unchanged in the second
(same inputs, outputs, params, i.e. the same shell command) unless it is an aggregate (metrics,
figures, claims, summary)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import snakemake

from paperdag.core import results as R
from paperdag.core.config import PaperConfig, available_papers

AGGREGATES = re.compile(r"^(\w+_metrics|\w+_figures|claims|summary|all)$")
# prepacking's independent runs are benchmark batches, timed side by side in one job per prompt
# distribution (so that padded and packed prefill share the process and the machine's state): more
# batches re-plan and re-time that paper's benchmark (about 4 CPU minutes), by design (README).
REPLANNED = {"prepacking": ("prepacking_plan", "prepacking_benchmark", "prepacking_correctness")}
_VOLATILE = re.compile(r"^\s*(jobid|reason|priority|resources):|^\[\w{3} \w{3}")


def _jobs(p) -> dict[tuple[str, str], str]:
    """(rule, output line) -> the job's block without its volatile lines (jobid, reason, time)."""
    jobs, cur, body = {}, None, []
    text = p.stdout + "\n" + p.stderr

    def flush():
        if cur is not None:
            out = next((ln.strip() for ln in body if ln.strip().startswith("output:")), "")
            jobs[(cur, out)] = "\n".join(body)

    for line in text.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):\s*$", line)
        if m:
            flush()
            cur, body = m.group(1), []
            continue
        if cur is None:
            continue
        if not line.strip() or line.startswith("Job stats") or line.startswith("Would remove"):
            flush()
            cur, body = None, []
            continue
        if not _VOLATILE.match(line):
            # resources are no rerun trigger (and their order varies between runs)
            body.append(re.sub(r', "resources": \{[^}]*\}', "", line.rstrip()))
    flush()
    return jobs


def _raised(root) -> tuple[list[str], dict]:
    sets, where = [], {}
    for slug in available_papers(root):
        p = PaperConfig(slug, root).params("smoke")
        keys = R.runs_keys(slug)
        assert keys, f"{slug}: report.py declares no RUNS (the config keys that count its independent runs)"
        for key in keys:
            d = p
            for k in key.split("."):
                d = d[k]
            assert isinstance(d, int) and d >= 1, f"{slug}: RUNS key {key} is not a run count ({d!r})"
            sets.append(f"{slug}.{key}={d + 1}")
            where[slug] = where.get(slug, []) + [(key, d)]
    return sets, where


def test_adding_runs_reruns_only_the_new_runs_and_the_aggregates(repo):
    """At the smoke scale (the same rules and the same keys as default, smaller counts)."""
    sets, _ = _raised(repo)
    papers = "papers=[" + ",".join(available_papers(repo)) + "]"
    base = _jobs(snakemake(repo, "-n", "-p", "--config", "scale=smoke", papers))
    more = _jobs(snakemake(repo, "-n", "-p", "--config", "scale=smoke", papers, "set=" + json.dumps(sets)))
    assert len(base) > 100, f"dry-run parse found only {len(base)} jobs"
    replanned = {r for rules in REPLANNED.values() for r in rules}
    changed = sorted(f"{rule}: {out}" for (rule, out), body in base.items()
                     if not AGGREGATES.match(rule) and rule not in replanned and more.get((rule, out)) != body)
    assert not changed, "jobs of the runs already done would rerun when runs are added:\n" + "\n".join(changed)
    new = {k for k in more if k not in base}
    assert new, "raising the run counts planned no new job"
    per_paper = {r.split("_")[0] for r, _ in new}
    assert len(per_paper) >= 5, per_paper
    # every aggregate of a paper with new runs is planned again (it reads them)
    assert any(r.endswith("_metrics") for r, _ in more), "no metrics job planned"


def test_set_override_errors_name_the_key(repo):
    p = snakemake(repo, "-n", "--config", "scale=smoke", 'set=["moi.runs=zero"]', check=False)
    assert p.returncode != 0 and "moi.yaml" in p.stderr and "runs" in p.stderr, p.stderr[-2000:]
    p = snakemake(repo, "-n", "--config", "scale=smoke", 'set=["moi.no_such_key=1"]', check=False)
    assert p.returncode != 0 and "no_such_key" in p.stderr, p.stderr[-2000:]

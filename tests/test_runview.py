"""What a user sees during and after `paperdag run` (issue 21): the parser of Snakemake's log,
the live view in plain (non-terminal) and terminal mode, the verdict counts, the dry-run
summary, and, end to end on a pleas smoke run with a job made to fail, the failure block, the
rerun command it prints and the end-of-run report."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_repo, env
from paperdag import runview
from paperdag.runview import Job, LogParser, RunView

PAPERS = ["catn", "pleas"]

LOG = """\
Job stats:
job              count
-------------  -------
pleas_train          2
claims               1
summary              1
all                  1
total                5

Select jobs to execute...
[Tue Dec  1 14:43:26 2026]
localrule pleas_train:
    input: results/smoke/pleas/data/splits.npz
    output: results/smoke/pleas/models/labels/seed0/a.safetensors
    log: {log0}
    jobid: 4
    benchmark: {bench0}
    reason: Missing output files: results/smoke/pleas/models/labels/seed0/a.safetensors
    wildcards: scale=smoke, setting=labels, seed=0
    resources: tmpdir=/tmp, mem_mb=1500, runtime=20, gpu=0
[Tue Dec  1 14:43:26 2026]
localrule pleas_train:
    log: {log1}
    jobid: 10
    reason: Missing output files: x
    wildcards: scale=smoke, setting=domains, seed=1
    resources: tmpdir=/tmp, mem_mb=1500, runtime=20, gpu=0
[Tue Dec  1 14:43:32 2026]
Finished jobid: 4 (Rule: pleas_train)
1 of 5 steps (20%) done
[Tue Dec  1 14:43:33 2026]
Error in rule pleas_train:
    message: None
    jobid: 10
    input: results/smoke/pleas/data/splits.npz
    output: x
    log: {log1}, .snakemake/slurm_logs/rule_pleas_train/smoke_domains_1/4242.log (check log file(s) for error details)
    shell:
        python -m paperdag stage pleas.train ...
        (command exited with non-zero exit code)
    external_jobid: 4242
Logfile {log1}:
================================================================================
Traceback (most recent call last):
ValueError: boom
================================================================================
Exiting because a job execution failed. Look below for error message
"""


@pytest.fixture
def fake(tmp_path):
    logs = tmp_path / "results/smoke/pleas/logs"
    logs.mkdir(parents=True)
    (logs / "train-0.log").write_text("epoch 1\n")
    (logs / "train-1.log").write_text("start\nprobes set 0:  25%|##  | 1/4 [00:01<00:03]\rprobes set 0:  50%|#### | 2/4 [00:02<00:02]\n"
                                      "Traceback (most recent call last):\nValueError: boom\n")
    bench = tmp_path / "results/smoke/pleas/benchmarks"
    bench.mkdir(parents=True)
    (bench / "train-0.tsv").write_text("s\th:m:s\tmax_rss\n7.5\t0:00:07\t100\n")
    text = LOG.format(log0="results/smoke/pleas/logs/train-0.log", log1="results/smoke/pleas/logs/train-1.log",
                      bench0="results/smoke/pleas/benchmarks/train-0.tsv")
    return tmp_path, text


def test_parser_reads_jobs_finishes_and_errors(fake):
    root, text = fake
    p = LogParser(PAPERS)
    events = [e for line in text.splitlines() for e in p.feed(line)] + p.close()
    kinds = [(k, j.jobid) for k, j in events]
    assert kinds == [("job", 4), ("job", 10), ("finished", 4), ("failed", 10)]
    assert p.rule_counts == {"pleas_train": 2, "claims": 1, "summary": 1, "all": 1}
    j = p.jobs[10]
    assert (j.paper, j.rule, j.stage, j.wildcards) == ("pleas", "pleas_train", "train", {"scale": "smoke", "setting": "domains", "seed": "1"})
    assert j.log == ["results/smoke/pleas/logs/train-1.log"]
    assert j.slurm_log == ".snakemake/slurm_logs/rule_pleas_train/smoke_domains_1/4242.log"
    assert j.error_msg == "" and j.status == "failed"
    assert p.jobs[4].benchmark == "results/smoke/pleas/benchmarks/train-0.tsv"
    assert p.jobs[4].resources["runtime"] == "20"
    # the echoed log (show-failed-logs) is not taken for Snakemake's own words
    assert not any("ValueError" in ln for ln in p.other_lines)


def test_paper_of_a_job():
    assert runview.paper_of("catn_train", {}, PAPERS) == "catn"
    assert runview.paper_of("claims", {"slug": "pleas", "scale": "smoke"}, PAPERS) == "pleas"
    assert runview.paper_of("summary", {"scale": "smoke"}, PAPERS) == runview.SHARED


def test_plain_view_when_not_a_terminal(fake):
    root, text = fake
    planned = [Job(4, "pleas_train", {"scale": "smoke", "setting": "labels", "seed": "0"}, benchmark="results/smoke/pleas/benchmarks/train-0.tsv",
                   resources={"runtime": "20"}, paper="pleas"),
               Job(10, "pleas_train", {"scale": "smoke", "setting": "domains", "seed": "1"}, resources={"runtime": "20"}, paper="pleas")]
    out = io.StringIO()
    view = RunView(root, "smoke", PAPERS, out, tty=False, planned=planned, cores=2)
    for line in text.splitlines():
        view.feed(line + "\n")
    view.finish()
    s = out.getvalue()
    assert "\x1b[" not in s and "\r" not in s  # CI logs stay readable: no cursor movement
    lines = s.splitlines()
    assert len(lines) == 4, s
    assert re.match(r"^\[\s*\d+:\d\d\] start   pleas\s+train \(setting=labels, seed=0\)\s+\(last run 0:08\)$", lines[0]), lines[0]
    assert "done    pleas" in lines[2] and "[pleas 1/2]" in lines[2]
    assert "left" in lines[2]  # the estimate of what is left
    assert lines[3].split("]", 1)[1].split() [:4] == ["FAILED", "pleas", "train", "(setting=domains,"]
    assert [j.jobid for j in view.failed] == [10]


def test_terminal_view_redraws_in_place(fake):
    root, text = fake
    out = io.StringIO()
    view = RunView(root, "smoke", PAPERS, out, tty=True, cores=2)
    for line in text.splitlines()[:30]:
        view.feed(line + "\n")
    block = view.block()
    assert block[0].startswith("paperdag · smoke · ")
    assert any(ln.strip().startswith("▸ train (setting=domains, seed=1)") and "probes set 0 2/4" in ln for ln in block), block
    assert any(ln.split()[1:3] == ["pleas", "1/2"] for ln in block[1:]), block
    assert "\x1b[" in out.getvalue()  # cursor-up + clear: one block, redrawn
    view.finish()


def test_log_tail_keeps_the_last_tqdm_update(fake):
    root, _ = fake
    tail = runview.log_tail("results/smoke/pleas/logs/train-1.log", root)
    assert tail == ["start", "probes set 0:  50%|#### | 2/4 [00:02<00:02]", "Traceback (most recent call last):", "ValueError: boom"]
    assert runview.log_progress("results/smoke/pleas/logs/train-1.log", root) == "probes set 0 2/4"
    (root / "step.log").write_text("2026-12-01 14:46:10,820 INFO paperdag.cp: pretrain step 120/400 loss/d 0.5\n")
    assert runview.log_progress("step.log", root) == "pretrain step 120/400 loss/d 0.5"
    assert runview.log_progress("results/smoke/pleas/logs/nope.log", root) == ""


def test_run_view_counts_verdicts_as_the_ledger_does(tmp_path):
    """The run view has no verdict list of its own: its line is core/claims.py's counts_line."""
    from paperdag.core.claims import counts_line

    led = tmp_path / "claims.json"
    rows = [{"verdict": "reproduced"}, {"verdict": "reproduced, weaker", "kind": "claim"},
            {"verdict": "untestable (premise: p)", "verdict_class": "untestable"},
            {"verdict": "premise failed", "kind": "premise"},
            {"verdict": "check passed", "kind": "check"}, {"verdict": "not measured", "kind": "analytic"}]
    led.write_text(json.dumps({"claims": rows}))
    line = runview.ledger_line(led)
    assert line == counts_line(rows) == "1 reproduced, 1 reproduced, weaker, 1 untestable; premises: 1 failed; checks: 1 passed; analytic: 1"
    assert runview.ledger_line(tmp_path / "missing.json") is None


def test_dry_run_report_groups_by_paper_and_rule():
    jobs = [Job(1, "catn_train", {"set": "0"}, reason="Missing output files: a; Input files updated by another job: b", paper="catn"),
            Job(2, "catn_train", {"set": "1"}, reason="Missing output files: c", paper="catn"),
            Job(3, "claims", {"slug": "catn"}, reason="Updated input files: src/paperdag/core/claims.py", paper="catn"),
            Job(4, "summary", {}, reason="Input files updated by another job: x", paper=runview.SHARED),
            Job(0, "all", {}, reason="", paper=runview.SHARED)]
    rep = runview.dry_run_report(jobs, PAPERS)
    assert rep == [
        "Dry run: 4 job(s) would run:",
        "  catn (3)",
        "    train                  ×2   missing output files; input files updated by another job",
        "    claims                 ×1   updated input files (src/paperdag/core/claims.py)",
        "  shared (1)",
        "    summary                ×1   input files updated by another job",
    ]
    assert runview.dry_run_report([], PAPERS) == ["Dry run: nothing to be done, every output is up to date."]


def paperdag(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    # stdout is a pipe here, not a terminal: the view must print plain lines
    return subprocess.run([sys.executable, "-m", "paperdag", *args], cwd=root, env=env(), capture_output=True, text=True, timeout=timeout)


@pytest.mark.e2e
def test_failed_job_block_rerun_command_and_report(tmp_path):
    root = copy_repo(tmp_path / "repo")
    # a job made to fail: pleas' data split exists (newer than its inputs, so it is not rebuilt)
    # but is not an .npz; every pleas_train job reading it fails
    bad = root / "results/smoke/pleas/data/splits.npz"
    bad.parent.mkdir(parents=True)
    bad.write_text("not an npz\n")
    import os

    future = bad.stat().st_mtime + 3600
    os.utime(bad, (future, future))

    p = paperdag(root, "run", "pleas", "--scale", "smoke", "--cores", "2")
    out = p.stdout
    assert p.returncode != 0, out
    assert "\x1b[" not in out, out
    m = re.search(r"full log: (\S+)", out)
    full_log = root / m.group(1)
    assert "Error in rule pleas_train" in full_log.read_text()  # Snakemake's full output, unchanged
    assert "SNAKEMAKE\n" not in out and "RuntimeWarning" not in out  # the banner stays in the log
    assert re.search(r"^\[\s*\d+:\d\d\] FAILED  pleas\s+train \(setting=", out, re.M), out
    blocks = re.findall(r"^✗ FAILED  paper pleas · rule pleas_train · scale=smoke, setting=(\w+), seed=(\d)$", out, re.M)
    assert len(blocks) == 3, out  # three in full, the rest one line each
    assert "1 more failed job(s):" in out
    first = out[out.index("✗ FAILED"):]
    assert "corrupt or unreadable .npz" in first.split("\n\n")[0]  # the last lines of the job's log
    log = re.search(r"^  log:\s+(\S+)$", first, re.M).group(1)
    assert (root / log).is_file() and log.startswith("results/smoke/pleas/logs/train-")
    assert "pleas                  no claims ledger yet" in out
    rerun = re.search(r"^Rerun what is left \(finished jobs are kept\): paperdag (.+)$", out, re.M).group(1)
    assert rerun.split()[:4] == ["run", "pleas", "--scale", "smoke"]

    # fix the cause; the dry run says what is left and why, grouped by paper and rule
    bad.unlink()
    d = paperdag(root, "run", "pleas", "--scale", "smoke", "-n")
    assert d.returncode == 0, d.stdout + d.stderr
    assert re.search(r"^Dry run: 13 job\(s\) would run:$", d.stdout, re.M), d.stdout
    assert re.search(r"^    data\s+×1\s+missing output files$", d.stdout, re.M), d.stdout
    assert re.search(r"^    train\s+×4\s+missing output files; input files updated by another job$", d.stdout, re.M), d.stdout

    # the printed command finishes the run; the report gives the verdicts and where to look
    p = paperdag(root, *rerun.split())
    assert p.returncode == 0, p.stdout + p.stderr
    led = json.loads((root / "results/smoke/pleas/claims.json").read_text())["claims"]
    from paperdag.core.claims import counts_line

    report = p.stdout[p.stdout.index("paperdag run finished in "):]
    assert f"  pleas                  claims: {counts_line(led)}" in report, report
    assert "  summary:  results/smoke/SUMMARY.md\n" in report
    assert "  figures:  results/smoke/pleas/figures/" in report
    assert "  report:   paperdag report --scale smoke" in report
    assert re.search(r"paperdag run finished in \d+:\d\d · scale smoke · 13 job\(s\) ran", report), report
    assert "FAILED" not in p.stdout

    # --verbose: Snakemake's own output
    v = paperdag(root, "run", "pleas", "--scale", "smoke", "-n", "--verbose")
    assert "Nothing to be done" in v.stdout and "Dry run: nothing to be done" in v.stdout, v.stdout

"""What a user sees during and after `paperdag run` (issue 21).

Snakemake runs in a subprocess; its full output goes, unchanged, to a log file whose path is
printed. This module reads that output line by line (Snakemake's default text log: job blocks
`rule X:` / `localrule X:` with indented `key: value` lines, `Finished jobid: N (Rule: X)`,
`Error in rule X:` blocks, the `Job stats:` table) and shows instead:

- a compact live view: per paper, jobs done / total, the running jobs (paper, stage,
  wildcards, the last progress line of the job's log), elapsed time and an estimate of what is
  left (each job's last benchmark file, else its `runtime` resource). On a terminal it redraws
  in place; when stdout is not a terminal (CI logs, pipes) it prints one plain line per event.
- at the end: per paper its verdict counts (claims apart from checks / analytic rows), where
  SUMMARY.md and the figures are, the HTML report command and the wall time;
  after a dry run: the jobs that would run and why, grouped by paper and rule;
  after a failure: one block per failed job (paper, rule, wildcards, log tail, log path, SLURM
  log path when the SLURM executor reports one) and the command that reruns what is left.

The logger plugins of Snakemake 9 were considered: snakemake-logger-plugin-rich draws one
progress bar per rule (not per paper), has no estimate of what is left, no end-of-run report
and no plain mode for non-terminals, so parsing the default log here is simpler and keeps
plain `snakemake` output untouched.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable

SHARED = "shared"  # jobs of no single paper (SUMMARY.md, shared assets)

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_JOB = re.compile(r"^(local)?(rule|checkpoint) (\w+):\s*$")
_FIELD = re.compile(r"^    (\w+): (.*)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+)(?: \(Rule: (\w+)\))?")
_ERROR = re.compile(r"^Error in rule (\w+):\s*$")
_STATS_ROW = re.compile(r"^(\w+)\s+(\d+)\s*$")
_COMPLETE_LOG = re.compile(r"^Complete log\(s\): (.+)$")
_PROGRESS = re.compile(r"(\d+)\s*/\s*(\d+)")
_TIMESTAMP = re.compile(r"^\[\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\]$")
_CHECK_LOG = " (check log file(s) for error details)"


def fmt_secs(s: float | None) -> str:
    if s is None:
        return "?"
    s = int(round(max(0.0, s)))
    h, r = divmod(s, 3600)
    m, sec = divmod(r, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def parse_wildcards(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(", "):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def parse_resources(text: str) -> dict[str, str]:
    return parse_wildcards(text)


@dataclass
class Job:
    jobid: int
    rule: str
    wildcards: dict = field(default_factory=dict)
    log: list = field(default_factory=list)
    benchmark: str | None = None
    reason: str = ""
    resources: dict = field(default_factory=dict)
    paper: str = SHARED
    started: float | None = None
    ended: float | None = None
    status: str = "planned"  # planned | running | done | failed
    slurm_log: str | None = None
    error_msg: str = ""

    @property
    def key(self) -> tuple:
        return (self.rule, tuple(sorted((k, v) for k, v in self.wildcards.items() if k != "scale")))

    @property
    def stage(self) -> str:
        if self.paper != SHARED and self.rule.startswith(self.paper + "_"):
            return self.rule[len(self.paper) + 1 :]
        return self.rule

    def wc_text(self, skip=("scale", "slug")) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.wildcards.items() if k not in skip)

    def label(self) -> str:
        wc = self.wc_text()
        return f"{self.stage} ({wc})" if wc else self.stage


def paper_of(rule: str, wildcards: dict, papers: Iterable[str]) -> str:
    if wildcards.get("slug"):
        return wildcards["slug"]
    best = ""
    for p in papers:
        if rule.startswith(p + "_") and len(p) > len(best):
            best = p
    return best or SHARED


def last_benchmark_seconds(path: str | Path | None, root: Path) -> float | None:
    """Wall seconds of a job's last run, from its Snakemake benchmark TSV (last row, `s`)."""
    if not path:
        return None
    p = Path(path)
    p = p if p.is_absolute() else root / p
    try:
        with open(p) as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        return float(rows[-1]["s"]) if rows else None
    except (OSError, KeyError, ValueError, IndexError):
        return None


def log_tail(path: str | Path, root: Path, n: int = 15) -> list[str]:
    """The last `n` lines of a log; tqdm's carriage-return updates count as lines (only the
    last update of a run of them is kept), terminal escapes are removed."""
    p = Path(path)
    p = p if p.is_absolute() else root / p
    try:
        with open(p, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64_000))
            data = fh.read().decode(errors="replace")
    except OSError:
        return []
    lines = []
    for line in data.split("\n"):
        seg = [s for s in line.split("\r") if s.strip()]
        if seg:
            lines.append(_ANSI.sub("", seg[-1]).rstrip())
    return lines[-n:]


def log_progress(path: str | Path, root: Path) -> str:
    """The last progress note in a running job's log: a tqdm bar ('probes set 0: 12/40') or a
    logged 'step 120/400' line, shortened; '' when there is none."""
    for line in reversed(log_tail(path, root, n=5)):
        m = _PROGRESS.search(line)
        if not m:
            continue
        if "|" in line:  # tqdm: "desc:  30%|###   | 12/40 [00:03<00:07, ...]"
            desc = line.split("|", 1)[0].rsplit(":", 1)[0].strip()
            return f"{desc} {m.group(1)}/{m.group(2)}".strip()
        # a logged line: keep the words around N/M, drop the timestamp/level prefix
        text = re.sub(r"^[\d\-: ,.\[\]]*(INFO|DEBUG|WARNING)?\s*(paperdag\S*)?\s*", "", line)
        return text[:48]
    return ""


class LogParser:
    """Turns Snakemake's default text log into events, one line at a time."""

    def __init__(self, papers: Iterable[str]):
        self.papers = list(papers)
        self.jobs: dict[int, Job] = {}  # every job block seen, by jobid
        self.rule_counts: dict[str, int] = {}
        self.complete_log: str | None = None
        self.errors: list[Job] = []
        self.other_lines: list[str] = []  # lines no pattern explains (warnings, errors)
        self._block: dict | None = None
        self._error: dict | None = None
        self._in_stats = False
        self._in_logfile = False
        self._in_banner = False

    def feed(self, line: str) -> list[tuple[str, Job | None]]:
        line = _ANSI.sub("", line.rstrip("\n"))
        events: list[tuple[str, Job | None]] = []
        # indented continuation of a job or error block
        if self._block is not None or self._error is not None:
            m = _FIELD.match(line)
            if m:
                (self._block if self._block is not None else self._error)["fields"][m.group(1)] = m.group(2)
                if self._block is not None and m.group(1) == "resources":  # a job block's last line
                    events += self._close_block()
                return events
            if self._error is not None and line.startswith("        "):
                return events  # shell command lines of an error block
            events += self._close_block()
        if self._in_stats:
            m = _STATS_ROW.match(line)
            if m:
                if m.group(1) != "total":
                    self.rule_counts[m.group(1)] = int(m.group(2))
                else:
                    self._in_stats = False
                return events
            if line.startswith("job ") or line.startswith("---") or not line.strip():
                return events
            self._in_stats = False
        if line == "SNAKEMAKE":  # the banner: host, user, config MD5...
            self._in_banner = True
            return events
        if self._in_banner:
            if line.startswith("  Config MD5"):
                self._in_banner = False
            return events
        if self._in_logfile:  # show-failed-logs echoes the job's log between ==== lines
            if line.startswith("=" * 10) and self._logfile_rules >= 1:
                self._in_logfile = False
            elif line.startswith("=" * 10):
                self._logfile_rules += 1
            return events
        m = _JOB.match(line)
        if m:
            self._block = {"rule": m.group(3), "fields": {}}
            return events
        m = _ERROR.match(line)
        if m:
            self._error = {"rule": m.group(1), "fields": {}}
            return events
        m = _FINISHED.match(line)
        if m:
            job = self.jobs.get(int(m.group(1)))
            if job is not None:
                job.status, job.ended = "done", time.time()
                events.append(("finished", job))
            return events
        m = _COMPLETE_LOG.match(line)
        if m:
            self.complete_log = m.group(1).strip()
            return events
        if line.startswith("Job stats:"):
            self._in_stats = True
            self.rule_counts = {}
            return events
        if line.startswith("Logfile ") and line.endswith(":") or line.startswith("Logfile ") and "empty file" in line:
            if "empty file" not in line:
                self._in_logfile, self._logfile_rules = True, 0
            return events
        if line.strip() and not _TIMESTAMP.match(line):
            self.other_lines.append(line)
        return events

    def close(self) -> list[tuple[str, Job | None]]:
        return self._close_block()

    def _close_block(self) -> list[tuple[str, Job | None]]:
        events: list[tuple[str, Job | None]] = []
        if self._block is not None:
            b, self._block = self._block, None
            f = b["fields"]
            try:
                jobid = int(f.get("jobid", "-1"))
            except ValueError:
                jobid = -1
            wc = parse_wildcards(f.get("wildcards", ""))
            job = Job(
                jobid=jobid,
                rule=b["rule"],
                wildcards=wc,
                log=[s for s in f.get("log", "").split(", ") if s],
                benchmark=f.get("benchmark"),
                reason=f.get("reason", ""),
                resources=parse_resources(f.get("resources", "")),
                paper=paper_of(b["rule"], wc, self.papers),
            )
            self.jobs[jobid] = job
            events.append(("job", job))
        if self._error is not None:
            e, self._error = self._error, None
            f = e["fields"]
            try:
                jobid = int(f.get("jobid", "-1"))
            except ValueError:
                jobid = -1
            job = self.jobs.get(jobid) or Job(jobid=jobid, rule=e["rule"], paper=paper_of(e["rule"], {}, self.papers))
            logs = f.get("log", "")
            if logs.endswith(_CHECK_LOG):
                logs = logs[: -len(_CHECK_LOG)]
            paths = [s.strip() for s in logs.split(", ") if s.strip()]
            slurm = [p for p in paths if "slurm_logs" in p or p.endswith(".slurm.log")]
            if slurm:
                job.slurm_log = slurm[-1]
            own = [p for p in paths if p not in slurm]
            if own:
                job.log = own
            job.error_msg = "" if f.get("message", "None") == "None" else f["message"]
            job.status, job.ended = "failed", time.time()
            if job not in self.errors:
                self.errors.append(job)
            events.append(("failed", job))
        return events


# --------------------------------------------------------------------------------------------
# the live view


class RunView:
    """Progress of one run. `tty` True: a block redrawn in place; False: plain event lines."""

    def __init__(self, root: Path, scale: str, papers: list[str], out: IO[str], tty: bool,
                 planned: list[Job] | None = None, cores: int = 1, clock: Callable[[], float] = time.time,
                 collect_only: bool = False):
        self.collect_only = collect_only  # a dry run: job blocks are plans, not starts
        self.root, self.scale, self.papers, self.out, self.tty = root, scale, papers, out, tty
        self.clock = clock
        self.t0 = clock()
        self.cores = max(1, cores)
        self.parser = LogParser(papers)
        self.planned: dict[tuple, Job] = {}
        for j in planned or []:
            if j.rule != "all":
                self.planned[j.key] = j
        self.estimates: dict[tuple, tuple[float | None, str]] = {}
        for k, j in self.planned.items():
            b = last_benchmark_seconds(j.benchmark, self.root)
            self.estimates[k] = (b, "benchmark") if b is not None else (None, "none")
        self.running: dict[int, Job] = {}
        self.done: list[Job] = []
        self.failed: list[Job] = []
        self._drawn = 0
        self._lock = threading.Lock()

    # estimates ------------------------------------------------------------------------------
    def _estimate(self, job: Job) -> tuple[float | None, str]:
        """Expected wall seconds of a job: its own last benchmark file; else the mean of the
        same rule's other jobs (their benchmarks, or their durations in this run); else its
        `runtime` resource (a limit, not a measurement: kept apart in the estimate)."""
        if job.key in self.estimates:
            s = self.estimates[job.key][0]
        else:  # a job the plan did not list
            s = last_benchmark_seconds(job.benchmark, self.root)
        if s is not None:
            return s, "benchmark"
        same = [v for k, (v, src) in self.estimates.items() if k[0] == job.rule and src == "benchmark"]
        same += [(j.ended or 0) - (j.started or 0) for j in self.done if j.rule == job.rule and j.started]
        if same:
            return sum(same) / len(same), "rule"
        rt = job.resources.get("runtime")
        try:
            return float(rt) * 60.0, "runtime"
        except (TypeError, ValueError):
            return None, "none"

    def left(self) -> tuple[float, int, float]:
        """(estimated wall seconds left from measured times, number of jobs left that have
        none, the sum of their `runtime` limits), both sums divided by the parallelism seen."""
        now = self.clock()
        work, unknown, limit = 0.0, 0, 0.0
        seen = {j.key for j in self.done + self.failed} | {j.key for j in self.running.values()}
        todo = [(j, 0.0) for k, j in self.planned.items() if k not in seen]
        todo += [(j, now - (j.started or now)) for j in self.running.values()]
        for j, ran in todo:
            s, src = self._estimate(j)
            if src in ("benchmark", "rule"):
                work += max(0.0, (s or 0.0) - ran)
            else:
                unknown += 1
                limit += max(0.0, (s or 0.0) - ran)
        # effective parallelism so far: job-seconds per wall second, between 1 and the cores
        busy = sum((j.ended or now) - (j.started or now) for j in self.done + self.failed)
        busy += sum(now - (j.started or now) for j in self.running.values())
        wall = max(1e-6, now - self.t0)
        par = min(float(self.cores), max(1.0, busy / wall)) if busy > 5 else 1.0
        return work / par, unknown, limit / par

    def left_text(self) -> str:
        if not self.planned:
            return ""
        left, unknown, limit = self.left()
        if unknown and not left:
            return f"≤{fmt_secs(limit)} left (runtime limits: no job timed yet)"
        note = f" (+{unknown} job(s) never timed, ≤{fmt_secs(limit)})" if unknown else ""
        return f"~{fmt_secs(left)} left{note}"

    # per paper ------------------------------------------------------------------------------
    def counts(self) -> dict[str, list[int]]:
        """paper -> [done, total] (total from the plan, grown by jobs the plan missed)."""
        out: dict[str, list[int]] = {}
        keys = set(self.planned)
        for j in self.planned.values():
            out.setdefault(j.paper, [0, 0])[1] += 1
        for j in self.done:
            c = out.setdefault(j.paper, [0, 0])
            c[0] += 1
            if j.key not in keys:
                c[1] += 1
        for j in list(self.running.values()) + self.failed:
            if j.key not in keys:
                out.setdefault(j.paper, [0, 0])[1] += 1
        return out

    # events ---------------------------------------------------------------------------------
    def feed(self, line: str) -> None:
        with self._lock:
            for kind, job in self.parser.feed(line):
                self._event(kind, job)

    def finish(self) -> None:
        with self._lock:
            for kind, job in self.parser.close():
                self._event(kind, job)
            self._clear()

    def _event(self, kind: str, job: Job | None) -> None:
        if job is None or job.rule == "all" or self.collect_only:
            return
        now = self.clock()
        if kind == "job":
            job.status, job.started = "running", now
            if job.key in self.planned and job.benchmark is None:
                job.benchmark = self.planned[job.key].benchmark
            self.running[job.jobid] = job
            if not self.tty:
                s, src = self._estimate(job)
                est = f"   (last run {fmt_secs(s)})" if src == "benchmark" else ""
                self._line(f"start   {job.paper:22} {job.label()}{est}")
        elif kind == "finished":
            self.running.pop(job.jobid, None)
            job.ended = now
            self.done.append(job)
            if not self.tty:
                d, t = self.counts().get(job.paper, [0, 0])
                took = fmt_secs(now - job.started) if job.started else "?"
                self._line(f"done    {job.paper:22} {job.label()}  in {took}   [{job.paper} {d}/{t}]   {self.left_text()}".rstrip())
        elif kind == "failed":
            self.running.pop(job.jobid, None)
            if job not in self.failed:
                self.failed.append(job)
            if not self.tty:
                self._line(f"FAILED  {job.paper:22} {job.label()}   log: {', '.join(job.log) or '-'}")
        if self.tty:
            self._draw()

    def _line(self, text: str) -> None:
        self.out.write(f"[{fmt_secs(self.clock() - self.t0):>7}] {text}\n")
        self.out.flush()

    # terminal block -------------------------------------------------------------------------
    def block(self, width: int = 100) -> list[str]:
        now = self.clock()
        tot_d = len(self.done)
        tot_t = sum(t for _, t in self.counts().values())
        head = f"paperdag · {self.scale} · {tot_d}/{tot_t} jobs · {fmt_secs(now - self.t0)} elapsed"
        if self.planned:
            head += f" · {self.left_text()}"
        if self.failed:
            head += f" · {len(self.failed)} failed"
        lines = [head]
        counts = self.counts()
        order = [p for p in self.papers if p in counts] + sorted(p for p in counts if p not in self.papers)
        for p in order:
            d, t = counts[p]
            run = [j for j in self.running.values() if j.paper == p]
            mark = "✓" if d >= t and not run else ("✗" if any(j.paper == p for j in self.failed) else "·")
            lines.append(f" {mark} {p:22} {d:>3}/{t:<3}")
            for j in run:
                prog = log_progress(j.log[0], self.root) if j.log else ""
                txt = f"     ▸ {j.label()}  {fmt_secs(now - (j.started or now))}"
                if prog:
                    txt += f"  {prog}"
                lines.append(txt)
        return [ln[:width] for ln in lines]

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            self.out.flush()
            self._drawn = 0

    def _draw(self) -> None:
        import shutil

        width = shutil.get_terminal_size((100, 24)).columns - 1
        if width < 40:
            width = 100
        lines = self.block(width)
        buf = (f"\x1b[{self._drawn}F\x1b[J" if self._drawn else "") + "\n".join(lines) + "\n"
        self.out.write(buf)
        self.out.flush()
        self._drawn = len(lines)

    def redraw(self) -> None:
        with self._lock:
            if self.tty:
                self._draw()


# --------------------------------------------------------------------------------------------
# end of run


def ledger_line(path: Path) -> str | None:
    """A claims.json's verdict counts as core/claims.py counts them everywhere (claims, then
    premises, checks, analytic and descriptive rows apart); None if it cannot be read."""
    from .core.claims import counts_line

    try:
        rows = json.loads(path.read_text())["claims"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return counts_line(rows)


def _rel(p: Path, root: Path) -> str:
    try:
        return str(p.relative_to(root))
    except ValueError:
        return str(p)


def run_report(root: Path, scale: str, papers: list[str], view: RunView | None, wall: float,
               rc: int, log_file: Path | None, rerun_cmd: str, max_blocks: int = 3) -> list[str]:
    """The end-of-run block: verdicts per paper, where to look, wall time; failures."""
    out: list[str] = []
    failed = view.failed if view else []
    ran = view.done if view else []
    status = "finished" if rc == 0 else ("failed" if failed else f"stopped (exit code {rc})")
    out.append(f"paperdag run {status} in {fmt_secs(wall)} · scale {scale} · {len(ran)} job(s) ran"
               + (f", {len(failed)} failed" if failed else ""))
    failed_papers = {j.paper for j in failed}
    for p in papers:
        led = root / "results" / scale / p / "claims.json"
        line = ledger_line(led)
        if line is None:
            out.append(f"  {p:22} no claims ledger yet")
            continue
        note = ""
        if p in failed_papers:
            note = "   (ledger from an earlier run: this run failed before it)"
        elif view is not None and not any(j.paper == p for j in ran):
            note = "   (nothing to do: up to date)"
        out.append(f"  {p:22} claims: {line}{note}")
    res = root / "results" / scale
    out.append(f"  summary:  {_rel(res / 'SUMMARY.md', root)}" + ("" if (res / "SUMMARY.md").exists() else "  (not written yet)"))
    figs = [f"{_rel(res / p / 'figures', root)}/" for p in papers if (res / p / "figures").is_dir()]
    if figs:
        out.append(f"  figures:  {'  '.join(figs)}")
    out.append(f"  report:   paperdag report --scale {scale}   (writes {_rel(res / 'report.html', root)})")
    if log_file:
        out.append(f"  full log: {_rel(log_file, root)}")
    for j in failed[:max_blocks]:
        out += [""] + failure_block(j, root)
    if len(failed) > max_blocks:
        out += ["", f"{len(failed) - max_blocks} more failed job(s):"]
        out += [f"  ✗ {j.paper} · {j.rule} · {j.wc_text(skip=())} · log: {', '.join(j.log) or '-'}" for j in failed[max_blocks:]]
    if failed or rc != 0:
        out += ["", f"Rerun what is left (finished jobs are kept): {rerun_cmd}"]
    return out


def failure_block(job: Job, root: Path, n: int = 12, width: int = 160) -> list[str]:
    wc = ", ".join(f"{k}={v}" for k, v in job.wildcards.items()) or "-"
    out = [f"✗ FAILED  paper {job.paper} · rule {job.rule} · {wc}"]
    if job.error_msg:
        out.append(f"  message: {job.error_msg}")
    for lp in job.log:
        tail = log_tail(lp, root, n)
        out.append(f"  last lines of {lp}:" if tail else f"  log {lp} is empty or missing")
        out += [f"  │ {t[:width]}" + ("…" if len(t) > width else "") for t in tail]
    if job.log:
        out.append(f"  log:       {', '.join(job.log)}")
    if job.slurm_log:
        out.append(f"  SLURM log: {job.slurm_log}")
    return out


_REASON_ORDER = (
    "Code has changed since last execution",
    "Params have changed since last execution",
    "Updated input files",
    "Set of input files has changed since last execution",
    "Software environment definition has changed since last execution",
    "Forced execution",
    "Missing output files",
    "Incomplete output files",
    "Input files updated by another job",
)


def reason_summary(reasons: Iterable[str], max_files: int = 2) -> str:
    """'Missing output files: a, b; Input files updated by another job: c' (over several jobs)
    -> the kinds of reason, the most telling first, with a few of the files they name."""
    kinds: dict[str, list[str]] = {}
    for r in reasons:
        for part in r.split("; "):
            k, _, files = part.partition(": ")
            fl = kinds.setdefault(k.strip(), [])
            for f in files.split(", "):
                f = f.strip()
                if f and f not in fl:
                    fl.append(f)
    order = sorted(kinds, key=lambda k: _REASON_ORDER.index(k) if k in _REASON_ORDER else len(_REASON_ORDER))
    parts = []
    for k in order:
        if not k:
            continue
        fl = kinds[k]
        short = k.replace(" since last execution", "").lower()
        if k in ("Updated input files", "Code has changed since last execution") and fl:
            more = f" +{len(fl) - max_files}" if len(fl) > max_files else ""
            parts.append(f"{short} ({', '.join(f[:60] for f in fl[:max_files])}{more})")
        else:
            parts.append(short)
    return "; ".join(parts)


def dry_run_report(jobs: list[Job], papers: list[str]) -> list[str]:
    jobs = [j for j in jobs if j.rule != "all"]
    if not jobs:
        return ["Dry run: nothing to be done, every output is up to date."]
    out = [f"Dry run: {len(jobs)} job(s) would run:"]
    by_paper: dict[str, dict[str, list[Job]]] = {}
    for j in jobs:
        by_paper.setdefault(j.paper, {}).setdefault(j.rule, []).append(j)
    order = [p for p in papers if p in by_paper] + sorted(p for p in by_paper if p not in papers)
    for p in order:
        rules = by_paper[p]
        out.append(f"  {p} ({sum(len(v) for v in rules.values())})")
        for rule, js in rules.items():
            stage = js[0].stage
            out.append(f"    {stage:22} ×{len(js):<3} {reason_summary(j.reason for j in js)}")
    return out


# --------------------------------------------------------------------------------------------
# driving Snakemake


def plan(cmd: list[str], root: Path, env: dict, papers: list[str]) -> tuple[list[Job], int, str]:
    """Snakemake's dry run of the same command: the jobs that will run, with their benchmark
    files and resources (for the estimate). Returns (jobs, exit code, output)."""
    p = subprocess.run(cmd + ["--dry-run"], cwd=root, env=env, capture_output=True, text=True)
    parser = LogParser(papers)
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        parser.feed(line)
    parser.close()
    return list(parser.jobs.values()), p.returncode, p.stdout + p.stderr


def new_log_file(root: Path, dry_run: bool) -> Path:
    d = root / ".snakemake" / "log"
    d.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M%S")
    return d / f"{stamp}.paperdag{'-dryrun' if dry_run else ''}.log"


def drive(cmd: list[str], root: Path, env: dict, scale: str, papers: list[str], *, dry_run: bool,
          verbose: bool, cores: int, rerun_cmd: str, out: IO[str] | None = None, tty: bool | None = None) -> int:
    """Run Snakemake, write its full output to a log file, show the live view (or, with
    `verbose`, Snakemake's own output), and end with the run report."""
    out = out or sys.stdout
    tty = out.isatty() if tty is None else tty
    t0 = time.time()
    log_file = new_log_file(root, dry_run)
    planned: list[Job] = []
    if not dry_run and not verbose:
        try:
            planned, prc, ptext = plan(cmd, root, env, papers)
        except KeyboardInterrupt:
            return 130
        if prc != 0:  # a missing input, a syntax error...: Snakemake's own words, without its banner
            log_file.write_text(ptext)
            parser = LogParser(papers)
            for line in ptext.splitlines():
                parser.feed(line)
            said = _unexplained(parser, n=40) or ["  │ " + ln for ln in ptext.splitlines()[-40:]]
            out.write("\n".join([f"paperdag: Snakemake stopped before any job ran (exit code {prc}):", *said,
                                 f"full log: {_rel(log_file, root)}"]) + "\n")
            return prc
    view = RunView(root, scale, papers, out, tty and not verbose and not dry_run, planned=planned, cores=cores,
                   collect_only=dry_run)
    out.write(f"paperdag: {'dry run' if dry_run else 'running'} {', '.join(papers)} at scale {scale}; "
              f"full log: {_rel(log_file, root)}\n")
    out.flush()
    env = {**env, "PYTHONUNBUFFERED": "1"}  # each line as Snakemake writes it, not in bursts
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1, errors="replace")
    stop = threading.Event()
    ticker = None
    if view.tty:
        def tick():
            while not stop.wait(1.0):
                view.redraw()
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
    try:
        with open(log_file, "w") as lf:
            assert proc.stdout is not None
            while True:
                try:
                    line = proc.stdout.readline()
                except KeyboardInterrupt:  # Snakemake got the signal too: let it wind down
                    continue
                if not line:
                    break
                lf.write(line)
                lf.flush()
                if verbose:
                    out.write(line)
                    out.flush()
                view.feed(line)
        while True:
            try:
                rc = proc.wait()
                break
            except KeyboardInterrupt:
                continue
    finally:
        stop.set()
        if ticker:
            ticker.join(timeout=2)
        view.finish()
    wall = time.time() - t0
    if dry_run:
        report = dry_run_report(list(view.parser.jobs.values()), papers)
        if rc != 0:
            report += _unexplained(view.parser)
        report.append(f"full log: {_rel(log_file, root)}")
    else:
        report = run_report(root, scale, papers, view, wall, rc, log_file, rerun_cmd)
        if rc != 0 and not view.failed and not verbose:
            report[1:1] = _unexplained(view.parser)
    out.write("\n" + "\n".join(report) + "\n")
    out.flush()
    return rc


def _unexplained(parser: LogParser, n: int = 25) -> list[str]:
    """When Snakemake stopped without a failed job (a workflow error), its last words."""
    noise = ("Select jobs to execute", "Execute ", "Using shell", "Provided cores", "Rules claiming",
             "Elapsed time", "Complete log", "Assuming unrestricted", "Using workflow specific profile",
             "Config file ", "Building DAG", "Nothing to be done", "This was a dry-run", "Reasons:")
    keep = [ln for ln in parser.other_lines if not ln.startswith(noise) and "RuntimeWarning" not in ln
            and "return Resource(val.name" not in ln]
    return ["  Snakemake said:"] + [f"  │ {ln}" for ln in keep[-n:]] if keep else []


def command_line(argv: list[str]) -> str:
    return shlex.join(["paperdag", *argv])

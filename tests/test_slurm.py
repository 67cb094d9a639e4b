"""paperdag on a real SLURM cluster: a single-node cluster (Debian's slurm-wlm + munge) started by
these tests on loopback, the workflow run through `--workflow-profile workflow/profiles/slurm`
(snakemake-executor-plugin-slurm), and checks that

- every job of the catn smoke pipeline ran as a SLURM job with the rule's resources, and its
  results (metrics.json, claims.json) are byte-identical to a local run's;
- a job that fails for lack of memory is resubmitted as a new SLURM job with more memory
  (attempt-scaled mem_mb, the profile's `retries`), a gpu=1 rule is submitted with --gpus=1 and
  routed to the GPU partition, and a failing job's error names log files that exist.

The daemons, their pid files, state and logs live in a temp folder of the tests' own; they are
stopped by pid at the end (also when a test fails). Skipped only where the SLURM/munge binaries
are missing (`apt-get install -y slurm-wlm munge`) or the tests do not run as root (slurmd
launches jobs as their users). Two tests need no cluster (profile parsing, a paper-scale dry
run). Run: `python -m pytest tests/test_slurm.py` (`-m slurm`: only the cluster tests).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT, copy_repo, dry_run_jobs, env, snakemake

_spec = importlib.util.spec_from_file_location("slurm_cluster", Path(__file__).parent / "slurm" / "slurm_cluster.py")
slurm_cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slurm_cluster)

PROFILE = Path("workflow") / "profiles" / "slurm"
SMOKE = ("--config", "scale=smoke", "papers=[catn]")  # last: --config takes every value after it
# metrics.json and the claims ledger built from it: the pipeline up to its results (figures,
# tables and SUMMARY.md are drawn from these and would only add queue round trips).
TARGETS = ("results/smoke/catn/metrics.json", "results/smoke/catn/claims.json")
# The plugin's first status query comes this many seconds after a submission (default 40);
# then it backs off by 10 s per query without news. The cluster keeps finished jobs visible to
# squeue for MinJobAge = 3600 s >= 3 x this, so the plugin keeps using squeue, and the tests can
# read every job's record after the runs.
FAST_STATUS = ("--slurm-init-seconds-before-status-checks", "1")
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
RUN_ID = re.compile(r"SLURM run ID: (\S+)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = slurm_cluster.missing_binaries()
    if missing:
        pytest.skip(f"SLURM/munge binaries missing ({', '.join(missing)}): "
                    f"apt-get install -y {' '.join(slurm_cluster.PACKAGES)}")
    if os.geteuid() != 0:
        pytest.skip("the test cluster's slurmd must run as root (it launches the jobs)")
    c = slurm_cluster.SlurmCluster(tmp_path_factory.mktemp("slurm"))
    stopped = []

    def stop():
        if not stopped:
            stopped.append(c.stop())
        return stopped[0]

    # also stop the daemons when pytest is terminated (SIGTERM) or exits without teardown
    atexit.register(stop)
    old = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        c.start()
        yield c
    finally:
        notes = stop()
        signal.signal(signal.SIGTERM, old)
        atexit.unregister(stop)
        alive = [f"{n} ({p})" for n, p in c.pids.items() if slurm_cluster._alive(p)]
        leaked = c.stray_pids()
        assert not alive and not leaked, f"left running: daemons {alive}, job processes {leaked}; {notes}"


class SlurmRun:
    """Snakemake as a child process of the test (so that runs overlap, and an interrupted test
    can stop it by pid); with a cluster it talks to that cluster, without one it runs locally.
    Output goes to files in workdir."""

    def __init__(self, cluster, workdir: Path, *args: str, extra_env: dict | None = None):
        self.cluster, self.workdir = cluster, workdir
        e = cluster.env(env()) if cluster else env()
        e.update(extra_env or {})
        if cluster:
            args = (*FAST_STATUS, *args)
        self.out, self.err = open(workdir / "snakemake.stdout", "w"), open(workdir / "snakemake.stderr", "w")
        self.t0 = time.time()
        self.proc = subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=workdir,
                                     env=e, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)

    def wait(self, timeout: float):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"snakemake timed out after {timeout:.0f} s\n{describe(self, self.cluster)}") from None
        finally:
            self.out.close(), self.err.close()
        self.seconds = time.time() - self.t0
        self.returncode = self.proc.returncode
        self.stdout = (self.workdir / "snakemake.stdout").read_text(errors="replace")
        self.stderr = (self.workdir / "snakemake.stderr").read_text(errors="replace")
        return self

    def stop(self):
        """SIGTERM to our own Snakemake (it cancels its SLURM jobs), then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def retry_run(cluster, tmp_path_factory):
    """tests/slurm/retry.smk on the test cluster, started as soon as a test asks for it so that
    it overlaps the catn run (its jobs are tiny; most of its time is waiting on the queue and on
    the plugin's status checks). The partition file routes GPU jobs to partition "gpu"."""
    work = tmp_path_factory.mktemp("retry")
    shutil.copy(Path(__file__).parent / "slurm" / "retry.smk", work / "Snakefile")
    partitions = Path(__file__).parent / "slurm" / "partitions.yaml"
    run = SlurmRun(cluster, work, "--workflow-profile", str(ROOT / PROFILE),
                   extra_env={"SNAKEMAKE_SLURM_PARTITIONS": str(partitions)})
    yield run
    run.stop()


def describe(run, cluster) -> str:
    out = (run.workdir / "snakemake.stdout").read_text(errors="replace")
    err = (run.workdir / "snakemake.stderr").read_text(errors="replace")
    if cluster is None:
        return f"rc={run.proc.poll()}\n{out[-3000:]}\n{err[-8000:]}"
    try:
        jobs = cluster.jobs()
    except Exception as e:  # noqa: BLE001 - part of a failure message
        jobs = e
    return f"rc={run.proc.poll()}\n{out[-3000:]}\n{err[-8000:]}\nsqueue: {jobs}\n{cluster.logs(30)}"


def submissions(text: str) -> dict[str, tuple[str, Path]]:
    """SLURM job id -> (Snakemake job id, SLURM log path) from the plugin's messages."""
    return {m.group(2): (m.group(1), Path(m.group(3))) for m in SUBMITTED.finditer(text)}


def _profile(**environ) -> dict:
    from snakemake.profiles import ProfileConfigFileParser

    old = dict(os.environ)
    try:
        for k in ("PAPERDAG_SLURM_PARTITION", "PAPERDAG_SLURM_ACCOUNT"):
            os.environ.pop(k, None)
        os.environ.update(environ)
        with open(ROOT / PROFILE / "profile.yaml") as fh:
            return dict(ProfileConfigFileParser().parse(fh))
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_profile_takes_site_settings_from_the_environment():
    """No cluster needed: what Snakemake reads from the profile, with and without site settings."""
    bare = _profile()
    assert bare["executor"] == "slurm" and bare["slurm-status-command"] == "squeue"
    assert int(bare["retries"]) >= 1 and bare["rerun-incomplete"] == "True"
    # unset site variables leave the resource out (SLURM's default partition, guessed account)
    assert sorted(bare["default-resources"]) == ["disk_mb=1000", "mem_mb=2000", "runtime=60"]
    site = _profile(PAPERDAG_SLURM_PARTITION="all", PAPERDAG_SLURM_ACCOUNT="123456")
    # quoted, so Snakemake's evaluation keeps them strings (not the builtin all(), not an int)
    assert "slurm_partition='all'" in site["default-resources"]
    assert "slurm_account='123456'" in site["default-resources"]


def test_profile_dry_run_maps_rule_resources(repo):
    """No cluster needed: the workflow parses with the profile; catn_train's attempt-scaled
    memory and scale-dependent GPU request are what the SLURM jobs would get."""
    p = snakemake(repo, "-n", "results/paper/catn/models/set0/members", "--workflow-profile", str(repo / PROFILE),
                  "--config", "scale=paper", "papers=[catn]")
    # a dry run only plans: the paper scale's hub data is not needed for it
    text = p.stdout + p.stderr
    block = text.split("rule catn_train:", 1)[1].split("\n\n", 1)[0]
    assert "gpu=1" in block and "mem_mb=1500" in block and "runtime=1440" in block, block


@pytest.mark.slurm
@pytest.mark.e2e
def test_catn_smoke_runs_as_slurm_jobs_and_matches_local_run(cluster, retry_run, tmp_path):
    # (retry_run: started here only so that it shares the cluster with this run; checked below)
    local, remote = copy_repo(tmp_path / "local"), copy_repo(tmp_path / "slurm")
    expected = Counter(rule for rule, _ in dry_run_jobs(local, *TARGETS, *SMOKE))
    assert expected["catn_train"] == 8 and expected["claims"] == 1, expected

    # the local reference run goes on in parallel (threads=1 per job: same numbers either way)
    local_run = SlurmRun(None, local, "--cores", "2", *TARGETS, *SMOKE)
    slurm_run = None
    try:
        slurm_run = SlurmRun(cluster, remote, *TARGETS, "--workflow-profile", str(remote / PROFILE),
                             "--slurm-keep-successful-logs", *SMOKE)
        p = slurm_run.wait(timeout=720)
        lp = local_run.wait(timeout=600)
    finally:  # an interrupted or failed test leaves no Snakemake of its own running
        for r in (local_run, slurm_run):
            if r is not None:
                r.stop()
    seconds = p.seconds
    assert p.returncode == 0, "SLURM run failed:\n" + describe(p, cluster)
    assert lp.returncode == 0, "local run failed:\n" + describe(lp, None)
    text = p.stdout + p.stderr
    print(f"catn smoke on SLURM: {seconds:.0f} s")

    # every job was a SLURM job of this run, and it completed there
    run_id = RUN_ID.search(text).group(1)
    jobs = {j["id"]: j for j in cluster.jobs(name=run_id)}
    subs = submissions(text)
    assert set(subs) == set(jobs), f"submitted {sorted(subs)} but slurmctld knows {sorted(jobs)}"
    assert all(j["state"] == "COMPLETED" for j in jobs.values()), jobs
    ran = Counter(re.match(r"rule_(\w+?)_wildcards_", j["comment"]).group(1) for j in jobs.values())
    assert ran == expected, f"SLURM jobs per rule {dict(ran)} != planned jobs {dict(expected)}"
    # the rules' resources reached sbatch: mem_mb -> --mem (catn_train at attempt 1: 1500 MB)
    mem = {(re.match(r"rule_(\w+?)_wildcards_", j["comment"]).group(1), j["min_memory"]) for j in jobs.values()}
    assert {r for r, m in mem if r == "catn_train" and m == "1500M"} and ("catn_evaluate", "3000M") in mem, mem
    assert all(j["cpus"] == "1" for j in jobs.values()), jobs
    # each SLURM job's own log exists and shows Snakemake running that rule inside the job
    for slurm_id, (_, log) in subs.items():
        assert log.is_file(), f"no SLURM log {log} for job {slurm_id}"
        body = log.read_text(errors="replace")
        rule = re.match(r"rule_(\w+?)_wildcards_", jobs[slurm_id]["comment"]).group(1)
        assert f"rule {rule}:" in body and "Error in rule" not in body, f"{log}:\n{body[-2000:]}"

    # same results as the local run, byte for byte
    for target in TARGETS:
        a, b = (remote / target).read_bytes(), (local / target).read_bytes()
        assert a == b, f"{target} differs between the SLURM and the local run"
    assert json.loads((remote / TARGETS[0]).read_text()), "empty metrics.json"


@pytest.mark.slurm
def test_memory_retry_gpu_request_and_failure_logs(cluster, retry_run):
    p, work = retry_run.wait(timeout=600), retry_run.workdir
    print(f"retry workflow on SLURM: {p.seconds:.0f} s")
    text = p.stdout + p.stderr
    assert p.returncode != 0, "always_fails cannot succeed:\n" + describe(p, cluster)
    info = describe(p, cluster)

    run_id = RUN_ID.search(text).group(1)
    jobs = {j["id"]: j for j in cluster.jobs(name=run_id)}
    by_rule: dict[str, list[dict]] = {}
    for jid in sorted(jobs, key=int):
        by_rule.setdefault(jobs[jid]["comment"].removeprefix("rule_"), []).append(jobs[jid])
    # the rule reads its own grant from SLURM on every attempt
    probe = [l.split() for l in (work / "probe.tsv").read_text().splitlines()]

    # needs_memory: attempt 1 = one SLURM job with 1000 MB that failed; attempt 2 = a new SLURM
    # job with 2000 MB that completed (the profile's retries + mem_mb=1000*attempt)
    nm = by_rule.get("needs_memory", [])
    assert [(j["state"], j["min_memory"]) for j in nm] == [("FAILED", "1000M"), ("COMPLETED", "2000M")], info
    assert [r[1:] for r in probe if r[0] == "needs_memory"] == [[j["id"], j["min_memory"]] for j in nm], probe
    assert (work / "out" / "needs_memory.txt").read_text().split() == [nm[1]["id"], "2000M"]

    # uses_gpu: gpu=1 -> --gpus=1, routed to the "gpu" partition by the partition file
    (gpu,) = by_rule["uses_gpu"]
    assert (gpu["state"], gpu["tres_per_job"], gpu["partition"]) == ("COMPLETED", "gres:gpu:1", "gpu"), gpu
    assert "CUDA_VISIBLE_DEVICES=0" in (work / "out" / "uses_gpu.txt").read_text()
    assert all(j["partition"] == "cpu" for r, js in by_rule.items() if r != "uses_gpu" for j in js), by_rule

    # always_fails: 1 + retries(2) SLURM jobs, all failed; every error names the rule's log and
    # the SLURM job's log, both present and readable, with the failure in them
    af = by_rule["always_fails"]
    assert [j["state"] for j in af] == ["FAILED"] * 3, info
    errors = re.findall(r"Error in rule always_fails:.*?\n    log: (.+?) \(check log file", text, re.S)
    subs = submissions(text)
    named = set()
    for logs in errors:
        paths = [Path(x.strip()) for x in logs.split(",")]
        assert paths[0] == Path("logs/always_fails.log") and len(paths) == 2, (paths, info)
        assert "deliberate failure in SLURM job" in (work / paths[0]).read_text()
        body = paths[1].read_text(errors="replace")
        assert "Error in rule always_fails" in body and "exit 3" in body, body[-2000:]
        named.add(paths[1])
    assert named == {subs[j["id"]][1] for j in af}, f"error messages name {named}\n{info}"
    assert f"SLURM-job '{af[-1]['id']}' failed" in text

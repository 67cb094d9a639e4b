"""The paper template: derived code inputs (declared = import closure; every edit reruns exactly
the stages that use the edited module and what is downstream; the closure covers what a job
really loads), workflow files formatted and lint-clean, the dry run of the whole workflow."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SMOKE, clone_done, dry_run_jobs, edit_file, env, snakemake

from paperdag.core import codeinputs

CATN_TRAIN = sorted(
    ("catn_train", f"scale=smoke, set={s}, group={g}") for s in (0, 1) for g in ("joint", "members", "wd", "wide")
)
CATN_EVAL = [("catn_evaluate", "scale=smoke, set=0"), ("catn_evaluate", "scale=smoke, set=1")]
CATN_RESULTS = [("catn_metrics", "scale=smoke")]
CATN_TAIL = [("catn_figures", "scale=smoke"), ("claims", "scale=smoke, slug=catn"), ("summary", "scale=smoke")]
CATN_ALL = sorted([("catn_data", "scale=smoke")] + CATN_TRAIN + CATN_EVAL + CATN_RESULTS + CATN_TAIL)

# What appending a comment to each module of catn's package must rerun (dry run, exact job list),
# written from what each module is for, not from the analysis under test.
CATN_EDITS = {
    "__init__.py": CATN_ALL,  # every stage of the package imports it
    "stages.py": CATN_ALL,  # data, train and evaluate live here; the rest is downstream
    "data.py": CATN_ALL,
    "models.py": sorted(CATN_TRAIN + CATN_EVAL + CATN_RESULTS + CATN_TAIL),
    "train.py": sorted(CATN_TRAIN + CATN_EVAL + CATN_RESULTS + CATN_TAIL),
    "plan.py": sorted(CATN_TRAIN + CATN_EVAL + CATN_RESULTS + CATN_TAIL),  # member_seed: every training seed
    "probe.py": sorted(CATN_EVAL + CATN_RESULTS + CATN_TAIL),
    "aggregate.py": sorted(CATN_RESULTS + CATN_TAIL),
    "report.py": sorted(CATN_RESULTS + CATN_TAIL),
    "plots.py": [("catn_figures", "scale=smoke")],
}


def test_every_catn_module_has_an_expected_rerun_set():
    mods = sorted(p.name for p in (ROOT / "src/paperdag/papers/catn").glob("*.py"))
    assert mods == sorted(CATN_EDITS), "a catn module was added or removed: say what editing it must rerun"


@pytest.mark.e2e
@pytest.mark.parametrize("module", sorted(CATN_EDITS))
def test_editing_a_catn_module_reruns_exactly_its_users(smoke_done, tmp_path, module):
    root = clone_done(smoke_done, tmp_path / "r")
    edit_file(root / "src/paperdag/papers/catn" / module)
    assert dry_run_jobs(root, *SMOKE) == CATN_EDITS[module]


@pytest.mark.e2e
def test_editing_the_stage_runner_reruns_every_stage(smoke_done, tmp_path):
    root = clone_done(smoke_done, tmp_path / "r")
    edit_file(root / "src/paperdag/core/stage.py")  # seeding, threads: every job depends on it
    assert dry_run_jobs(root, *SMOKE) == CATN_ALL


def _jobs_with_io(root: Path, *args: str) -> list[dict]:
    """(stage, declared code, outputs) of every job of a dry run, from the printed commands."""
    p = snakemake(root, "-n", "--forceall", "--printshellcmds", *args)
    jobs = []
    for m in re.finditer(r"python -m paperdag stage (\S+) --io '(\{.*?\})' --cfg", p.stdout):
        io = json.loads(m.group(2))
        jobs.append({"stage": m.group(1), "code": io["input"].get("code", []), "output": io["output"]})
    return jobs


def _extra(job) -> tuple[str, ...]:
    """Generic stages load a paper's modules by name (core/results.py): which ones."""
    if job["stage"] not in ("core.results", "core.figures"):
        return ()
    slug = Path(next(iter(job["output"].values()))).parts[2]
    mod = "aggregate" if job["stage"] == "core.results" else "plots"
    return (f"paperdag.papers.{slug}.{mod}", f"paperdag.papers.{slug}.report")


@pytest.fixture(scope="module")
def all_jobs(tmp_path_factory):
    from conftest import copy_repo

    root = copy_repo(tmp_path_factory.mktemp("dry") / "repo")
    return _jobs_with_io(root, "--config", "scale=smoke")


def test_every_stage_declares_its_import_closure(all_jobs):
    stages = {j["stage"] for j in all_jobs}
    assert len(stages) >= 20
    for j in all_jobs:
        expect = codeinputs.code_inputs(j["stage"], src=ROOT / "src", root=ROOT, extra=_extra(j))
        assert sorted(j["code"]) == expect, j["stage"]
        assert "src/paperdag/core/stage.py" in j["code"] and "src/paperdag/core/io.py" in j["code"], j["stage"]


def _module_level_imports(stages_file: Path) -> set[str]:
    """Project modules that a stages module imports at module level (they load in every job of
    the package, whether or not the job's stage uses them), transitively."""
    mod = "paperdag." + ".".join(stages_file.relative_to(ROOT / "src" / "paperdag").with_suffix("").parts)
    tree = ast.parse(stages_file.read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    found = codeinputs._imports_in(top, mod, False, ROOT / "src")
    out: set[str] = set()
    for m in found:
        out |= codeinputs.module_closure(m, str(ROOT / "src"))
    return out


@pytest.mark.e2e
def test_jobs_load_no_project_module_they_do_not_declare(smoke_done):
    """Soundness at run time: every project module a smoke job really loaded (logged by the stage
    runner) is a declared code input, except the command-line entry and modules that its stages
    file imports at module level without using them in this stage."""
    cli = {"paperdag.cli", "paperdag.__main__", "paperdag.core.config", "paperdag.core.errors", "paperdag.core.stage"}
    n = 0
    for log in sorted((smoke_done / "results/smoke").rglob("logs/*.log")):
        text = log.read_text()
        stage = re.search(r"stage (\S+), threads=", text)
        loaded = re.search(r"project modules loaded: (.*)", text)
        if not (stage and loaded):
            continue
        n += 1
        stage = stage.group(1)
        slug = log.parts[-3]
        extra = ()
        if stage in ("core.results", "core.figures"):
            extra = (f"paperdag.papers.{slug}.{'aggregate' if stage == 'core.results' else 'plots'}", f"paperdag.papers.{slug}.report")
        declared = set(codeinputs.stage_modules(stage, ROOT / "src", extra))
        stages_file = codeinputs.module_file(codeinputs.stages_module(stage), ROOT / "src")
        allowed = declared | cli | _module_level_imports(stages_file)
        missing = set(loaded.group(1).split()) - allowed
        assert not missing, f"{log}: {stage} loaded {sorted(missing)} but does not declare them"
    assert n >= 8


def test_workflow_files_are_snakefmt_formatted():
    exe = Path(sys.executable).parent / "snakefmt"
    p = subprocess.run([str(exe), "--check", "Snakefile", "workflow/"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_lint_reports_only_the_environment_advice(tmp_path):
    from conftest import copy_repo

    root = copy_repo(tmp_path / "repo")
    p = snakemake(root, "--lint", "--config", "scale=smoke", check=False)
    lints = set(re.findall(r"^\s+\* (.+?):?$", p.stdout + p.stderr, re.M))
    # the project's environment is the one pinned virtualenv (README: set-up), so no rule names a
    # conda environment or container (said in workflow/rules/common.smk)
    assert lints <= {"Specify a conda environment or container for each rule."}, lints


def test_rule_files_hold_rules_only():
    for f in [ROOT / "Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]:
        text = f.read_text()
        assert not re.search(r"^def \w+\(", text, re.M), f"{f.name}: functions belong in the paper's package or core/"

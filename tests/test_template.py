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


# -- the static analysis on small made-up packages: the forms a stages module may bind names in --


def _pkg(tmp_path: Path, stages: str, **modules: str) -> Path:
    """src/paperdag/papers/toy/ with stages.py and the given modules (name -> source)."""
    pkg = tmp_path / "src/paperdag/papers/toy"
    pkg.mkdir(parents=True)
    for d in (tmp_path / "src/paperdag", tmp_path / "src/paperdag/papers", pkg):
        (d / "__init__.py").write_text("")
    (tmp_path / "src/paperdag/core").mkdir()
    (tmp_path / "src/paperdag/core/__init__.py").write_text("")
    (tmp_path / "src/paperdag/core/stage.py").write_text("def stage(name):\n    return lambda f: f\n")
    (pkg / "stages.py").write_text("from paperdag.core.stage import stage\n" + stages)
    for name, text in modules.items():
        (pkg / f"{name}.py").write_text(text)
    return tmp_path / "src"


def _uses(src: Path, stage: str = "toy.a", extra: tuple[str, ...] = ()) -> set[str]:
    return {m.rsplit(".", 1)[-1] for m in codeinputs.stage_modules(stage, src, extra) if m.startswith("paperdag.papers.toy.")}


STAGE_A = '\n\n@stage("toy.a")\ndef a(ctx):\n    return {body}\n'


@pytest.mark.parametrize(
    "top, body",
    [
        ("try:\n    from .m import f\nexcept ImportError:\n    f = None\n", "f()"),  # import in try/except
        ("import sys\nif sys.version_info >= (3, 8):\n    from . import m\n", "m.f()"),  # import under if
        ("from .m import *\n", "f()"),  # star import: the names it binds are not visible
        ("from . import m\n\ndef g():\n    return m.f()\n\ng = staticmethod(g)\n", "g()"),  # helper rebound
        ("from . import m\nA, B = m.f(), 2\n", "A"),  # tuple target
        ("from . import m\nREG = {}\nREG['x'] = m.f\n", "REG['x']()"),  # registry filled at module level
        ("from . import m\nimport sys\nif sys.platform:\n    def g():\n        return m.f()\n", "g()"),  # def under if
    ],
)
def test_closure_follows_every_module_level_binding(tmp_path, top, body):
    src = _pkg(tmp_path, top + STAGE_A.format(body=body), m="def f():\n    return 1\n")
    assert "m" in _uses(src)


def test_closure_keeps_unrelated_imports_apart(tmp_path):
    """The precision the analysis exists for: a stage that does not use a module-level import."""
    src = _pkg(tmp_path, "from . import m\n\ndef g():\n    return m.f()\n" + STAGE_A.format(body="1"), m="def f():\n    return 1\n")
    assert "m" not in _uses(src)


def test_closure_of_a_module_loaded_by_name_includes_its_package(tmp_path):
    """`extra` modules (papers.<slug>.aggregate, loaded by core.results) run their package's
    __init__ on import, like any other import."""
    src = _pkg(tmp_path, STAGE_A.format(body="1"), agg="x = 1\n")
    (src / "paperdag/papers/other").mkdir()
    (src / "paperdag/papers/other/__init__.py").write_text("")
    (src / "paperdag/papers/other/agg.py").write_text("x = 1\n")
    mods = codeinputs.stage_modules("toy.a", src, ("paperdag.papers.other.agg",))
    assert "paperdag.papers.other" in mods


@pytest.mark.parametrize(
    "top, body",
    [
        ("import paperdag.papers.toy.m as c\n", "c.f()"),
        ("from . import m\n", "m.f()"),
        ("from .m import f as g\n", "g()"),
        ("from . import m\n\nclass H:\n    def run(self):\n        return m.f()\n", "H().run()"),  # helper class
        ("from . import m\n\ndef g(x=m.f):\n    return x()\n", "g()"),  # default argument of a helper
        ("from . import m\n", "[m for m in range(3)]"),  # shadowed inside: over-approximated, never missed
    ],
)
def test_closure_follows_names_in_every_use(tmp_path, top, body):
    src = _pkg(tmp_path, top + STAGE_A.format(body=body), m="def f():\n    return 1\n")
    assert "m" in _uses(src)


def test_closure_resolves_relative_imports_in_a_package_init(tmp_path):
    src = _pkg(tmp_path, "from . import m\n" + STAGE_A.format(body="m.x"), m="from . import sub\nx = 1\n")
    (src / "paperdag/papers/toy/__init__.py").write_text("from .n import y\nfrom .. import toy as _t\n")
    (src / "paperdag/papers/toy/n.py").write_text("y = 1\n")
    (src / "paperdag/papers/toy/sub").mkdir()
    (src / "paperdag/papers/toy/sub/__init__.py").write_text("from .leaf import z\n")
    (src / "paperdag/papers/toy/sub/leaf.py").write_text("z = 1\n")
    assert {"m", "n", "sub", "sub.leaf"} <= {m.removeprefix("paperdag.papers.toy.") for m in codeinputs.stage_modules("toy.a", src)}


def test_closure_follows_a_decorator_of_the_stage(tmp_path):
    stages = 'from . import m\n\ndef deco(fn):\n    m.f()\n    return fn\n\n@deco\n@stage("toy.a")\ndef a(ctx):\n    return 1\n'
    src = _pkg(tmp_path, stages, m="def f():\n    return 1\n")
    assert "m" in _uses(src)

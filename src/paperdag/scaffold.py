"""`paperdag new <slug>`: every place a paper needs, as a minimal paper that runs at `smoke` end to
end (a toy data -> train (one job per seed) -> evaluate -> metrics/figures -> claims chain that the
author then replaces), so that the contract test (tests/test_contract.py) passes from the start.

Places made or edited (docs/DEVELOPING.md, "Add a paper"):
  config/papers/<slug>.yaml                 base, scales, claims
  workflow/schemas/papers/<slug>.schema.yaml  every config key, additionalProperties: false
  workflow/rules/<slug>.smk                  its rules (use rule stage as ... with:)
  workflow/report/<slug>/*.rst               a caption per figure and table
  src/paperdag/papers/<slug>/               plan, stages, aggregate, plots, report
  tests/test_<slug>.py                       the method's unit tests (toy ones to replace)
  dvc.yaml                                   metrics and plots entries (edited)
  config/README.md                           the paper's section, every key (edited)
  README.md                                  its row in the papers table (edited)
"""

from __future__ import annotations

import re
from pathlib import Path

from .core.errors import PaperdagError

SLUG = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

FILES: dict[str, str] = {}

FILES["config/papers/{slug}.yaml"] = '''# {slug}: "{title}". Every key is documented in config/README.md and checked against
# workflow/schemas/papers/{slug}.schema.yaml. Job params are `base` deep-merged with
# `scales.<scale>`. Made by `paperdag new {slug}`: replace the toy experiment with the paper's.
title: "{title}"
arxiv: ""
status: scaffold

base:
  seed: 0              # base seed; run r trains with seed + r
  runs: 3              # independent training runs (n of every training claim)
  data:
    n_train: 200
    n_val: 100
    n_test: 200
    dim: 8
    noise: 0.5
  train:
    steps: 200
    lr: 0.05

scales:
  smoke:
    runs: 3
    data: {{n_train: 60, n_val: 30, n_test: 60}}
    train: {{steps: 40}}
  default: {{}}
  paper: {{}}

claims:
  - id: model_beats_mean_predictor
    kind: claim
    min_n: 3   # a training outcome: at least 3 independent runs (paper-contract.md)
    text: "The trained model has lower test error than the trivial control (predicting the training mean)"
    paper: "toy claim of the scaffold: replace with the paper's"
    metric: mse_gain_over_mean
    paper_value: null
    paper_value_note: "toy experiment: no paper number"
    unit: ""
    check: at_least
    threshold: 0.1
'''

FILES["workflow/schemas/papers/{slug}.schema.yaml"] = '''$schema: "https://json-schema.org/draft/2020-12/schema"
description: {slug} parameters (config/papers/{slug}.yaml, `base` merged with one scale).
type: object
additionalProperties: false
required: [seed, runs, data, train]
properties:
  seed: {{type: integer, minimum: 0}}
  runs: {{type: integer, minimum: 1, maximum: 50}}
  data:
    type: object
    additionalProperties: false
    required: [n_train, n_val, n_test, dim, noise]
    properties:
      n_train: {{type: integer, minimum: 2}}
      n_val: {{type: integer, minimum: 1}}
      n_test: {{type: integer, minimum: 1}}
      dim: {{type: integer, minimum: 1}}
      noise: {{type: number, minimum: 0}}
  train:
    type: object
    additionalProperties: false
    required: [steps, lr]
    properties:
      steps: {{type: integer, minimum: 1}}
      lr: {{type: number, exclusiveMinimum: 0}}
'''

FILES["workflow/rules/{slug}.smk"] = '''# {slug}: data -> train (one job per run) -> evaluate -> metrics + tables -> figures -> claims
# (the metrics, figures and claims rules come from common.smk and papers/{slug}/report.py).
# Config: config/papers/{slug}.yaml. Code: src/paperdag/papers/{slug}/ (job lists: plan.py).

from paperdag.papers.{slug} import plan as {slug}_plan


use rule stage as {slug}_data with:
    input:
        code=CODE("{slug}.data"),
    output:
        data="results/{{scale}}/{slug}/data/data.npz",
    log:
        LOG("{slug}.data"),
    benchmark:
        BENCH("{slug}.data")
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **JOB("{slug}.data", "seed", "data"),


use rule stage as {slug}_train with:
    input:
        data=rules.{slug}_data.output.data,
        code=CODE("{slug}.train"),
    output:
        model="results/{{scale}}/{slug}/models/run{{run}}.safetensors",
    log:
        LOG("{slug}.train", "run{{run}}"),
    benchmark:
        BENCH("{slug}.train", "run{{run}}")
    wildcard_constraints:
        run=r"\\d+",
    resources:
        mem_mb=1000,
        runtime=lambda wc: 60 if wc.scale == "paper" else 5,
    params:
        **JOB("{slug}.train", "seed", "train"),


use rule stage as {slug}_evaluate with:
    input:
        data=rules.{slug}_data.output.data,
        models=lambda w: {slug}_plan.model_files(w.scale, PAPER_CFG["{slug}"].params(w.scale)),
        code=CODE("{slug}.evaluate"),
    output:
        evals="results/{{scale}}/{slug}/evals/evals.json",
    log:
        LOG("{slug}.evaluate"),
    benchmark:
        BENCH("{slug}.evaluate")
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **JOB("{slug}.evaluate"),
'''

FILES["workflow/report/{slug}/fit.rst"] = '''{slug}: test mean squared error of each independent training run, beside the trivial control
(predicting the training mean). Toy figure of the scaffold: replace with the paper's.
'''

FILES["workflow/report/{slug}/results_table.rst"] = '''{slug}: test mean squared error per run and the control, mean ± std over independent runs.
'''

FILES["src/paperdag/papers/{slug}/__init__.py"] = '''"""{slug}: "{title}"."""
'''

FILES["src/paperdag/papers/{slug}/plan.py"] = '''"""{slug}'s job lists and cross-key config checks, as pure functions of the config (used by the
rule file and by the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError


def run_seed(p: dict, run: int) -> int:
    return p["seed"] + int(run)


def model_files(scale: str, p: dict) -> list[str]:
    return [f"results/{{scale}}/{slug}/models/run{{r}}.safetensors" for r in range(p["runs"])]


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    if p["data"]["n_train"] <= p["data"]["dim"]:
        raise PaperdagError(f"{{where}}: key data.n_train ({{p['data']['n_train']}}) must exceed data.dim ({{p['data']['dim']}})")
'''

FILES["src/paperdag/papers/{slug}/stages.py"] = '''"""{slug}'s stages (toy ones made by `paperdag new`: replace them with the paper's)."""

from __future__ import annotations

from paperdag.core.io import load_npz, load_tensors, read_json, save_npz, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


@stage("{slug}.data")
def data(ctx):
    """A synthetic linear-regression task with known weights (seeded)."""
    import numpy as np

    d = ctx.params["data"]
    rng = np.random.default_rng(ctx.params["seed"])
    w = rng.normal(size=d["dim"])
    out = {{"w_true": w}}
    for part in ("train", "val", "test"):
        x = rng.normal(size=(d[f"n_{{part}}"], d["dim"]))
        out[f"{{part}}_x"] = x
        out[f"{{part}}_y"] = x @ w + d["noise"] * rng.normal(size=len(x))
    save_npz(ctx.output.data, **out)


@stage("{slug}.train")
def train(ctx):
    """One independent run: a linear model trained by gradient descent from a seeded init."""
    import torch

    p = ctx.params
    seed = plan.run_seed(p, ctx.wildcards["run"])
    seed_everything(seed)
    d = load_npz(ctx.input.data)
    x = torch.tensor(d["train_x"], dtype=torch.float32)
    y = torch.tensor(d["train_y"], dtype=torch.float32)
    model = torch.nn.Linear(x.shape[1], 1)
    opt = torch.optim.SGD(model.parameters(), lr=p["train"]["lr"])
    for step in range(p["train"]["steps"]):
        opt.zero_grad()
        loss = torch.mean((model(x).squeeze(-1) - y) ** 2)
        loss.backward()
        opt.step()
        if step % 20 == 0:
            ctx.log.info("step %d/%d loss %.4f", step, p["train"]["steps"], float(loss))
    save_tensors(ctx.output.model, model.state_dict(), {{"seed": seed}})


@stage("{slug}.evaluate")
def evaluate(ctx):
    """Test error of every run and of the trivial control (the training mean)."""
    import numpy as np

    d = load_npz(ctx.input.data)
    runs = []
    for path in ctx.input.models:
        sd = load_tensors(path)
        pred = d["test_x"] @ sd["weight"].numpy()[0].astype(float) + float(sd["bias"])
        runs.append(float(np.mean((pred - d["test_y"]) ** 2)))
    control = float(np.mean((d["train_y"].mean() - d["test_y"]) ** 2))
    write_json(ctx.output.evals, {{"run_mse": runs, "control_mse": control}})
'''

FILES["src/paperdag/papers/{slug}/aggregate.py"] = '''"""{slug}: evaluations -> metrics (mean ± std over independent runs) and tables; writes nothing."""

from __future__ import annotations

import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std


def aggregate(inputs: dict, p: dict) -> Results:
    ev = read_json(inputs["evals"])
    runs, control = ev["run_mse"], ev["control_mse"]
    metrics = {{
        "units": "test mean squared error; mean ± std over independent training runs (n)",
        "run_mse": runs,
        "control_mse": control,
        "claims_inputs": {{"mse_gain_over_mean": mean_std([control - r for r in runs])}},
    }}
    df = pd.DataFrame([{{"predictor": f"run {{i}}", "test_mse": r}} for i, r in enumerate(runs)] + [{{"predictor": "control: training mean", "test_mse": control}}])
    table = Table(df, title="{slug}: test error per run", note=f"{{len(runs)}} independent training runs.", floatfmt=".4f")
    return Results(metrics, {{"results": table}})
'''

FILES["src/paperdag/papers/{slug}/plots.py"] = '''"""{slug}'s figures, from metrics.json only (never training code)."""

from __future__ import annotations

from paperdag.core import plotting


def fit(metrics: dict, p: dict, timing=None):
    """Test error per independent run beside the trivial control."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    runs = metrics["run_mse"]
    ax.bar(range(len(runs)), runs, color="tab:blue", label="trained linear model (one bar per run)")
    ax.axhline(metrics["control_mse"], color="black", linestyle="--", label="control: predict the training mean")
    ax.set_xticks(range(len(runs)), [f"run {{i}}" for i in range(len(runs))])
    ax.set_ylabel("test mean squared error")
    ax.set_title("{slug}: test error per run and the control")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
'''

FILES["src/paperdag/papers/{slug}/report.py"] = '''"""{slug}'s outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/{slug}/) and the final-output lists all come from here."""

FIGURES = ("fit",)
TABLES = ("results",)
METRICS_CONFIG = ()
FIGURES_CONFIG = ()
TIMING = False
RUNS = ("runs",)  # config keys that count independent runs (README, Verdicts: adding runs)


def metrics_inputs(scale: str, p: dict) -> dict:
    return {{"evals": f"results/{{scale}}/{slug}/evals/evals.json"}}
'''

FILES["tests/test_{slug}.py"] = '''"""{slug}: the method's maths on hand-computed cases (toy tests of the scaffold: replace them)."""

from __future__ import annotations

import pytest

from paperdag.core.errors import PaperdagError
from paperdag.papers.{slug} import plan


def test_run_seeds_are_distinct():
    p = {{"seed": 5, "runs": 3}}
    assert [plan.run_seed(p, r) for r in range(3)] == [5, 6, 7]


def test_cross_key_check_names_the_key():
    with pytest.raises(PaperdagError, match="data.n_train"):
        plan.check({{"data": {{"n_train": 4, "dim": 8}}}}, "config/papers/{slug}.yaml (scale smoke)")
'''

CONFIG_README = '''
## {slug} (`config/papers/{slug}.yaml`)

| key | meaning |
|---|---|
| `seed` | base seed; run *r* trains with seed `seed + r` |
| `runs` | independent training runs (the n of every training claim) |
| `data.n_train`, `data.n_val`, `data.n_test` | sizes of the synthetic splits |
| `data.dim` | input dimension |
| `data.noise` | label noise std |
| `train.steps` | gradient steps of each run |
| `train.lr` | learning rate |
'''

DVC_METRICS = ["results/default/{slug}/metrics.json", "results/smoke/{slug}/metrics.json"]


def render(text: str, slug: str, title: str) -> str:
    return text.format(slug=slug, title=title.replace('"', "'"))


def new_paper(slug: str, title: str, root: Path) -> list[str]:
    """Create every place of a new paper under `root`; returns the paths made or edited."""
    if not SLUG.match(slug):
        raise PaperdagError(f"paper slug '{slug}': use lower-case letters, digits and underscores, starting with a letter")
    if (root / "config/papers" / f"{slug}.yaml").exists() or (root / "src/paperdag/papers" / slug).exists():
        raise PaperdagError(f"paper '{slug}' exists already (config/papers/{slug}.yaml or src/paperdag/papers/{slug}/)")
    done = []
    for rel, text in FILES.items():
        path = root / rel.format(slug=slug)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(text, slug, title))
        done.append(str(path.relative_to(root)))
    # config/README.md: the paper's section
    cr = root / "config/README.md"
    if cr.exists():
        cr.write_text(cr.read_text().rstrip("\n") + "\n" + render(CONFIG_README, slug, title))
        done.append("config/README.md")
    # dvc.yaml: metrics entries (plots: add the paper's CSV tables when they exist)
    dv = root / "dvc.yaml"
    if dv.exists():
        text = dv.read_text()
        lines = "".join(f"  - {m.format(slug=slug)}\n" for m in DVC_METRICS)
        text = text.replace("plots:\n", lines + "plots:\n", 1) if "plots:\n" in text else text + "metrics:\n" + lines
        text = text.rstrip("\n") + f"\n  - results/default/{slug}/tables/results.csv\n"
        dv.write_text(text)
        done.append("dvc.yaml")
    # README.md: a row in the papers table
    rd = root / "README.md"
    if rd.exists():
        text = rd.read_text()
        row = f"| {title} | `{slug}` | scaffold | – |\n"
        m = re.search(r"(\| paper \| slug \| status \|[^\n]*\n\|[-|]+\|\n(?:\|[^\n]*\n)*)", text)
        if m:
            text = text[: m.end()] + row + text[m.end():]
            rd.write_text(text)
            done.append("README.md")
    return done

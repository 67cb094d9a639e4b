"""The paper contract as checks: the places of one paper agree with each other.

`problems(root, slug)` lists what is wrong (empty: the paper keeps the contract). Checked:
- the places exist: config, schema, rule file, package with report.py / aggregate.py / plots.py,
  a test file;
- every declared figure and table has a report caption, and no caption is orphaned;
- dvc.yaml lists the paper's metrics (default and smoke) and plots its CSV tables where it has any;
- the schema covers every config key (it is validated with additionalProperties: false, so an
  unknown key already fails) and config/README.md's section of the paper documents every key;
- every claim names a metric the paper writes (from the results of `scale`, where they exist);
- the README's papers table has its row.
Used by tests/test_contract.py for every registered paper and by the scaffold's test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml


def _leaf_keys(d: dict, prefix: str = "", depth: int = 2) -> list[str]:
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.append(key)
        if isinstance(v, dict) and depth > 1 and v:
            out.extend(_leaf_keys(v, key + ".", depth - 1))
    return out


def _documented(key: str, text: str) -> bool:
    """A key is documented if its section names it, or names its parent as a whole (`a`, `a.*`)
    or in a brace list (`a.{x,b}`)."""
    if f"`{key}`" in text or f"`{key}." in text:
        return True
    parts = key.split(".")
    for i in range(1, len(parts)):
        parent, rest = ".".join(parts[:i]), parts[i]
        if f"`{parent}`" in text and i == len(parts) - 1 and not re.search(rf"`{re.escape(parent)}\.", text):
            return True  # the whole block documented as one entry
        if f"`{parent}.*`" in text:
            return True
        if re.search(rf"`{re.escape(parent)}\.\{{[^}}`]*\b{re.escape(rest)}\b", text):
            return True
        if re.search(rf"`{re.escape(parent)}\.[^`]*\b{re.escape(rest)}\b[^`]*`", text):
            return True
        if f"`{parent}.<" in text:  # `methods.<name>`: a dictionary of named entries
            return True
        for line in text.splitlines():  # one row naming siblings in short: `a.x`, `y`, `.z`
            if f"`{parent}." in line and (f"`{rest}`" in line or f"`.{rest}`" in line):
                return True
    return False


def _section(readme: str, slug: str) -> str:
    m = re.search(rf"^## {re.escape(slug)}\b.*?$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    return m.group(1) if m else ""


def problems(root: Path, slug: str, scale: str = "default") -> list[str]:
    from . import results as R
    from .config import PaperConfig

    root = Path(root)
    out: list[str] = []
    need = [
        f"config/papers/{slug}.yaml",
        f"workflow/schemas/papers/{slug}.schema.yaml",
        f"workflow/rules/{slug}.smk",
        f"src/paperdag/papers/{slug}/report.py",
        f"src/paperdag/papers/{slug}/aggregate.py",
        f"src/paperdag/papers/{slug}/plots.py",
        f"src/paperdag/papers/{slug}/stages.py",
    ]
    out += [f"missing {p}" for p in need if not (root / p).exists()]
    if not list((root / "tests").glob(f"test_{slug}*.py")):
        out.append(f"missing tests/test_{slug}*.py")
    if out:
        return out

    # captions
    caps = {R.caption_path(slug, f, "figure") for f in R.figures(slug)} | {R.caption_path(slug, t, "table") for t in R.tables(slug)}
    out += [f"no report caption {c}" for c in sorted(caps) if not (root / c).exists()]
    have = {str(p.relative_to(root)) for p in (root / "workflow/report" / slug).glob("*.rst")}
    out += [f"caption {c} belongs to no declared figure or table" for c in sorted(have - caps)]

    # dvc.yaml
    dvc = yaml.safe_load((root / "dvc.yaml").read_text()) or {}
    metrics = set(dvc.get("metrics") or [])
    for s in ("default", "smoke"):
        if f"results/{s}/{slug}/metrics.json" not in metrics:
            out.append(f"dvc.yaml: metrics does not list results/{s}/{slug}/metrics.json")
    plots = [next(iter(p)) if isinstance(p, dict) else p for p in (dvc.get("plots") or [])]
    if (R.tables(slug) or R.csv_tables(slug)) and not any(p.startswith(f"results/default/{slug}/") for p in plots):
        out.append(f"dvc.yaml: plots has no entry for results/default/{slug}/tables/*.csv")

    # config keys documented
    cfg = PaperConfig(slug, root)
    section = _section((root / "config/README.md").read_text(), slug)
    if not section:
        out.append(f"config/README.md: no section '## {slug}'")
    else:
        keys = set()
        for s in ("smoke", "default", "paper"):
            keys |= set(_leaf_keys(cfg.params(s)))
        out += [f"config/README.md ({slug}): key `{k}` is not documented" for k in sorted(keys) if not _documented(k, section)]

    # claims name metrics the paper writes
    res = root / "results" / scale / slug
    if (res / "metrics.json").exists():
        m = json.loads((res / "metrics.json").read_text())
        written = set(m) | set(m.get("claims_inputs", {}))
        if (res / "timing.json").exists():
            written |= set(json.loads((res / "timing.json").read_text()).get("claims_inputs", {}))
        for c in cfg.claims:
            if scale in c.get("scales", [scale]) and c["metric"] not in written:
                out.append(f"claim {c['id']}: metric '{c['metric']}' is not in results/{scale}/{slug}/metrics.json or timing.json")

    # README papers table
    readme = (root / "README.md").read_text()
    if not re.search(rf"^\|[^\n]*\| `{re.escape(slug)}` \|", readme, re.M):
        out.append(f"README.md: the papers table has no row for `{slug}`")
    return out

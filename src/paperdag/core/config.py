"""Paper configs: `config/papers/<slug>.yaml` holds `title`, `claims`, a `base` parameter block
and per-scale overrides under `scales: {smoke, default, paper}`. The parameters a job sees are
`base` deep-merged with `scales[<scale>]`, validated against
`workflow/schemas/papers/<slug>.schema.yaml` (JSON schema, `additionalProperties: false`
everywhere, so a misspelt key is an error)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import PaperdagError

SCALES = ("smoke", "default", "paper")


def repo_root(start: Path | None = None) -> Path:
    """The folder holding `Snakefile` and `config/`: the current directory or one above it."""
    here = Path(start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "Snakefile").exists() and (p / "config" / "config.yaml").exists():
            return p
    raise PaperdagError(
        f"no paperdag checkout found at or above {here} (looked for Snakefile and config/config.yaml)"
    )


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load_yaml(path: Path) -> Any:
    if not path.exists():
        raise PaperdagError(f"{path}: file not found")
    try:
        # libyaml's C loader when present: 10x faster, and every dry run parses every config
        return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise PaperdagError(f"{path}: not valid YAML: {e}") from e


def _where(err: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in err.absolute_path) or "<top level>"


def _validate(obj: Any, schema: dict, path: Path, context: str) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{path}: invalid config{context}:"]
        for e in errors[:10]:
            lines.append(f"  key {_where(e)}: {e.message}")
        raise PaperdagError("\n".join(lines))


CLAIM_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "text", "metric", "check", "paper_value"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9_]+$"},
        "text": {"type": "string"},
        "paper": {"type": "string", "description": "where the paper states it, with its numbers"},
        "metric": {"type": "string", "description": "key in metrics.json (mean/std/n in metrics['claims_inputs'])"},
        "paper_value": {"type": ["number", "null"]},
        "unit": {"type": "string"},
        "check": {"enum": ["at_least", "at_most", "within", "same_sign"]},
        "threshold": {"type": "number"},
        "tolerance": {"type": "number", "minimum": 0},
        "scales": {"type": "array", "items": {"enum": list(SCALES)}},
        "min_n": {"type": "integer", "minimum": 1, "description": "fewest independent runs (seeds) that can confirm the claim"},
        "kind": {"enum": ["claim", "premise", "check", "analytic", "descriptive"], "description": "claim (default): one of the paper's empirical findings; premise: a testbed precondition the claims rest on (never counted as a claim); check: true by construction or a correctness identity; analytic: a formula value; descriptive: a measured value shown beside the paper's, with no verdict by design"},
        "note": {"type": "string", "description": "why the row is of its kind, or what its number depends on (shown under the ledger)"},
        "requires": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "description": "ids of rows this claim's premise rests on"},
        "paper_effect": {"type": ["number", "null"], "description": "the paper's number for the same quantity as our metric (ours / paper); null: none comparable"},
        "paper_value_note": {"type": "string", "description": "why paper_value is null or what it stands for"},
    },
}


def validate_claims(claims: list[dict], path: Path) -> None:
    """Cross-key checks of a paper's claims (after the schema): unique ids, the keys each check
    needs, `requires` only on claims and premises, naming existing ids, without cycles (the
    ledger's own `premise_order`, so there is one cycle check). Errors name the file and the key."""
    from .claims import premise_order

    ids: dict[str, int] = {}
    for i, c in enumerate(claims):
        where = f"{path}: key claims.{i}"
        if c["id"] in ids:
            raise PaperdagError(f"{where}.id: duplicate claim id '{c['id']}' (also claims.{ids[c['id']]})")
        ids[c["id"]] = i
        chk = c["check"]
        if chk in ("at_least", "at_most") and "threshold" not in c:
            raise PaperdagError(f"{where}.threshold: check '{chk}' needs a threshold")
        if chk == "within" and ("tolerance" not in c or c.get("paper_value") is None):
            raise PaperdagError(f"{where}.tolerance: check 'within' needs a tolerance and a numeric paper_value")
        if chk == "same_sign" and not c.get("paper_value"):
            raise PaperdagError(f"{where}.paper_value: check 'same_sign' needs a non-zero paper_value")
        if c.get("requires") and c.get("kind", "claim") not in ("claim", "premise"):
            raise PaperdagError(f"{where}.requires: only rows of kind 'claim' or 'premise' can have premises")
    try:
        premise_order(claims, where=lambda cid: f"{path}: key claims.{ids[cid]}")
    except ValueError as e:
        raise PaperdagError(str(e)) from None


PAPER_FILE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "base", "scales", "claims"],
    "properties": {
        "title": {"type": "string"},
        "arxiv": {"type": "string"},
        "status": {"type": "string"},
        "base": {"type": "object"},
        "scales": {
            "type": "object",
            "additionalProperties": False,
            "required": list(SCALES),
            "properties": {s: {"type": ["object", "null"]} for s in SCALES},
        },
        "claims": {"type": "array", "items": CLAIM_SCHEMA},
    },
}


class PaperConfig:
    """One paper's config file, validated; `params(scale)` gives the merged parameter dict."""

    def __init__(self, slug: str, root: Path | None = None, overrides: list | None = None, override_scale: str | None = None):
        """`overrides`: [(key path, value)] set on top of the parameters of `override_scale` (the
        scale being run; the top-level config's `set` entries for this paper, e.g. `runs` from
        `paperdag run <slug> --set runs=5`)."""
        self.root = Path(root) if root else repo_root()
        self.slug = slug
        self.overrides = list(overrides or [])
        self.override_scale = override_scale
        self.path = self.root / "config" / "papers" / f"{slug}.yaml"
        if not self.path.exists():
            known = ", ".join(available_papers(self.root)) or "none"
            raise PaperdagError(f"unknown paper '{slug}': {self.path} does not exist (known papers: {known})")
        self.schema_path = self.root / "workflow" / "schemas" / "papers" / f"{slug}.schema.yaml"
        raw = _load_yaml(self.path)
        _validate(raw, PAPER_FILE_SCHEMA, self.path, "")
        validate_claims(raw["claims"], self.path)
        self.raw = raw
        self.schema = _load_yaml(self.schema_path)
        self._params = {}
        for scale in SCALES:
            merged = deep_merge(raw["base"], raw["scales"].get(scale) or {})
            for keys, value in (self.overrides if scale == override_scale else []):
                _set_path(merged, keys, value, self.path)
            _validate(merged, self.schema, self.path, f" (base merged with scales.{scale}; schema {self.schema_path.relative_to(self.root)})")
            self._params[scale] = merged
        self._cross_checks()

    def _cross_checks(self) -> None:
        """Checks across keys that a JSON schema cannot express: the paper's
        `paperdag.papers.<slug>.plan.check(params, where)`, if it has one, for every scale (it
        raises PaperdagError naming the file, the scale and the key)."""
        import importlib

        try:
            plan = importlib.import_module(f"paperdag.papers.{self.slug}.plan")
        except ModuleNotFoundError as e:
            if e.name in (f"paperdag.papers.{self.slug}.plan", f"paperdag.papers.{self.slug}"):
                return
            raise
        check = getattr(plan, "check", None)
        if check is None:
            return
        for scale in SCALES:
            check(self._params[scale], f"{self.path.relative_to(self.root) if self.path.is_relative_to(self.root) else self.path} (scale {scale})")

    @property
    def title(self) -> str:
        return self.raw["title"]

    @property
    def claims(self) -> list[dict]:
        return self.raw["claims"]

    def params(self, scale: str) -> dict:
        check_scale(scale)
        return copy.deepcopy(self._params[scale])


def _set_path(d: dict, keys: list[str], value: Any, path: Path) -> None:
    for i, k in enumerate(keys[:-1]):
        nxt = d.get(k)
        if nxt is None:
            nxt = d[k] = {}
        if not isinstance(nxt, dict):
            raise PaperdagError(f"{path}: key {'.'.join(keys[:i + 1])} is not a section; cannot set {'.'.join(keys)}")
        d = nxt
    d[keys[-1]] = copy.deepcopy(value)


def parse_overrides(entries, papers: list[str], known: list[str], source: str = "config key set") -> dict[str, list]:
    """The top-level `set` entries, "<slug>.<key path>=<value>" (the value read as YAML), as
    {slug: [(key path, value)]}. A bare "<key path>=<value>" applies to every paper in `papers`
    (`paperdag run moi --set runs=5`); `known`: every paper's slug."""
    if isinstance(entries, str):
        entries = entries.split()
    out: dict[str, list] = {}
    for e in entries or []:
        if "=" not in str(e):
            raise PaperdagError(f"{source}: '{e}' is not <slug>.<key>=<value>")
        key, val = str(e).split("=", 1)
        try:
            value = yaml.safe_load(val)
        except yaml.YAMLError as err:
            raise PaperdagError(f"{source}: '{e}': value is not valid YAML: {err}") from None
        keys = key.split(".")
        if keys[0] in known:
            targets, keys = [keys[0]], keys[1:]
        else:
            targets = list(papers)
        if not keys or not all(keys):
            raise PaperdagError(f"{source}: '{e}' names no key")
        for slug in targets:
            out.setdefault(slug, []).append((keys, value))
    return out


def check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise PaperdagError(f"unknown scale '{scale}' (config key 'scale'): choose one of {', '.join(SCALES)}")


def available_papers(root: Path | None = None) -> list[str]:
    root = Path(root) if root else repo_root()
    return sorted(p.stem for p in (root / "config" / "papers").glob("*.yaml"))


MAIN_SCHEMA_FILE = Path("workflow") / "schemas" / "config.schema.yaml"


def load_main_config(config: dict, root: Path | None = None, source: str = "config/config.yaml") -> dict:
    """Validate the top-level config (`config/config.yaml` plus --config overrides) and normalise
    `papers` to a list of known slugs."""
    root = Path(root) if root else repo_root()
    schema = _load_yaml(root / MAIN_SCHEMA_FILE)
    cfg = dict(config)
    known = available_papers(root)
    if isinstance(cfg.get("papers"), str):
        cfg["papers"] = [p for p in cfg["papers"].replace(",", " ").split() if p]
    if isinstance(cfg.get("papers"), list) and "all" in cfg["papers"]:
        # `papers: all` (the default): every paper with a config/papers/<slug>.yaml, so that a paper
        # added with the scaffold is planned by plain `snakemake` without editing this file
        cfg["papers"] = list(dict.fromkeys(known + [p for p in cfg["papers"] if p != "all"]))
    _validate(cfg, schema, Path(source), "")
    check_scale(cfg["scale"])
    for slug in cfg["papers"]:
        if slug not in known:
            raise PaperdagError(
                f"{source}: key papers: unknown paper '{slug}' (known papers: {', '.join(known)})"
            )
    cfg["overrides"] = parse_overrides(cfg.get("set") or [], cfg["papers"], known, f"{source}: key set")
    return cfg

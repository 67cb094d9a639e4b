"""DVC as the artifact store; Snakemake stays the only DAG (dvc.yaml holds no stages, only
metrics and plots).

`paperdag push --scale S`: `dvc add` each paper's artifact folders under results/S/<slug>/
(data, models, evaluations, ...; not logs/benchmarks/.resume, and not the small files that git
tracks on purpose) and the shared assets under resources/, then `dvc push` to the default
remote (a local folder, `~/.cache/paperdag/dvc-remote`, set in .dvc/config: works offline).
Commit the `.dvc` files it prints.

`paperdag pull --scale S` (e.g. in a fresh clone): `dvc pull`, then restores the *order* of the
files' modification times recorded at push time. DVC gives restored files new timestamps in no
particular order, and Snakemake decides what is stale by timestamps, so without this an input
restored after its output would make Snakemake retrain. Restored files get "now + rank", so they
keep their original order and are newer than the checked-out source files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .config import SCALES, available_papers
from .errors import PaperdagError

SKIP = {"logs", "benchmarks", ".resume"}
MANIFEST = ".paperdag-mtimes.json"


def _dvc(root: Path, *args: str) -> None:
    exe = Path(sys.executable).parent / "dvc"
    cmd = [str(exe) if exe.exists() else "dvc", *args]
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, cwd=root)
    if p.returncode != 0:
        raise PaperdagError(f"`{' '.join(cmd)}` failed with exit code {p.returncode}")


def _git_tracked(root: Path) -> set[str]:
    p = subprocess.run(["git", "ls-files", "-z", "results", "resources"], cwd=root, capture_output=True, text=True)
    if p.returncode != 0:
        raise PaperdagError(f"{root}: not a git repository (DVC needs one): {p.stderr.strip()}")
    return {x for x in p.stdout.split("\0") if x}


def _check_repo(root: Path) -> None:
    if not (root / ".dvc").is_dir():
        raise PaperdagError(f"{root}/.dvc not found: run `dvc init` in the checkout (the README's set-up does)")


def paper_items(root: Path, scale: str, slug: str, tracked: set[str]) -> list[Path]:
    """What DVC tracks for one paper and scale: subfolders and top-level files, except logs,
    benchmarks, resume state, DVC's own files, and anything git tracks."""
    base = root / "results" / scale / slug
    if not base.is_dir():
        return []
    items = []
    for p in sorted(base.iterdir()):
        rel = p.relative_to(root).as_posix()
        if p.name in SKIP or p.suffix == ".dvc" or p.name in (".gitignore", MANIFEST):
            continue
        if p.is_dir():
            if any(t == rel or t.startswith(rel + "/") for t in tracked):
                continue
        elif rel in tracked:
            continue
        items.append(p)
    return items


def write_manifest(root: Path, scale: str, slug: str) -> Path:
    base = root / "results" / scale / slug
    entries = {}
    for p in base.rglob("*"):
        rel = p.relative_to(base)
        if rel.parts[0] in SKIP or p.name == MANIFEST or p.suffix == ".dvc" or p.name == ".gitignore":
            continue
        entries[rel.as_posix()] = p.stat().st_mtime_ns
    path = base / MANIFEST
    path.write_text(json.dumps(entries, indent=0, sort_keys=True))
    return path


def apply_manifest(root: Path, scale: str, slug: str) -> int:
    base = root / "results" / scale / slug
    path = base / MANIFEST
    if not path.exists():
        return 0
    entries = json.loads(path.read_text())
    now = time.time_ns()
    n = 0
    # oldest first; directories after their contents when times are equal
    for rank, (rel, _) in enumerate(sorted(entries.items(), key=lambda kv: (kv[1], kv[0].count("/") * -1))):
        p = base / rel
        if p.exists():
            t = now + rank * 10_000_000  # 10 ms apart, in the recorded order
            os.utime(p, ns=(t, t), follow_symlinks=False)
            n += 1
    return n


def _papers(root: Path, papers: list[str] | None) -> list[str]:
    known = available_papers(root)
    for p in papers or []:
        if p not in known:
            raise PaperdagError(f"unknown paper '{p}' (known: {', '.join(known)})")
    return papers or known


def push(root: Path, scale: str, papers: list[str] | None = None) -> int:
    _check_repo(root)
    if scale not in SCALES:
        raise PaperdagError(f"unknown scale '{scale}'")
    tracked = _git_tracked(root)
    targets = []
    for slug in _papers(root, papers):
        items = paper_items(root, scale, slug, tracked)
        if not items:
            continue
        targets += [write_manifest(root, scale, slug)] + items
    res = root / "resources"
    if res.is_dir():
        for kind in sorted(res.iterdir()):
            if kind.is_dir() and kind.name not in SKIP:
                targets += [p for p in sorted(kind.iterdir()) if p.suffix != ".dvc" and p.name != ".gitignore" and p.relative_to(root).as_posix() not in tracked]
    if not targets:
        print(f"nothing to push for scale {scale}: run the pipeline first")
        return 1
    rels = [t.relative_to(root).as_posix() for t in targets]
    _dvc(root, "add", "--quiet", *rels)
    _dvc(root, "push", "--quiet", *[r + ".dvc" for r in rels])
    print("\nCommit the DVC pointers so that a clone can `paperdag pull`:")
    print("  git add " + " ".join(r + ".dvc" for r in rels) + " && git commit -m 'Artifacts of " + scale + "'")
    return 0


def pull(root: Path, scale: str, papers: list[str] | None = None) -> int:
    _check_repo(root)
    slugs = _papers(root, papers)
    dvcs = []
    for slug in slugs:
        dvcs += sorted((root / "results" / scale / slug).glob("*.dvc"))
    if (root / "resources").is_dir():
        dvcs += sorted((root / "resources").glob("*/*.dvc"))
    if not dvcs:
        print(f"no DVC pointers for scale {scale} (run `paperdag push --scale {scale}` and commit the .dvc files)")
        return 1
    _dvc(root, "pull", "--quiet", *[d.relative_to(root).as_posix() for d in dvcs])
    n = sum(apply_manifest(root, scale, slug) for slug in slugs)
    print(f"restored the recorded order of {n} files' timestamps; `snakemake -n --config scale={scale}` shows what is left to run")
    return 0

"""The `paperdag` command. It drives Snakemake (the only DAG) and DVC; it adds nothing
Snakemake already does well, so every unknown option passes straight through to Snakemake.

  paperdag list                          papers, scales, last verdicts
  paperdag run [SLUG...] [--scale S] [-n] [snakemake options...]
  paperdag claims [SLUG...] [--scale S]  print the claims ledger
  paperdag report [--scale S]            Snakemake HTML report of a scale
  paperdag stage NAME ...                run one stage alone (what each rule calls)
  paperdag push / pull [--scale S]       DVC: store / restore artifacts (local remote, offline)
  paperdag bench [--scale S]             per-job wall time and memory from benchmark files
  paperdag new SLUG [--title T]          scaffold a new paper (every place it needs, runnable at smoke)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .core.config import SCALES, PaperConfig, available_papers, parse_overrides, repo_root
from .core.errors import PaperdagError


def _snakemake_cmd(root: Path) -> list[str]:
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if not exe:
        raise PaperdagError("snakemake is not installed in this environment (run the README's set-up)")
    return [exe, "--snakefile", str(root / "Snakefile"), "--directory", str(root)]


def _env() -> dict:
    env = dict(os.environ)
    # make sure the jobs' `python -m paperdag` is this environment's python
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _snakemake_running_in(root: Path) -> bool:
    """Is another snakemake process working in `root`? (Linux: /proc/<pid>/cwd + cmdline)."""
    me = os.getpid()
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if int(d.name) == me:
                continue
            cmdline = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "snakemake" not in cmdline or "--unlock" in cmdline:
                continue
            if Path(os.readlink(d / "cwd")).resolve() == root.resolve():
                return True
        except (OSError, ValueError):
            continue
    return False


def _clear_stale_lock(root: Path) -> None:
    """After a kill -9 or a power loss Snakemake leaves its lock behind and refuses to start.
    If no snakemake process works in this checkout, the lock is stale: remove it (the same as
    `snakemake --unlock`), so that rerunning the same command resumes the work."""
    locks = root / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()) and not _snakemake_running_in(root):
        print("paperdag: removing a stale Snakemake lock left by an interrupted run", file=sys.stderr)
        subprocess.call(_snakemake_cmd(root) + ["--unlock", "--quiet"], cwd=root, env=_env(), stdout=subprocess.DEVNULL)


# Snakemake modes that run no jobs (or print their own report): passed through untouched.
_PASSTHROUGH = {
    "--unlock", "--cleanup-metadata", "--cm", "--list-rules", "--list", "-l", "--list-target-rules", "--lt",
    "--dag", "--rulegraph", "--filegraph", "--d3dag", "--summary", "-S", "--detailed-summary", "-D",
    "--report", "--touch", "-t", "--delete-all-output", "--delete-temp-output", "--lint", "--help", "-h",
    "--version", "-v", "--list-changes", "--lc", "--list-input-changes", "--li", "--list-params-changes",
    "--lp", "--list-code-changes", "--list-untracked", "--lu", "--archive", "--containerize", "--export-cwl",
}


def cmd_run(args, extra: list[str]) -> int:
    from . import runview

    root = repo_root()
    dry = args.dry_run or "-n" in extra or "--dry-run" in extra or "--dryrun" in extra
    if not dry:
        _clear_stale_lock(root)
    slugs = args.papers or available_papers(root)
    overrides = parse_overrides(args.set or [], slugs, available_papers(root), "paperdag run --set")
    for s in slugs:
        PaperConfig(s, root, overrides=overrides.get(s), override_scale=args.scale)  # unknown paper / bad config: clear error before Snakemake starts
    cmd = _snakemake_cmd(root) + ["--config", f"scale={args.scale}", f"papers=[{','.join(slugs)}]"]
    if args.set:
        cmd.append("set=[" + ",".join(json.dumps(e) for e in args.set) + "]")
    cores = args.cores
    if not any(a in extra for a in ("--cores", "-c", "--jobs", "-j", "--profile")):
        cmd += ["--cores", str(args.cores)]
    else:
        for flag in ("--cores", "-c", "--jobs", "-j"):
            if flag in extra and extra.index(flag) + 1 < len(extra) and extra[extra.index(flag) + 1].isdigit():
                cores = int(extra[extra.index(flag) + 1])
    if args.dry_run:
        cmd.append("-n")
    cmd += extra
    if any(a.split("=", 1)[0] in _PASSTHROUGH for a in extra):
        print("+", " ".join(cmd), flush=True)
        return subprocess.call(cmd, cwd=root, env=_env())
    if args.verbose:
        print("+", " ".join(cmd), flush=True)
    return runview.drive(
        cmd, root, _env(), args.scale, slugs, dry_run=dry, verbose=args.verbose, cores=cores,
        rerun_cmd=runview.command_line(_rerun_argv(args, extra)),
    )


def _rerun_argv(args, extra: list[str]) -> list[str]:
    """The same `paperdag run` without -n: Snakemake then runs only what is missing or
    incomplete (the default profile sets rerun-incomplete), so finished jobs are kept."""
    argv = ["run", *args.papers, "--scale", args.scale]
    if args.cores != (os.cpu_count() or 1):
        argv += ["--cores", str(args.cores)]
    for e in args.set or []:
        argv += ["--set", e]
    return argv + [a for a in extra if a not in ("-n", "--dry-run", "--dryrun")]


def _ledger(root: Path, scale: str, slug: str) -> dict | None:
    p = root / "results" / scale / slug / "claims.json"
    return json.loads(p.read_text()) if p.exists() else None


def _verdict_counts(led: dict | None) -> str:
    """Verdicts of claims only; checks and analytic rows counted apart ("; checks: 2 passed")."""
    from .core.claims import counts_line

    if led is None:
        return "(not run)"
    return counts_line(led["claims"])


def cmd_list(args, extra) -> int:
    root = repo_root()
    if args.markdown:  # the README's papers table
        print("| paper | slug | status | claims at the default scale |")
        print("|---|---|---|---|")
        for slug in available_papers(root):
            cfg = PaperConfig(slug, root)
            arxiv = cfg.raw.get("arxiv", "")
            title = f"{cfg.title} ([arXiv {arxiv}](https://arxiv.org/abs/{arxiv}))" if arxiv else cfg.title
            print(f"| {title} | `{slug}` | {cfg.raw.get('status', '')} | {_verdict_counts(_ledger(root, 'default', slug))} |")
        return 0
    print(f"{'paper':24} {'scale':8} verdicts")
    for slug in available_papers(root):
        cfg = PaperConfig(slug, root)
        for scale in SCALES:
            print(f"{slug:24} {scale:8} {_verdict_counts(_ledger(root, scale, slug))}")
        print(f"{'':24} {cfg.title}")
    return 0


def _rebuild_ledgers(root: Path, scale: str, slugs: list[str]) -> None:
    """Re-evaluate the claims of `slugs` from their existing metrics.json (+ timing.json) with the
    current claims config and verdict rule, then SUMMARY.md: what the claims and summary rules do,
    without Snakemake (so a checkout holding only the tracked results, with no intermediate
    artifacts, does not retrain). Runtimes come from benchmark files, else from the previous
    summary.json."""
    from .core import results as R
    from .core.stage import run_job
    from .core.workflow import claims_cfg

    base = root / "results" / scale
    done = []
    for slug in slugs:
        cfg = PaperConfig(slug, root)
        metrics = base / slug / "metrics.json"
        if not metrics.exists():
            print(f"paperdag: {slug}: no {metrics.relative_to(root)}; skipped", file=sys.stderr)
            continue
        inputs = {"metrics": str(metrics)}
        timing = base / slug / "timing.json"
        if R.has_timing(slug) and timing.exists():
            inputs["timing"] = str(timing)
        io = {"input": inputs, "output": {"claims": str(base / slug / "claims.json"), "md": str(base / slug / "tables" / "claims.md")},
              "wildcards": {"scale": scale, "slug": slug}}
        if run_job("core.claims", io, json.loads(claims_cfg(cfg, scale))):
            raise PaperdagError(f"{slug}: rebuilding the ledger failed")
        done.append(slug)
    prev = {}
    if (base / "summary.json").exists():
        for r in json.loads((base / "summary.json").read_text()).get("rows", []):
            prev[r["slug"]] = r.get("runtime_s")
    elif (base / "SUMMARY.md").exists():  # the tracked table: its last column is the runtime
        for line in (base / "SUMMARY.md").read_text().splitlines():
            cells = [c.strip().removesuffix(" †") for c in line.strip().strip("|").split("|")]
            if len(cells) > 2 and cells[0] in slugs + available_papers(root) and cells[-1].isdigit():
                prev[cells[0]] = float(cells[-1])
    from .core.summary import paper_runtime_s

    runtimes = {s: (paper_runtime_s(base / s) or prev.get(s) or 0.0) for s in done}
    papers = available_papers(root)
    have = [s for s in papers if (base / s / "claims.json").exists()]
    for s in have:
        runtimes.setdefault(s, paper_runtime_s(base / s) or prev.get(s) or 0.0)
    io = {"input": {"claims": [str(base / s / "claims.json") for s in have]},
          "output": {"md": str(base / "SUMMARY.md"), "json": str(base / "summary.json")}, "wildcards": {"scale": scale}}
    cfg = {"papers": have, "titles": {s: PaperConfig(s, root).title for s in have}, "runtimes": runtimes}
    if run_job("core.summary", io, cfg):
        raise PaperdagError("rebuilding SUMMARY.md failed")
    print(f"paperdag: ledgers rebuilt from metrics for {', '.join(done)}; {base.relative_to(root)}/SUMMARY.md")


def cmd_claims(args, extra) -> int:
    from .core.claims import claims_markdown

    root = repo_root()
    slugs = args.papers or available_papers(root)
    if args.rebuild:
        _rebuild_ledgers(root, args.scale, slugs)
    rc = 0
    for slug in slugs:
        PaperConfig(slug, root)
        led = _ledger(root, args.scale, slug)
        if led is None:
            print(f"## {slug} ({args.scale}): no ledger yet; run `paperdag run {slug} --scale {args.scale}`\n")
            rc = 1
            continue
        print(f"## {slug} ({args.scale}): {led['title']}\n")
        print(claims_markdown(led["claims"]))
    return rc


def cmd_report(args, extra) -> int:
    root = repo_root()
    slugs = args.papers or available_papers(root)
    out = args.output or f"results/{args.scale}/report.html"
    cmd = _snakemake_cmd(root) + ["--config", f"scale={args.scale}", f"papers=[{','.join(slugs)}]", "--report", out] + extra
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=root, env=_env())


def _kv(pairs: list[str], what: str) -> dict:
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise PaperdagError(f"--{what} takes NAME=PATH, got '{p}'")
        k, v = p.split("=", 1)
        out.setdefault(k, [])
        out[k].append(v)
    return {k: (v[0] if len(v) == 1 else v) for k, v in out.items()}


def cmd_stage(args, extra) -> int:
    from .core.stage import run_job

    if args.io:
        io = json.loads(args.io)
    else:
        io = {"input": _kv(args.input, "input"), "output": _kv(args.output, "output"), "wildcards": _kv(args.wildcard, "wildcard")}
    if args.cfg:
        cfg = json.loads(args.cfg)
    else:  # run by hand: the paper's full merged config at --scale
        slug = args.name.split(".", 1)[0]
        if slug == "core":
            raise PaperdagError("core stages need --cfg JSON (they are run by the workflow)")
        cfg = PaperConfig(slug).params(args.scale)
        io.setdefault("wildcards", {}).setdefault("scale", args.scale)
    return run_job(args.name, io, cfg, threads=args.threads, log_path=args.log)


def cmd_bench(args, extra) -> int:
    import csv

    root = repo_root()
    rows = []
    for tsv in sorted((root / "results" / args.scale).glob("*/benchmarks/*.tsv")):
        with open(tsv) as fh:
            r = list(csv.DictReader(fh, delimiter="\t"))
        if r:
            rows.append((tsv.parent.parent.name, tsv.stem, float(r[-1]["s"]), r[-1].get("max_rss", "")))
    by_paper: dict[str, float] = {}
    for slug, job, s, rss in rows:
        by_paper[slug] = by_paper.get(slug, 0.0) + s
        if args.jobs:
            print(f"{slug:24} {job:50} {s:8.2f} s  max_rss {rss} MB")
    print(f"\n{'paper':24} {'jobs wall-time sum (s)':>24}")
    for slug, s in sorted(by_paper.items()):
        print(f"{slug:24} {s:24.1f}")
    return 0


def cmd_push(args, extra) -> int:
    from .core import dvcops

    return dvcops.push(repo_root(), args.scale, args.papers)


def cmd_pull(args, extra) -> int:
    from .core import dvcops

    return dvcops.pull(repo_root(), args.scale, args.papers)


def cmd_new(args, extra) -> int:
    from .scaffold import new_paper

    root = repo_root()
    made = new_paper(args.slug, args.title or args.slug, root)
    print(f"paperdag: new paper '{args.slug}', runnable at smoke (`paperdag run {args.slug} --scale smoke`):")
    for f in made:
        print(f"  {f}")
    print("Next: docs/DEVELOPING.md, 'Add a paper' (replace the toy chain, fill claims, captions, tests).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="paperdag", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    def scale_arg(p, default="default"):
        p.add_argument("--scale", default=default, choices=SCALES, help="smoke | default | paper (default: %(default)s)")

    p = sub.add_parser("list", help="papers, scales and their last verdicts")
    p.add_argument("--markdown", action="store_true", help="the README's papers table (default scale)")
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("run", help="run papers through Snakemake (other options pass through)")
    p.add_argument("papers", nargs="*", help="paper slugs (default: all)")
    scale_arg(p)
    p.add_argument("-n", "--dry-run", action="store_true")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    p.add_argument("--set", action="append", metavar="[SLUG.]KEY=VALUE",
                   help="set a paper parameter for this run, e.g. --set runs=5 (more independent runs: only the "
                        "new runs' jobs and the aggregates run); a bare KEY applies to every paper of the run")
    p.add_argument("--verbose", action="store_true",
                   help="show Snakemake's full output instead of the compact view (it is always written to a log file)")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("claims", help="print the claims ledger")
    p.add_argument("papers", nargs="*")
    p.add_argument("--rebuild", action="store_true",
                   help="first re-evaluate the ledgers and SUMMARY.md from the existing metrics.json (no jobs run)")
    scale_arg(p)
    p.set_defaults(fn=cmd_claims)

    p = sub.add_parser("report", help="Snakemake HTML report with every table and figure")
    p.add_argument("papers", nargs="*")
    scale_arg(p)
    p.add_argument("--output", help="default results/<scale>/report.html")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("stage", help="run one stage alone, e.g. paperdag stage catn.data --output data=/tmp/d.npz --scale smoke")
    p.add_argument("name", help="<slug>.<stage>")
    p.add_argument("--input", action="append", metavar="NAME=PATH")
    p.add_argument("--output", action="append", metavar="NAME=PATH")
    p.add_argument("--wildcard", action="append", metavar="NAME=VALUE")
    p.add_argument("--io", help="JSON {input, output, wildcards} (what the rules pass)")
    p.add_argument("--cfg", help="JSON config slice (what the rules pass); default: the paper's config at --scale")
    scale_arg(p)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log", help="log file (default: stderr)")
    p.set_defaults(fn=cmd_stage)

    for name, fn, hlp in (("push", cmd_push, "dvc add + dvc push the artifacts of a scale"), ("pull", cmd_pull, "dvc pull, then mark restored outputs up to date")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("papers", nargs="*")
        scale_arg(p)
        p.set_defaults(fn=fn)

    p = sub.add_parser("new", help="scaffold a new paper: every place it needs, runnable at smoke (docs/DEVELOPING.md)")
    p.add_argument("slug", help="lower-case name, e.g. layer_swapping")
    p.add_argument("--title", help="the paper's title (authors, venue)", default=None)
    p.set_defaults(fn=cmd_new)

    p = sub.add_parser("bench", help="benchmark summary from Snakemake benchmark files")
    scale_arg(p)
    p.add_argument("--jobs", action="store_true", help="one line per job")
    p.set_defaults(fn=cmd_bench)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = build_parser()
    args, extra = ap.parse_known_args(argv)
    if extra and args.command not in ("run", "report"):
        ap.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.fn(args, extra) or 0)
    except PaperdagError as e:
        sys.stderr.write(f"paperdag: {e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())

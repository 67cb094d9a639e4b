"""Where a run ran: CPU model and the instruction sets the math kernels dispatch on, torch and its
BLAS/oneDNN build, the ATen CPU capability in use, thread counts, the environment variables that
change kernels or threads, Python and key package versions. Measured, machine-dependent, so it goes
beside the timings (`timing.json`), never into the byte-deterministic `metrics.json`:

    from paperdag.core.provenance import with_provenance
    write_json(out.timing, with_provenance({"timing": ..., "claims_inputs": ...}))

or `add_provenance_to(path)` for an existing timing file. Two runs whose metrics differ in the
last digits can then be told apart by CPU flags (AVX2 vs AVX-512 kernels), BLAS and threads."""

from __future__ import annotations

import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "paperdag", "torch", "numpy", "scipy", "scikit-learn", "transformers", "tokenizers", "safetensors",
    "peft", "pandas", "snakemake", "threadpoolctl",
)
# environment variables that select kernels, their reproducibility mode, or thread counts
ENV_VARS = (
    "ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "MKL_NUM_THREADS", "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "CUBLAS_WORKSPACE_CONFIG",
    "PYTHONHASHSEED",
)
# CPU flags that decide which SIMD kernels BLAS/oneDNN/ATen pick
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_info() -> dict:
    info = {"machine": platform.machine(), "logical_cpus": os.cpu_count(), "model": platform.processor() or None}
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    info["usable_cpus"] = usable
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    if m:
        info["model"] = m.group(1).strip()
    f = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    if f:
        flags = set(f.group(1).split())
        info["isa_flags"] = [x for x in ISA_FLAGS if x in flags]
    return info


def _torch_info() -> dict:
    try:
        import torch
    except ImportError:
        return {"installed": False}
    cfg = torch.__config__.show()
    keep = {}
    for key in ("BLAS_INFO", "LAPACK_INFO", "USE_MKL", "USE_MKLDNN", "USE_OPENMP", "CXX_COMPILER"):
        m = re.search(rf"{key}=([^,\n]+)", cfg)
        if m:
            keep[key] = m.group(1).strip()
    for label, pat in (("mkl", r"Intel\(R\) (?:oneAPI )?Math Kernel Library[^\n]*"), ("onednn", r"Intel\(R\) MKL-DNN[^\n]*|oneDNN[^\n]*"),
                       ("openmp", r"OpenMP [^\n]*"), ("cpu_capability_build", r"CPU capability usage: [^\n]*")):
        m = re.search(pat, cfg)
        if m:
            keep[label] = m.group(0).strip().lstrip("- ")
    out = {
        "version": torch.__version__,
        "build": keep,
        "cpu_capability": getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: None)(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "mkl_available": bool(torch.backends.mkl.is_available()),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
    }
    if out["cuda_available"]:
        out["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return out


def _blas_pools() -> list[dict]:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries (numpy's OpenBLAS, torch's MKL or
    OpenBLAS, libgomp): library, version, threads, and the kernel family it dispatched."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")
    return [{k: p.get(k) for k in keep if p.get(k) is not None} for p in threadpool_info()]


def package_versions(names=PACKAGES) -> dict:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def provenance() -> dict:
    import numpy as np

    return {
        "cpu": cpu_info(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "torch": _torch_info(),
        "numpy": np.__version__,
        "blas": _blas_pools(),
        "env": {k: os.environ.get(k) for k in ENV_VARS if os.environ.get(k) is not None},
        "packages": package_versions(),
    }


def with_provenance(timing: dict) -> dict:
    """`timing` with this run's provenance under the key "provenance" (a copy; the input is kept)."""
    return {**timing, "provenance": provenance()}


def add_provenance_to(path) -> None:
    """Add (or refresh) the "provenance" entry of an existing timing.json, atomically."""
    from .io import read_json, write_json

    p = Path(path)
    data = read_json(p) if p.exists() else {}
    write_json(p, with_provenance(data))

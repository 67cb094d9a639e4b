"""Timing and peak memory of one prefill, per method. CPU: wall time and the process's CPU time
(time.process_time; with one thread it is the better estimate of an idle machine's time when other
jobs share the cores) and peak resident-memory growth sampled from /proc during the call. GPU:
wall time after torch.cuda.synchronize and torch.cuda.max_memory_allocated growth."""

from __future__ import annotations

import os
import threading
import time

import torch

from . import prepack

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def fixed_mmap_threshold(nbytes: int = 1 << 17) -> bool:
    """glibc: serve every allocation above `nbytes` with its own mmap and return it on free (a
    fixed threshold also stops glibc from raising it dynamically), so the resident set tracks the
    live tensors and its peak growth during a call measures that call's memory. Returns whether
    it could be set (not glibc: the measurement is cruder)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, nbytes)) and bool(libc.mallopt(M_TRIM_THRESHOLD, nbytes))
    except (OSError, AttributeError):
        return False


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


class PeakRSS:
    """Peak growth of the resident set during a block, sampled every `interval` seconds (torch
    ops release the GIL, so the sampler runs while they compute)."""

    def __init__(self, interval: float = 0.0005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(self.interval)

    def __enter__(self):
        self.base = _rss()
        self.peak = self.base
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def so_far(self) -> int:
        """Peak growth up to now (bytes)."""
        return max(self.peak, _rss()) - self.base

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss())
        self.delta = self.peak - self.base


def run_method(model, method: str, prompts, pad_id: int, algo: str):
    """One prefill by `method`; for TTFT also what is needed before the 2nd token can be decoded
    (the first token itself comes from the prefill logits): for prepacking, the per-prompt caches.
    Memory: `peak_mem_mb` during the prefill (what the paper reports), `peak_mem_ttft_mb` until the
    per-prompt caches exist (the packed and the unpacked caches are alive together)."""
    if method == "padded":
        logits, cache, attn = prepack.prefill_padded(model, prompts, pad_id)
        return logits, lambda: None
    if method == "prepacked":
        logits, cache, pb = prepack.prefill_prepacked(model, prompts, pad_id, algo)
        return logits, lambda: prepack.unpack_cache(cache, pb)
    if method == "loop":
        logits, caches = prepack.prefill_loop(model, prompts)
        return logits, lambda: None
    raise ValueError(method)


def measure(model, method: str, prompts, pad_id: int, algo: str, device: str) -> dict:
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base_mem = torch.cuda.memory_allocated()
    with PeakRSS() as mem:
        w0, c0 = time.perf_counter(), time.process_time()
        logits, finish = run_method(model, method, prompts, pad_id, algo)
        logits.argmax(-1)  # the first generated tokens
        if cuda:
            torch.cuda.synchronize()
        w1, c1 = time.perf_counter(), time.process_time()
        prefill_mem = mem.so_far()
        if cuda:
            prefill_mem = torch.cuda.max_memory_allocated() - base_mem
        with torch.inference_mode():
            finish()
        if cuda:
            torch.cuda.synchronize()
        w2, c2 = time.perf_counter(), time.process_time()
    out = {"prefill_wall": w1 - w0, "prefill_cpu": c1 - c0, "ttft_wall": w2 - w0, "ttft_cpu": c2 - c0,
           "peak_mem_mb": prefill_mem / 2**20, "peak_mem_ttft_mb": mem.delta / 2**20}
    if cuda:
        out["peak_mem_ttft_mb"] = (torch.cuda.max_memory_allocated() - base_mem) / 2**20
        out["prefill_cpu"] = out["prefill_wall"]
        out["ttft_cpu"] = out["ttft_wall"]
    return out

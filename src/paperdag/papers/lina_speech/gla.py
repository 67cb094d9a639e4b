"""Gated linear attention (GLA, Yang et al. 2023) in plain PyTorch, as Lina-Speech uses it.

Per head, with q_t, k_t in R^{d_k}, v_t in R^{d_v} and a log forget gate g_t <= 0 in R^{d_k}:

    S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t            S in R^{d_k x d_v}
    o_t = (d_k^{-1/2} q_t) S_t

`gla_recurrent` is the direct loop (decoding, the reference); `gla_chunked` is the chunk-wise
parallel form used for training: within a chunk of C steps, with b_t the cumulative log gate,

    o_t = (q_t * exp(b_t)) S_0 + sum_{s <= t} [sum_d q_t[d] k_s[d] exp(b_t[d] - b_s[d])] v_s
    S_C = diag(exp(b_C)) S_0 + sum_s (k_s * exp(b_C - b_s))^T v_s

(every exponent is <= 0, so the form is stable without fla's secondary chunking). Both take an
initial state S_0 (initial-state tuning) and return the final state. The layout is [B, T, H, K]
(fla 0.6). `backend="fla"` calls flash-linear-attention's Triton kernels (GPU only, optional).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperdag.core.errors import PaperdagError


def gla_recurrent(q, k, v, g, initial_state=None):
    """q, k, g: [B, T, H, K]; v: [B, T, H, V]; initial_state [B, H, K, V] or None.
    Returns (o [B, T, H, V], final state [B, H, K, V])."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state
    q = q * K**-0.5
    outs = []
    for t in range(T):
        S = S * g[:, t].exp().unsqueeze(-1) + k[:, t].unsqueeze(-1) * v[:, t].unsqueeze(-2)
        outs.append(torch.einsum("bhk,bhkv->bhv", q[:, t], S))
    return torch.stack(outs, 1), S


def gla_chunked(q, k, v, g, initial_state=None, chunk: int = 16):
    """The chunk-wise parallel form; equal to `gla_recurrent` up to float rounding."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    C = chunk
    pad = (-T) % C
    if pad:
        q, k, g = (F.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, g))
        v = F.pad(v, (0, 0, 0, 0, 0, pad))
    n = (T + pad) // C
    # [B, H, n, C, *]
    q, k, g = (x.reshape(B, n, C, H, K).permute(0, 3, 1, 2, 4) for x in (q, k, g))
    v = v.reshape(B, n, C, H, V).permute(0, 3, 1, 2, 4)
    q = q * K**-0.5
    b = g.cumsum(3)  # cumulative log gate inside each chunk
    # intra-chunk: A[t, s] = sum_d q_t[d] k_s[d] exp(b_t[d] - b_s[d]) for s <= t
    diff = b.unsqueeze(4) - b.unsqueeze(3)  # [B,H,n,C(t),C(s),K]
    mask = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    decay = torch.where(mask[..., None], diff, diff.new_full((), -float("inf"))).exp()
    A = torch.einsum("bhntk,bhnsk,bhntsk->bhnts", q, k, decay)
    o_intra = A @ v  # [B,H,n,C,V]
    qd = q * b.exp()
    kd = k * (b[:, :, :, -1:] - b).exp()
    chunk_decay = b[:, :, :, -1].exp()  # [B,H,n,K]
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state
    o_inter = []
    for i in range(n):
        o_inter.append(qd[:, :, i] @ S)
        S = S * chunk_decay[:, :, i].unsqueeze(-1) + kd[:, :, i].transpose(-1, -2) @ v[:, :, i]
    o = o_intra + torch.stack(o_inter, 2)
    o = o.permute(0, 2, 3, 1, 4).reshape(B, n * C, H, V)[:, :T]
    return o, S


def fla_available() -> bool:
    try:
        import fla.ops.gla  # noqa: F401
    except Exception:  # ImportError, or triton failing to find a driver
        return False
    return torch.cuda.is_available()


def gla_fla(q, k, v, g, initial_state=None, mode: str = "chunk"):
    """flash-linear-attention's kernels (GPU, Triton). Same layout and scale as the PyTorch forms."""
    try:
        from fla.ops.gla import chunk_gla, fused_recurrent_gla
    except Exception as e:  # pragma: no cover - depends on the optional package
        raise PaperdagError(
            "model.backend is 'fla' but flash-linear-attention is not importable "
            f"({type(e).__name__}: {e}); install `fla-core` with triton on a CUDA machine, or set model.backend: torch"
        ) from e
    fn = chunk_gla if mode == "chunk" else fused_recurrent_gla
    o, S = fn(q, k, v, g, scale=q.shape[-1] ** -0.5, initial_state=initial_state, output_final_state=True)
    return o, S


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class GatedLinearAttention(nn.Module):
    """The GLA token mixer of Lina (fla's layer without the optional short convolution): low-rank
    data-dependent forget gate logsigmoid(x W1 W2 + b) / 16, per-head RMSNorm of the output times
    swish(x W_g), output projection."""

    def __init__(self, d_model: int, heads: int, expand_k: float = 1.0, expand_v: float = 2.0, gate_rank: int = 16, gate_norm: float = 16.0, chunk: int = 16, backend: str = "torch"):
        super().__init__()
        self.h = heads
        self.dk = int(d_model * expand_k) // heads
        self.dv = int(d_model * expand_v) // heads
        self.q = nn.Linear(d_model, self.h * self.dk, bias=False)
        self.k = nn.Linear(d_model, self.h * self.dk, bias=False)
        self.v = nn.Linear(d_model, self.h * self.dv, bias=False)
        self.g = nn.Linear(d_model, self.h * self.dv, bias=False)
        self.gk = nn.Sequential(nn.Linear(d_model, gate_rank, bias=False), nn.Linear(gate_rank, self.h * self.dk, bias=True))
        self.norm = RMSNorm(self.dv)
        self.o = nn.Linear(self.h * self.dv, d_model, bias=False)
        self.gate_norm = gate_norm
        self.chunk = chunk
        self.backend = backend
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, gain=2**-2.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def state_shape(self) -> tuple[int, int, int]:
        return (self.h, self.dk, self.dv)

    def _proj(self, x):
        B, T, _ = x.shape
        q = self.q(x).view(B, T, self.h, self.dk)
        k = self.k(x).view(B, T, self.h, self.dk)
        v = self.v(x).view(B, T, self.h, self.dv)
        g = (F.logsigmoid(self.gk(x)) / self.gate_norm).view(B, T, self.h, self.dk)
        return q, k, v, g

    def _out(self, o, x):
        B, T = x.shape[:2]
        o = self.norm(o) * F.silu(self.g(x).view(B, T, self.h, self.dv))
        return self.o(o.reshape(B, T, -1))

    def forward(self, x, state=None, mode: str = "chunk"):
        """x [B, T, D]; state [B, H, dk, dv] or None. Returns (y, final state)."""
        q, k, v, g = self._proj(x)
        if self.backend == "fla":
            o, S = gla_fla(q, k, v, g, state, mode)
        elif mode == "chunk":
            o, S = gla_chunked(q, k, v, g, state, self.chunk)
        else:
            o, S = gla_recurrent(q, k, v, g, state)
        return self._out(o, x), S


class SwiGLU(nn.Module):
    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.up = nn.Linear(d, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        a, b = self.up(x).chunk(2, -1)
        return self.down(F.silu(a) * b)


class GLABlock(nn.Module):
    """Lina's MixingBlock: x + GLA(LN(x)), then x + SwiGLU(LN(x))."""

    def __init__(self, d_model: int, heads: int, **kw):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = GatedLinearAttention(d_model, heads, **kw)
        self.ln2 = nn.LayerNorm(d_model)
        self.ffn = SwiGLU(d_model, (4 * d_model) // 3)

    def forward(self, x, state=None, mode: str = "chunk"):
        y, S = self.attn(self.ln1(x), state, mode)
        x = x + y
        return x + self.ffn(self.ln2(x)), S

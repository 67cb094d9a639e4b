"""The Lina-Speech codec language model (small), initial-state tuning, LoRA, and the softmax
Transformer used for the efficiency comparison.

LinaLM: phoneme tokens -> non-causal Transformer text encoder; codec frames (Q codebooks, delay
pattern, codes offset by 3: pad 0, head 1, tail 2) -> summed code embeddings + sinusoidal frame
position -> n_layer GLA blocks ("encoder") -> multi-head cross-attention to the text (LayerNorm on
the query) -> residual -> n_layer GLA blocks ("decoder") -> one logits head per codebook.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .codec import HEAD, NSPECIAL, PAD, TAIL
from .gla import GLABlock


def sinusoid(n: int, d: int, offset: int = 0) -> torch.Tensor:
    pos = torch.arange(offset, offset + n, dtype=torch.float32)[:, None]
    i = torch.arange(d // 2, dtype=torch.float32)[None]
    ang = pos / (10000 ** (2 * i / d))
    return torch.cat([ang.sin(), ang.cos()], -1)


class LinaLM(nn.Module):
    def __init__(self, n_text: int, n_codes: int, n_q: int, m: dict):
        super().__init__()
        D = m["d_model"]
        self.D, self.Q, self.V = D, n_q, n_codes + NSPECIAL
        self.text_emb = nn.Embedding(n_text, D, padding_idx=0)
        layer = nn.TransformerEncoderLayer(D, m["text_heads"], 2 * D, dropout=0.0, batch_first=True, norm_first=True)
        self.text_enc = nn.TransformerEncoder(layer, m["text_layers"], enable_nested_tensor=False)
        self.text_ln = nn.LayerNorm(D)
        self.code_emb = nn.Embedding(n_q * self.V, D)
        kw = dict(expand_k=m["expand_k"], expand_v=m["expand_v"], chunk=m["chunk"], backend=m.get("backend", "torch"))
        self.enc = nn.ModuleList(GLABlock(D, m["heads"], **kw) for _ in range(m["n_layer"]))
        self.xln = nn.LayerNorm(D)
        self.xattn = nn.MultiheadAttention(D, m["heads"], batch_first=True)
        self.dec = nn.ModuleList(GLABlock(D, m["heads"], **kw) for _ in range(m["n_layer"]))
        self.out_ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, n_q * self.V)
        self.register_buffer("offsets", torch.arange(n_q) * self.V, persistent=False)

    # -- pieces -------------------------------------------------------------------------------------
    def gla_layers(self):
        return [b.attn for b in list(self.enc) + list(self.dec)]

    def encode_text(self, text):
        mask = text.eq(0)
        x = self.text_emb(text) + sinusoid(text.shape[1], self.D).to(text.device)
        return self.text_ln(self.text_enc(x, src_key_padding_mask=mask)), mask

    def embed_audio(self, audio, offset: int = 0):
        x = self.code_emb(audio + self.offsets).sum(2)
        return x + sinusoid(audio.shape[1], self.D, offset).to(x.device)

    def _backbone(self, x, mem, mem_mask, states, mode):
        states = states if states is not None else [None] * (len(self.enc) + len(self.dec))
        finals = []
        i = 0
        for b in self.enc:
            x, S = b(x, states[i], mode)
            finals.append(S)
            i += 1
        a, _ = self.xattn(self.xln(x), mem, mem, key_padding_mask=mem_mask, need_weights=False)
        x = x + a
        for b in self.dec:
            x, S = b(x, states[i], mode)
            finals.append(S)
            i += 1
        B, T = x.shape[:2]
        return self.head(self.out_ln(x)).view(B, T, self.Q, self.V), finals

    def forward(self, text, audio_in, states=None, mode: str = "chunk"):
        """text [B, L] (0 = pad); audio_in [B, T, Q] delayed tokens; states: per GLA layer
        [B, H, dk, dv] or None. Returns (logits [B, T, Q, V], final states)."""
        mem, mem_mask = self.encode_text(text)
        return self._backbone(self.embed_audio(audio_in), mem, mem_mask, states, mode)

    # -- decoding with a cache ------------------------------------------------------------------------
    def start(self, text, states=None):
        mem, mem_mask = self.encode_text(text)
        B = text.shape[0]
        n = len(self.enc) + len(self.dec)
        if states is None:
            states = [text.new_zeros((B,) + l.state_shape(), dtype=torch.float32) for l in self.gla_layers()]
        assert len(states) == n
        return {"mem": mem, "mask": mem_mask, "states": list(states), "t": 0}

    def step(self, cache, tok):
        """One decoding step: tok [B, Q] -> logits [B, Q, V]; the cache holds the GLA states."""
        x = self.embed_audio(tok[:, None], cache["t"])
        logits, finals = self._backbone(x, cache["mem"], cache["mask"], cache["states"], "recurrent")
        cache["states"] = finals
        cache["t"] += 1
        return logits[:, 0]


def n_params(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def lm_loss(logits, target):
    """Mean cross-entropy over code and tail targets (head and pad targets are not predicted)."""
    mask = target.ge(TAIL)
    lp = F.log_softmax(logits.float(), -1)
    nll = -lp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return (nll * mask).sum() / mask.sum().clamp(min=1), nll, mask


# -- initial-state tuning -----------------------------------------------------------------------------
class InitialStates(nn.Module):
    """Learnt initial states of every GLA layer (both stacks), low rank as in Lina's code:
    S_0^l[h] = c * sum_r kappa[l,h,:,r] nu[l,h,:,r]^T, kappa ~ N(0, 1), nu ~ N(0, c^2), c = 0.02."""

    def __init__(self, shapes, rank: int = 1, scale: float = 0.02, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.scale = scale
        self.kappa = nn.ParameterList(nn.Parameter(torch.randn(h, dk, rank, generator=g)) for h, dk, dv in shapes)
        self.nu = nn.ParameterList(nn.Parameter(torch.randn(h, dv, rank, generator=g) * scale) for h, dk, dv in shapes)

    def states(self, batch: int):
        return [(self.scale * k @ n.transpose(-1, -2)).unsqueeze(0).expand(batch, -1, -1, -1) for k, n in zip(self.kappa, self.nu)]


class LoRALinear(nn.Module):
    """W x + (alpha / r) B A x with A ~ Kaiming, B = 0 (Hu et al.), the base layer frozen."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, seed: int):
        super().__init__()
        self.base = base
        g = torch.Generator().manual_seed(seed)
        self.A = nn.Parameter(torch.randn(r, base.in_features, generator=g) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.s = alpha / r

    def forward(self, x):
        return self.base(x) + self.s * (x @ self.A.t()) @ self.B.t()


def add_lora(model: LinaLM, r: int, alpha: float, seed: int) -> None:
    """LoRA on the q, k, v, o projections of every GLA layer."""
    i = 0
    for layer in model.gla_layers():
        for name in ("q", "k", "v", "o"):
            setattr(layer, name, LoRALinear(getattr(layer, name), r, alpha, seed + i))
            i += 1


# -- generation ---------------------------------------------------------------------------------------
@torch.no_grad()
def generate(model: LinaLM, text, max_len: int, top_k: int, gen: torch.Generator, states=None, forced=None, forced_len=None):
    """Autoregressive decoding of delayed tokens. Codebook 0 is sampled from its top-k codes (or
    its tail), the others greedily among their codes; codebook q's tail comes q steps after codebook
    0's; after its tail a codebook emits pad. `forced` [B, Tf, Q] with `forced_len` [B, Q] teacher-
    forces a prefix (prompt continuation). Returns delayed tokens [B, T, Q] starting with the head row."""
    B, Q, V = text.shape[0], model.Q, model.V
    cache = model.start(text, states)
    tok = torch.full((B, Q), HEAD, dtype=torch.long)
    out = [tok]
    tail_at = torch.full((B,), -1, dtype=torch.long)
    for j in range(1, max_len):
        logits = model.step(cache, tok)
        lg = logits.clone()
        lg[..., :NSPECIAL] = -float("inf")
        # codebook 0: top-k sampling over codes + tail
        l0 = logits[:, 0].clone()
        l0[:, [PAD, HEAD]] = -float("inf")
        kth = l0.topk(top_k, -1).values[:, -1:]
        l0[l0 < kth] = -float("inf")
        s0 = torch.multinomial(F.softmax(l0, -1), 1, generator=gen)[:, 0]
        nxt = lg.argmax(-1)
        nxt[:, 0] = s0
        for q in range(Q):
            if j < q + 1:
                nxt[:, q] = HEAD
            if q > 0:
                hit = (tail_at >= 0) & (j == tail_at + q)
                nxt[hit, q] = TAIL
            done = (tail_at >= 0) & (j > tail_at + q)
            nxt[done, q] = PAD
        if forced is not None:
            for q in range(Q):
                f = j < forced_len[:, q]
                nxt[f, q] = forced[f, min(j, forced.shape[1] - 1), q]
        newly = (tail_at < 0) & nxt[:, 0].eq(TAIL)
        tail_at[newly] = j
        tok = nxt
        out.append(tok)
        if bool(((tail_at >= 0) & (j >= tail_at + Q - 1)).all()):
            break
    return torch.stack(out, 1)


# -- the softmax Transformer of the efficiency comparison ----------------------------------------------
class TransformerBlock(nn.Module):
    """Pre-LN causal self-attention + SwiGLU block with a KV cache (decode step only)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        from .gla import SwiGLU

        self.h, self.dh = heads, d // heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.ln2 = nn.LayerNorm(d)
        self.ffn = SwiGLU(d, (4 * d) // 3)

    def step(self, x, kcache, vcache, t: int):
        """x [B, 1, D]; caches [B, H, Tmax, dh] filled up to t (exclusive)."""
        B = x.shape[0]
        q, k, v = self.qkv(self.ln1(x)).view(B, 1, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        kcache[:, :, t : t + 1] = k
        vcache[:, :, t : t + 1] = v
        a = F.scaled_dot_product_attention(q, kcache[:, :, : t + 1], vcache[:, :, : t + 1])
        x = x + self.o(a.transpose(1, 2).reshape(B, 1, -1))
        return x + self.ffn(self.ln2(x))

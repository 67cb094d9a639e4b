"""A small post-LN Transformer encoder-decoder (fairseq `transformer` layout: sinusoidal positions,
scaled embeddings, one embedding matrix shared by encoder input, decoder input and softmax) with the
paper's variants, in plain PyTorch:

- `vanilla`: every decoder layer attends to the top encoder layer H^J;
- `ef` (EncoderFusion, layer attention of Bapna et al. 2018): decoder layer i attends to
  sum_j softmax_j(w_ij) H^j over all encoder layers j = 0..J, H^0 the (layer-normed) embedding layer;
- `fg` (fine-grained layer attention, the paper's probe): per-dimension weights,
  sum_j softmax_j(w_ij) ⊙ H^j with w_ij in R^d, softmax over j separately for each dimension;
- `sf_hard` / `sf_soft` (SurfaceFusion): a one-head attention whose query is the top decoder state
  and keys the top encoder states (both with stopped gradients) and whose values are the source
  embeddings E_x; its output s_t goes through the shared output embedding (surface logits z^s) and is
  fused with the decoder logits z^h at the probability level:
  hard: log p = λ log softmax(z^h) + (1 - λ) log softmax(z^s)  (λ = `sf_gate`, not renormalised);
  soft: log p = log softmax(z^h + log softmax(τ z^s)).
(Checked against SunbowLiu/SurfaceFusion `fairseq/models/transformer.py`, see the research notes.)
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = ("vanilla", "ef", "fg", "sf_hard", "sf_soft")
FUSION = ("ef", "fg")  # variants with layer attention
SURFACE = ("sf_hard", "sf_soft")


def sinusoidal(n: int, d: int) -> torch.Tensor:
    """fairseq's sinusoidal positions (sin on the first half of the dimensions, cos on the second)."""
    half = d // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000.0) / (half - 1)))
    ang = torch.arange(n, dtype=torch.float32)[:, None] * freq[None, :]
    pe = torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)
    if d % 2:
        pe = torch.cat([pe, torch.zeros(n, 1)], dim=1)
    return pe


def fuse_probs(zh: torch.Tensor, zs: torch.Tensor, mode: str, gate: float, tau: float) -> torch.Tensor:
    """SurfaceFusion's output scores from the decoder logits zh and the surface logits zs:
    hard: gate * log softmax(zh) + (1 - gate) * log softmax(zs);
    soft: log softmax(zh + log softmax(tau * zs))."""
    if mode == "hard":
        if gate == 1.0:
            return F.log_softmax(zh, dim=-1)
        return gate * F.log_softmax(zh, dim=-1) + (1.0 - gate) * F.log_softmax(zs, dim=-1)
    if mode == "soft":
        return F.log_softmax(zh + F.log_softmax(tau * zs, dim=-1), dim=-1)
    raise ValueError(f"unknown fusion mode {mode}")


def fuse_layers(weights: torch.Tensor, states: list[torch.Tensor]) -> torch.Tensor:
    """sum_j w_j * H^j for one decoder layer: weights [J+1] (layer attention) or [J+1, d]
    (fine-grained), already softmax-normalised over j; states: J+1 tensors [..., d]."""
    out = weights[0] * states[0]
    for j in range(1, len(states)):
        out = out + weights[j] * states[j]
    return out


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ffn, dropout):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, pad):
        h, _ = self.attn(x, x, x, key_padding_mask=pad, need_weights=False)
        x = self.ln1(x + self.drop(h))  # post-LN
        return self.ln2(x + self.drop(self.fc2(self.drop(F.relu(self.fc1(x))))))


class DecoderLayer(nn.Module):
    def __init__(self, d, heads, ffn, dropout):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.cross = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, y, causal, tpad, mem, spad):
        h, _ = self.self_attn(y, y, y, attn_mask=causal, key_padding_mask=tpad, need_weights=False)
        y = self.ln1(y + self.drop(h))
        h, _ = self.cross(y, mem, mem, key_padding_mask=spad, need_weights=False)
        y = self.ln2(y + self.drop(h))
        return self.ln3(y + self.drop(self.fc2(self.drop(F.relu(self.fc1(y))))))


class Seq2Seq(nn.Module):
    def __init__(self, vocab_size: int, variant: str, m: dict, f: dict, pad: int = 0, max_pos: int = 256):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant} (one of {VARIANTS})")
        d = m["d_model"]
        self.variant, self.d, self.pad = variant, d, pad
        self.n_enc, self.n_dec = m["enc_layers"], m["dec_layers"]
        self.embed = nn.Embedding(vocab_size, d, padding_idx=pad)
        nn.init.normal_(self.embed.weight, 0.0, d**-0.5)  # fairseq's Embedding init
        with torch.no_grad():
            self.embed.weight[pad].zero_()
        self.register_buffer("pos", sinusoidal(max_pos, d), persistent=False)
        self.scale = math.sqrt(d)
        self.drop = nn.Dropout(m["dropout"])
        self.enc = nn.ModuleList(EncoderLayer(d, m["heads"], m["ffn"], m["dropout"]) for _ in range(self.n_enc))
        self.dec = nn.ModuleList(DecoderLayer(d, m["heads"], m["ffn"], m["dropout"]) for _ in range(self.n_dec))
        if variant in FUSION:
            nl = self.n_enc + 1  # encoder layers 0 (embedding) .. J
            self.ta_embnorm = nn.LayerNorm(d) if f["ta_embnorm"] else None
            shape = (self.n_dec, nl, d) if variant == "fg" else (self.n_dec, nl)
            bound = math.sqrt(2.0 / (self.n_dec + nl))
            self.ta_weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
            self.ta_norm = nn.LayerNorm(d)  # one final LayerNorm shared by the decoder layers (official code)
            self.ta_drop = nn.Dropout(m["dropout"])  # dropout on the softmax weights (official --ta-dropout)
        if variant in SURFACE:
            self.sf_attn = nn.MultiheadAttention(d, 1, dropout=m["dropout"], batch_first=True)
            self.sf_gate, self.sf_tau, self.sf_posemb = f.get("sf_gate", 1.0), f.get("sf_tau", 1.0), f["sf_posemb"]
        self.layer_mask: torch.Tensor | None = None  # inference-time ablation of fused encoder layers

    # -- encoder ---------------------------------------------------------------------------------
    def embed_tokens(self, ids, positions: bool = True):
        x = self.scale * self.embed(ids)
        if positions:
            x = x + self.pos[: ids.shape[1]][None]
        return x

    def encode(self, src):
        spad = src.eq(self.pad)
        tok = self.embed_tokens(src, positions=False)
        h0 = self.drop(tok + self.pos[: src.shape[1]][None])
        states = [h0]
        x = h0
        for layer in self.enc:
            x = layer(x, spad)
            states.append(x)
        return {"states": states, "pad": spad, "tok": tok, "emb": h0}

    def layer_weights(self) -> torch.Tensor:
        """Softmax-normalised layer-attention weights: [n_dec, J+1] (ef) or [n_dec, J+1, d] (fg),
        summing to one over encoder layers (for fg: for every dimension)."""
        w = self.ta_weight
        if self.layer_mask is not None:
            m = self.layer_mask.view(1, -1, *([1] * (w.dim() - 2)))
            w = w.masked_fill(~m, float("-inf"))
        return torch.softmax(w, dim=1)

    def memories(self, enc) -> list[torch.Tensor]:
        """The encoder representation each decoder layer attends to."""
        top = enc["states"][-1]
        if self.variant not in FUSION:
            return [top] * self.n_dec
        states = list(enc["states"])
        if self.ta_embnorm is not None:
            states[0] = self.ta_embnorm(states[0])
        w = self.ta_drop(self.layer_weights())
        return [self.drop(self.ta_norm(fuse_layers(w[i], states))) for i in range(self.n_dec)]

    # -- decoder ---------------------------------------------------------------------------------
    def decode(self, tgt_in, enc):
        T = tgt_in.shape[1]
        tpad = tgt_in.eq(self.pad)
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tgt_in.device), 1)
        y = self.drop(self.embed_tokens(tgt_in))
        mems = self.memories(enc)
        for layer, mem in zip(self.dec, mems):
            y = layer(y, causal, tpad, mem, enc["pad"])
        return y

    def surface(self, top_dec, enc) -> torch.Tensor:
        """s_t: query = top decoder state, keys = top encoder states (both detached), values = source
        embeddings (scaled token embeddings without dropout; with positions and dropout, the embedding
        layer's output, if sf_posemb), as in the official code."""
        values = enc["emb"] if self.sf_posemb else enc["tok"]
        s, _ = self.sf_attn(top_dec.detach(), enc["states"][-1].detach(), values, key_padding_mask=enc["pad"], need_weights=False)
        return s

    def output_logprobs(self, top_dec, enc, gate: float | None = None) -> torch.Tensor:
        """log p(y_t) for every target position: the (fused) scores used by the loss and the search."""
        zh = F.linear(top_dec, self.embed.weight)
        if self.variant not in SURFACE:
            return F.log_softmax(zh, dim=-1)
        zs = F.linear(self.surface(top_dec, enc), self.embed.weight)
        mode = "hard" if self.variant == "sf_hard" else "soft"
        return fuse_probs(zh, zs, mode, self.sf_gate if gate is None else gate, self.sf_tau)

    def forward(self, src, tgt_in, gate: float | None = None):
        enc = self.encode(src)
        return self.output_logprobs(self.decode(tgt_in, enc), enc, gate)

    @torch.no_grad()
    def greedy(self, src, bos: int, eos: int, max_len: int) -> torch.Tensor:
        """Greedy decoding on the fused scores (the decoder is re-run over the prefix each step)."""
        enc = self.encode(src)
        B = src.shape[0]
        ys = torch.full((B, 1), bos, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        for _ in range(max_len):
            lp = self.output_logprobs(self.decode(ys, enc)[:, -1:], enc)[:, -1]
            lp[:, self.pad] = float("-inf")
            lp[:, bos] = float("-inf")
            nxt = lp.argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, self.pad), nxt)
            ys = torch.cat([ys, nxt[:, None]], dim=1)
            done |= nxt.eq(eos)
            if bool(done.all()):
                break
        return ys[:, 1:]


def label_smoothed_nll(lprobs, target, eps: float, pad: int) -> torch.Tensor:
    """fairseq's label-smoothed cross-entropy summed over non-pad tokens, divided by their number:
    (1 - eps) * nll + eps / V * sum_v (-log p_v)."""
    mask = target.ne(pad)
    nll = -lprobs.gather(-1, target[..., None]).squeeze(-1)
    smooth = -lprobs.sum(-1)
    V = lprobs.shape[-1]
    loss = (1.0 - eps) * nll + (eps / V) * smooth
    return (loss * mask).sum() / mask.sum()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

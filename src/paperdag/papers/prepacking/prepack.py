"""Prepacking prefill on a transformers causal LM (transformers 5.x), and the two baselines.

- `prefill_prepacked`: pack the prompts into r <= k rows of length m (the longest prompt), one
  forward pass with a block-diagonal causal mask (4D, True = attend) and position ids that restart
  at 0 for every prompt, then per prompt its last-token logits and (`unpack_cache`) its own KV
  cache, left-padded into a standard DynamicCache so that decoding continues as usual.
- `prefill_padded`: Hugging Face batching (left padding to m, 2D attention mask, positions from
  the mask's cumulative sum, as `generate` does).
- `prefill_loop`: one prompt at a time, no padding.
`greedy_decode` continues any of them token by token (EOS handling as in `generate`).

Only the last position of each prompt goes through the LM head (the decoder runs alone), as
`generate` does with `logits_to_keep=1`: with a 49k vocabulary a full-position LM head would be a
large, method-independent share of the prefill cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import DynamicCache

from .packing import DEFAULT_ALGO, pack


@dataclass
class PackedBatch:
    input_ids: torch.Tensor  # (r, m)
    position_ids: torch.Tensor  # (r, m), restart at 0 per prompt
    mask: torch.Tensor  # (r, 1, m, m) bool, True = attend
    spans: list[tuple[int, int, int]]  # per prompt: (row, start, length)
    bins: list[list[int]]


def build_packed(prompts: list[list[int]], bins: list[list[int]], pad_id: int, row_len: int | None = None,
                 device="cpu") -> PackedBatch:
    """Concatenate the prompts of each bin into one row; block-diagonal causal mask; restarted
    positions. Pad positions attend only to themselves (an all-masked row gives NaN in SDPA) and
    no real token attends to them."""
    m = row_len or max(len(p) for p in prompts)
    r = len(bins)
    ids = torch.full((r, m), pad_id, dtype=torch.long)
    pos = torch.zeros((r, m), dtype=torch.long)
    seg = torch.full((r, m), -1, dtype=torch.long)
    spans: list[tuple[int, int, int]] = [(-1, -1, -1)] * len(prompts)
    for row, b in enumerate(bins):
        if sum(len(prompts[i]) for i in b) > m:
            raise ValueError(f"row {row} holds {sum(len(prompts[i]) for i in b)} tokens, more than the row length {m}")
        off = 0
        for i in b:
            n = len(prompts[i])
            ids[row, off:off + n] = torch.as_tensor(prompts[i], dtype=torch.long)
            pos[row, off:off + n] = torch.arange(n)
            seg[row, off:off + n] = i
            spans[i] = (row, off, n)
            off += n
    causal = torch.ones(m, m, dtype=torch.bool).tril()
    same = (seg[:, :, None] == seg[:, None, :]) & (seg[:, :, None] >= 0)
    mask = causal[None] & same
    eye = torch.eye(m, dtype=torch.bool)[None] & (seg < 0)[:, :, None]
    mask = (mask | eye)[:, None]
    return PackedBatch(ids.to(device), pos.to(device), mask.to(device), spans, bins)


def model_mask(mask: torch.Tensor, model) -> torch.Tensor:
    """A 4D bool mask as the model's attention implementation wants it: bool for sdpa/flex,
    additive float (0 / dtype min) for eager."""
    if getattr(model.config, "_attn_implementation", "sdpa") == "eager":
        dt = next(model.parameters()).dtype
        return torch.zeros(mask.shape, dtype=dt, device=mask.device).masked_fill(~mask, torch.finfo(dt).min)
    return mask


def _decoder(model):
    return model.base_model


@torch.inference_mode()
def prefill_prepacked(model, prompts: list[list[int]], pad_id: int, algo: str = DEFAULT_ALGO, bins=None):
    """One packed prefill. Returns (last-token logits (k, V), the packed DynamicCache, PackedBatch)."""
    device = next(model.parameters()).device
    lengths = [len(p) for p in prompts]
    bins = bins if bins is not None else pack(lengths, None, algo)
    pb = build_packed(prompts, bins, pad_id, device=device)
    cache = DynamicCache(config=model.config)
    out = _decoder(model)(input_ids=pb.input_ids, attention_mask=model_mask(pb.mask, model),
                          position_ids=pb.position_ids, past_key_values=cache, use_cache=True)
    rows = torch.tensor([s[0] for s in pb.spans], device=device)
    last = torch.tensor([s[1] + s[2] - 1 for s in pb.spans], device=device)
    logits = model.get_output_embeddings()(out.last_hidden_state[rows, last])
    return logits, out.past_key_values, pb


def unpack_cache(cache: DynamicCache, pb: PackedBatch) -> tuple[DynamicCache, torch.Tensor]:
    """Each prompt's keys/values sliced out of its packed row and left-padded to the longest
    prompt: a standard (k, heads, M, d) DynamicCache and its 2D attention mask (k, M)."""
    spans = pb.spans
    k = len(spans)
    big_m = max(s[2] for s in spans)
    r, m = pb.input_ids.shape
    device = pb.input_ids.device
    idx = torch.zeros((k, big_m), dtype=torch.long)
    attn = torch.zeros((k, big_m), dtype=torch.long)
    for i, (row, start, n) in enumerate(spans):
        idx[i, big_m - n:] = row * m + start + torch.arange(n)
        attn[i, big_m - n:] = 1
    idx, attn = idx.to(device), attn.to(device)
    valid = attn.bool()[:, None, :, None]
    data = []
    for layer in cache.layers:
        kv = []
        for t in (layer.keys, layer.values):  # (r, h, m, d)
            h, d = t.shape[1], t.shape[3]
            flat = t.permute(0, 2, 1, 3).reshape(r * m, h, d)
            g = flat[idx].permute(0, 2, 1, 3)  # (k, h, M, d)
            kv.append(g * valid)
        data.append(tuple(kv))
    return DynamicCache(ddp_cache_data=data), attn


@torch.inference_mode()
def prefill_padded(model, prompts: list[list[int]], pad_id: int):
    """Hugging Face batching: left padding to the longest prompt. Returns (last-token logits (k, V),
    the DynamicCache, the 2D attention mask (k, M))."""
    device = next(model.parameters()).device
    big_m = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), big_m), pad_id, dtype=torch.long)
    attn = torch.zeros((len(prompts), big_m), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, big_m - len(p):] = torch.as_tensor(p, dtype=torch.long)
        attn[i, big_m - len(p):] = 1
    ids, attn = ids.to(device), attn.to(device)
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=model.config)
    out = _decoder(model)(input_ids=ids, attention_mask=attn, position_ids=pos, past_key_values=cache, use_cache=True)
    logits = model.get_output_embeddings()(out.last_hidden_state[:, -1])
    return logits, out.past_key_values, attn


@torch.inference_mode()
def prefill_loop(model, prompts: list[list[int]]):
    """One prompt at a time (no padding, no packing). Returns (last-token logits (k, V), caches)."""
    device = next(model.parameters()).device
    logits, caches = [], []
    for p in prompts:
        cache = DynamicCache(config=model.config)
        out = _decoder(model)(input_ids=torch.as_tensor([p], device=device), past_key_values=cache, use_cache=True)
        logits.append(model.get_output_embeddings()(out.last_hidden_state[:, -1])[0])
        caches.append(out.past_key_values)
    return torch.stack(logits), caches


@torch.inference_mode()
def greedy_decode(model, first_logits: torch.Tensor, cache: DynamicCache, attn: torch.Tensor, lengths: list[int],
                  max_new_tokens: int, eos_id: int | None = None, pad_id: int = 0) -> torch.Tensor:
    """Greedy continuation of a left-padded batch from its prefill: the first token comes from
    the prefill logits; each next one from a one-token step with explicit positions. Finished
    sequences (EOS) emit pad, and decoding stops when all are finished, as in `generate`."""
    device = first_logits.device
    tok = first_logits.argmax(-1)
    done = torch.zeros_like(tok, dtype=torch.bool)
    out = [tok]
    if eos_id is not None:
        done = tok == eos_id
    pos = torch.as_tensor(lengths, device=device)
    for _ in range(max_new_tokens - 1):
        if bool(done.all()):
            break
        attn = torch.cat([attn, torch.ones_like(attn[:, :1])], dim=1)
        step = model(input_ids=tok[:, None], attention_mask=attn, position_ids=pos[:, None], past_key_values=cache,
                     use_cache=True, logits_to_keep=1)
        cache = step.past_key_values
        nxt = step.logits[:, -1].argmax(-1)
        tok = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        out.append(tok)
        if eos_id is not None:
            done = done | (tok == eos_id)
        pos = pos + 1
    return torch.stack(out, dim=1)


def generate_prepacked(model, prompts, pad_id, max_new_tokens, eos_id=None, algo=DEFAULT_ALGO):
    logits, cache, pb = prefill_prepacked(model, prompts, pad_id, algo)
    cache, attn = unpack_cache(cache, pb)
    return greedy_decode(model, logits, cache, attn, [len(p) for p in prompts], max_new_tokens, eos_id, pad_id)


def generate_padded(model, prompts, pad_id, max_new_tokens, eos_id=None):
    logits, cache, attn = prefill_padded(model, prompts, pad_id)
    return greedy_decode(model, logits, cache, attn, [len(p) for p in prompts], max_new_tokens, eos_id, pad_id)


@torch.inference_mode()
def generate_hf(model, prompts, pad_id, max_new_tokens, eos_id=None):
    """The reference: `model.generate` on the left-padded batch (greedy)."""
    device = next(model.parameters()).device
    big_m = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), big_m), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, big_m - len(p):] = torch.as_tensor(p)
        attn[i, big_m - len(p):] = 1
    out = model.generate(input_ids=ids.to(device), attention_mask=attn.to(device), max_new_tokens=max_new_tokens,
                         do_sample=False, num_beams=1, pad_token_id=pad_id, eos_token_id=eos_id)
    return out[:, big_m:]


def truncate_after_eos(seq: list[int], eos_id: int | None) -> list[int]:
    if eos_id is not None and eos_id in seq:
        return seq[: seq.index(eos_id) + 1]
    return seq

"""The decoder: a Llama-style model from a transformers `LlamaConfig`, trained from scratch with
SDPA attention (an explicit boolean mask where documents are masked), and its analytic cost."""

from __future__ import annotations


def build_model(m: dict, vocab_size: int, max_len: int, seed: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=m["d_model"],
        intermediate_size=m["ffn"],
        num_hidden_layers=m["layers"],
        num_attention_heads=m["heads"],
        num_key_value_heads=m["heads"],
        max_position_embeddings=max_len,
        rope_parameters={"rope_type": "default", "rope_theta": float(m["rope_theta"])},
        tie_word_embeddings=bool(m["tie_embeddings"]),
        use_cache=False,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    return model


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_token(m: dict, vocab_size: int, seq_len: int) -> dict:
    """Training FLOPs per token (forward + backward = 3 x forward; matrix products only) of a
    sequence of `seq_len` tokens: `linear` (projections, MLP, LM head) and `attention` (QK^T and
    AV over the full L x L score matrix, as dense kernels compute it, masked or not)."""
    d, f, n = m["d_model"], m["ffn"], m["layers"]
    linear = 2 * n * (4 * d * d + 3 * d * f) + 2 * d * vocab_size
    attention = n * 4 * seq_len * d
    return {"linear": 3.0 * linear, "attention": 3.0 * attention, "total": 3.0 * (linear + attention)}

"""Batching token-id lists for decoder-only generation."""

from __future__ import annotations


def left_pad(seqs: list[list[int]], pad: int):
    """Left-pad token-id lists to one (batch, max_len) LongTensor, with the attention mask (1 on
    real tokens): the layout batched greedy `generate()` of a decoder-only model needs, so every
    row's continuation starts at column max_len."""
    import torch

    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    att = torch.zeros((len(seqs), L), dtype=torch.long)
    for r, s in enumerate(seqs):
        if s:
            ids[r, L - len(s) :] = torch.tensor(s, dtype=torch.long)
            att[r, L - len(s) :] = 1
    return ids, att

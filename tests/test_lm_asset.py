"""The shared LM asset (paperdag.core.lm): a missing or corrupt asset is a clear error that says
how to build it, and the GGUF -> transformers conversion gives a folder that loads and agrees with
the GGUF-loaded model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paperdag.core import lm
from paperdag.core.errors import PaperdagError

TINY = {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}


def _fake_asset(folder: Path) -> Path:
    """A tiny but real transformers folder with SHA256SUMS (a stand-in for the SmolLM2 asset)."""
    model = lm.random_causal_lm("llama", TINY, seed=0)
    model.save_pretrained(folder)
    lm.write_checksums(folder)
    return folder


def test_missing_asset_says_how_to_build(tmp_path):
    p = tmp_path / "resources/models/smollm2-135m-instruct"
    with pytest.raises(PaperdagError) as e:
        lm.load_causal_lm(p)
    msg = str(e.value)
    assert str(p) in msg and "snakemake" in msg and lm.SNAKEMAKE_TARGET in msg


def test_corrupt_asset_is_detected(tmp_path):
    folder = _fake_asset(tmp_path / "asset")
    model, _ = lm.load_causal_lm(folder, with_tokenizer=False)  # intact: loads
    assert model.config.num_hidden_layers == 2
    w = folder / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(PaperdagError, match="checksum mismatch") as e:
        lm.load_causal_lm(folder, with_tokenizer=False)
    assert "model.safetensors" in str(e.value) and lm.SNAKEMAKE_TARGET in str(e.value)


def test_incomplete_asset_is_detected(tmp_path):
    folder = _fake_asset(tmp_path / "asset")
    (folder / "config.json").unlink()
    with pytest.raises(PaperdagError, match="missing"):
        lm.load_causal_lm(folder, with_tokenizer=False)
    shutil.rmtree(folder)
    folder = _fake_asset(tmp_path / "asset2")
    (folder / lm.SUMS).unlink()
    with pytest.raises(PaperdagError, match=lm.SUMS):
        lm.load_causal_lm(folder, with_tokenizer=False)


def test_spec_forms(tmp_path):
    m, tok = lm.load_causal_lm({"source": "random", "arch": "llama", "config": TINY, "seed": 3})
    m2, _ = lm.load_causal_lm({"source": "random", "arch": "llama", "config": TINY, "seed": 3})
    assert tok is None
    for a, b in zip(m.parameters(), m2.parameters()):
        assert (a == b).all()
    with pytest.raises(PaperdagError, match="source"):
        lm.load_causal_lm({"source": "ftp"})


def test_hub_spec_loads_local_stand_in(tmp_path):
    """The paper scale loads hub ids through from_pretrained; a local folder passed as a hub id
    exercises that path offline."""
    folder = _fake_asset(tmp_path / "hubcopy")
    m, _ = lm.load_causal_lm({"source": "hub", "id": str(folder)}, with_tokenizer=False, dtype="bfloat16")
    import torch

    assert next(m.parameters()).dtype == torch.bfloat16


# smollm2_asset (conftest): the asset converted once per checkout; this test checks that conversion.
@pytest.mark.e2e
def test_conversion_and_load(smollm2_asset):
    import torch

    folder = smollm2_asset
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir())  # no temp folder left
    lm.verify_asset(folder)
    info = json.loads((folder / lm.ASSET_INFO).read_text())
    assert 130e6 < info["n_params"] < 140e6
    model, tok = lm.load_causal_lm(folder)
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 30
    # the converted folder computes what the GGUF-loaded model computes
    from transformers import AutoModelForCausalLM

    gguf = lm.smollm2_gguf_path()
    ref = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32).eval()
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        a, b = model(ids).logits, ref(ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    # a real tokenizer with a chat template, and a sensible next token
    assert tok.chat_template
    assert tok.decode(a[0, -1].argmax()).strip() == "Paris"


def test_missing_gemma3_asset_names_its_own_rule(tmp_path):
    """The Gemma 3 270M base asset's error says how to build that asset (rule lm_asset_gemma3)."""
    p = tmp_path / "resources/models/gemma3-270m"
    with pytest.raises(PaperdagError, match="lm_asset_gemma3"):
        lm.verify_asset(p)
    with pytest.raises(PaperdagError, match="lm_asset_gemma3"):
        lm.load_causal_lm(str(p), verify=False)

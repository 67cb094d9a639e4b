"""layer_swapping: Algorithm 1 (swap plans, per-tensor provenance, 0 / all layers), soup and TIES on
hand-computed tensors, the answer extractor and German detector on hand cases, the generated data's
ground truth and template disjointness, bad config inputs, and the paper-scale loading path on a
tiny random Llama with local `save_to_disk` stand-ins."""

from __future__ import annotations

import re

import pytest
import torch

from paperdag.core.errors import PaperdagError
from paperdag.papers.layer_swapping import data as gen
from paperdag.papers.layer_swapping import lm, merge, plan

N = 4


def _sd(seed: int, n_layers: int = N) -> dict:
    """A Llama-shaped toy state dict (layer tensors + non-layer ones)."""
    g = torch.Generator().manual_seed(seed)
    sd = {"model.embed_tokens.weight": torch.randn(6, 3, generator=g), "model.norm.weight": torch.randn(3, generator=g)}
    for i in range(n_layers):
        for t in ("self_attn.q_proj", "self_attn.k_proj", "mlp.down_proj"):
            sd[f"model.layers.{i}.{t}.weight"] = torch.randn(3, 3, generator=g)
        sd[f"model.layers.{i}.input_layernorm.weight"] = torch.randn(3, generator=g)
    return sd


def _eq(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_swap_plan_by_hand():
    assert merge.swap_plan(6, 1, 1, 1, 1) == ["language", "average", "math", "math", "average", "language"]
    assert merge.swap_plan(5, 2, 0) == ["language", "language", "math", "math", "math"]
    assert merge.swap_plan(5, 0, 2, 0, 1) == ["math", "math", "average", "language", "language"]
    with pytest.raises(PaperdagError, match="exceeds"):
        merge.swap_plan(4, 2, 2, 1, 0)


def test_swap_of_zero_layers_is_the_math_expert():
    m, la = _sd(1), _sd(2)
    out, prov = merge.layer_swap(m, la, 0, 0, 0, 0, non_layer="math")
    assert _eq(out, m) and set(prov.values()) == {"math"}


def test_swap_of_all_layers_is_the_language_expert():
    m, la = _sd(1), _sd(2)
    out, prov = merge.layer_swap(m, la, N, 0, 0, 0, non_layer="language")
    assert _eq(out, la) and set(prov.values()) == {"language"}
    out2, _ = merge.layer_swap(m, la, 0, N, non_layer="language")
    assert _eq(out2, la)


def test_every_tensor_has_the_intended_provenance():
    m, la = _sd(1, 6), _sd(2, 6)
    out, prov = merge.layer_swap(m, la, 1, 2, 1, 1, non_layer="average", alpha=0.25)
    want_layer = ["language", "average", "math", "average", "language", "language"]
    for k, w in out.items():
        i = merge.layer_of(k)
        src = want_layer[i] if i is not None else "average"
        assert prov[k] == src, k
        ref = {"math": m[k], "language": la[k]}.get(src, 0.25 * la[k] + 0.75 * m[k])
        assert torch.allclose(w, ref), k
    assert merge.verify_provenance(out, m, la, 1, 2, 1, 1, "average", 0.25)
    bad = dict(out)
    bad["model.layers.2.self_attn.q_proj.weight"] = la["model.layers.2.self_attn.q_proj.weight"]
    assert not merge.verify_provenance(bad, m, la, 1, 2, 1, 1, "average", 0.25)
    # inputs are never modified in place
    assert _eq(m, _sd(1, 6)) and _eq(la, _sd(2, 6))


def test_swap_rejects_mismatched_experts_and_flags():
    m, la = _sd(1), _sd(2, 3)
    with pytest.raises(PaperdagError, match="different parameters"):
        merge.layer_swap(m, la, 1, 1)
    with pytest.raises(PaperdagError, match="non_layer"):
        merge.layer_swap(_sd(1), _sd(2), 1, 1, non_layer="both")


def test_soup_by_hand():
    a = {"w": torch.tensor([1.0, 2.0, -4.0])}
    b = {"w": torch.tensor([3.0, 0.0, 4.0])}
    assert torch.equal(merge.soup([a, b])["w"], torch.tensor([2.0, 1.0, 0.0]))
    assert torch.allclose(merge.soup([a, b], [0.25, 0.75])["w"], torch.tensor([2.5, 0.5, 2.0]))


def test_ties_by_hand():
    # task vectors t1 = [3, -1, 0.5, 2], t2 = [-4, -2, 1.5, 2.5]; density 0.5 keeps the top-2 magnitudes:
    # t1 -> [3, 0, 0, 2], t2 -> [-4, 0, 0, 2.5]; elected signs (sum): [-, +, +, +];
    # disjoint mean: [-4, 0, 0, (2 + 2.5) / 2] ; + base 1
    base = {"w": torch.ones(4)}
    e1 = {"w": base["w"] + torch.tensor([3.0, -1.0, 0.5, 2.0])}
    e2 = {"w": base["w"] + torch.tensor([-4.0, -2.0, 1.5, 2.5])}
    out = merge.ties(base, [e1, e2], density=0.5, lam=1.0)
    assert torch.allclose(out["w"], torch.tensor([-3.0, 1.0, 1.0, 3.25]))
    out2 = merge.ties(base, [e1, e2], density=0.5, lam=2.0)
    assert torch.allclose(out2["w"], torch.tensor([-7.0, 1.0, 1.0, 5.5]))
    # a tensor neither expert changed stays the base's
    z = merge.ties({"e": torch.ones(2)}, [{"e": torch.ones(2)}, {"e": torch.ones(2)}])
    assert torch.equal(z["e"], torch.ones(2))


def test_change_profile_by_hand():
    base = _sd(0, 2)
    ft = {k: v.clone() for k, v in base.items()}
    ft["model.layers.1.self_attn.q_proj.weight"] = 2 * base["model.layers.1.self_attn.q_proj.weight"]
    prof = merge.change_profile(base, ft)
    assert prof["rel"][1][merge.PARAM_TYPES.index("q_proj")] == pytest.approx(1.0)
    assert prof["rel"][0] == [0.0] * len(merge.PARAM_TYPES)
    assert prof["layer_share"] == pytest.approx([0.0, 1.0])
    assert merge.outer_share([0.1, 0.2, 0.3, 0.4], 1, 1) == pytest.approx(0.5)


@pytest.mark.parametrize("text,want", [
    ("3 + 4 = 7. The answer is 7.", 7), ("Die Antwort ist 1.000.", 1000), ("It costs 1,234 dollars", 1234),
    ("ungefähr 3,5 Äpfel", 3), ("no number here", None), ("The answer is -5.", -5), ("12 * 3 = 36. 36 + 2 = 38", 38),
    ("The answer is 12.\n", 12)])
def test_answer_extractor(text, want):
    assert lm.extract_answer(text) == want


def test_german_detector():
    assert lm.is_german("Sie hat noch 5 Äpfel und er ist nicht da.")
    assert not lm.is_german("She has 5 apples and he is not there.")
    assert not lm.is_german("12 + 3 = 15.")


def test_generated_math_ground_truth_and_disjoint_templates():
    items = gen.math_problems(50, "test", 3, ("de", "en"))
    for it in items:
        expr = it["solution"].split(". ")[-1].rstrip(".")  # the last step "x op y = z"
        lhs, rhs = expr.split(" = ")
        assert eval(lhs) == int(rhs) == it["answer"]  # noqa: S307 (our own generated arithmetic)
        assert str(it["a"]) in it["q_en"] and str(it["a"]) in it["q_de"]
    skeleton = lambda t: re.sub(r"\{[^}]*\}", "", t)  # noqa: E731
    for kind in gen.TYPES:
        assert not {skeleton(t) for t in gen.EN["train"][kind]} & {skeleton(t) for t in gen.EN["test"][kind]}
        assert not {skeleton(t) for t in gen.DE["val"][kind]} & {skeleton(t) for t in gen.DE["test"][kind]}


def test_german_sft_has_no_arithmetic():
    fortunes = gen.read_fortunes(gen.TRAIN_FORTUNES)
    held = set(gen.read_fortunes(gen.HELDOUT_FORTUNES))
    assert not any(gen._ARITH.search(f) for f in fortunes)
    for ex in gen.german_sft(200, 0, fortunes):
        # no arithmetic question (house numbers such as "27/68" in addresses are not arithmetic)
        assert not re.search(r"wie viele|rechne|summe|\?.*\d.*[-+*=]", ex["prompt"], re.I)
        assert not gen._ARITH.search(ex["prompt"])
    assert not set(fortunes) & held  # NLL text is held out


def _p(**over):
    p = {"runs": 3, "joint_runs": 1, "model": {"source": "local", "path": "x"}, "data": {"source": "generated"},
         "merge": {"configs": [[4, 2, 0], [5, 2, 1]], "default": [5, 2, 1], "only_bottom": 5, "only_top": 3, "non_layer": "math"},
         "analysis": {"outer_bottom": 5, "outer_top": 3}}
    p.update(over)
    return p


def test_config_checks_name_the_key():
    where = "config/papers/layer_swapping.yaml (scale default)"
    plan.check(_p(), where)
    with pytest.raises(PaperdagError, match="joint_runs"):
        plan.check(_p(joint_runs=4), where)
    with pytest.raises(PaperdagError, match="merge.default"):
        plan.check(_p(merge={**_p()["merge"], "default": [6, 3, 1]}), where)
    with pytest.raises(PaperdagError, match="merge.configs"):
        plan.check(_p(merge={**_p()["merge"], "configs": [[20, 9, 1]], "default": [20, 9, 1]}), where)
    with pytest.raises(PaperdagError, match="model.config"):
        plan.check(_p(model={"source": "random"}), where)
    with pytest.raises(PaperdagError, match="data.math"):
        plan.check(_p(data={"source": "hub"}), where)


def test_swap_variants_and_seeds():
    v = plan.swap_variants(_p())
    assert v["swap_b5_u2_t1"] == (5, 2, 1, "math") and v["swap_b5_u2_t0"] == (5, 2, 0, "math")
    assert v["swap_only_bottom_b5"] == (5, 0, 0, "math") and v["swap_only_top_u3"] == (0, 3, 0, "math")
    assert v["swap_b5_u2_t1_nonlayer_language"] == (5, 2, 1, "language")
    seeds = {plan.expert_seed({"seed": 0}, e, r) for e in plan.EXPERTS for r in range(3)}
    assert len(seeds) == 9


def test_paper_scale_path_on_stand_ins(tmp_path):
    """The `paper` code path (hub-style model spec and datasets) on a tiny random Llama saved with
    save_pretrained and local save_to_disk stand-ins for Orca-Math, Aya, MGSM and FLORES."""
    import datasets
    from transformers import AutoTokenizer

    from paperdag.core.lm import SMOLLM2_ASSET, random_causal_lm

    tok_dir = SMOLLM2_ASSET
    if not (ROOT_ASSET := __import__("pathlib").Path(tok_dir)).is_dir():
        pytest.skip("SmolLM2 asset not built")
    model = random_causal_lm("llama", {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2,
                                       "num_key_value_heads": 1, "vocab_size": 49152, "tie_word_embeddings": False}, seed=0)
    model.save_pretrained(tmp_path / "llama")
    AutoTokenizer.from_pretrained(ROOT_ASSET).save_pretrained(tmp_path / "llama")
    datasets.Dataset.from_dict({"question": ["Tom has 2 apples and buys 3. How many?"] * 4, "answer": ["2 + 3 = 5. The answer is 5."] * 4}).save_to_disk(tmp_path / "orca")
    datasets.Dataset.from_dict({"inputs": ["Habari?", "Jambo"], "targets": ["Nzuri.", "Jambo!"], "language": ["Swahili", "English"]}).save_to_disk(tmp_path / "aya")
    for cfg, q in (("sw", "Tom ana tufaha 2 ananunua 3. Ngapi?"), ("en", "Tom has 2 apples and buys 3. How many?")):
        datasets.Dataset.from_dict({"question": [q] * 3, "answer_number": [5.0] * 3}).save_to_disk(tmp_path / f"mgsm_{cfg}")
    datasets.Dataset.from_dict({"text": ["Habari ya asubuhi.", "Ninapenda kusoma."]}).save_to_disk(tmp_path / "flores")
    d = {"source": "hub",
         "math": {"path": str(tmp_path / "orca"), "prompt": "question", "response": "answer", "n": 3},
         "lang": {"path": str(tmp_path / "aya"), "prompt": "inputs", "response": "targets", "filter": {"language": "Swahili"}},
         "eval": {"path": str(tmp_path / "mgsm_sw"), "en_path": str(tmp_path / "mgsm_en"), "question": "question", "answer": "answer_number"},
         "val": {"path": str(tmp_path / "mgsm_sw"), "question": "question", "answer": "answer_number"},
         "nll": {"path": str(tmp_path / "flores"), "text": "text"}}
    built = gen.build_hub(d)
    assert len(built["math_sft"]) == 3 and len(built["lang_sft"]) == 1 and built["test"][0]["answer"] == 5
    assert built["test"][0]["q_en"].startswith("Tom has")
    m, tok = lm.load_model({"source": "hub", "id": str(tmp_path / "llama")})
    base = {k: v.clone() for k, v in m.state_dict().items()}
    enc = lm.encode_sft(tok, built["math_sft"], 32)
    t = {"steps": 1, "batch": 2, "lr": 1e-3, "freeze_embeddings": True}
    lm.sft(m, tok, enc, t, seed=0)
    after = m.state_dict()
    assert torch.equal(after["model.embed_tokens.weight"], base["model.embed_tokens.weight"])  # frozen
    assert torch.equal(after["lm_head.weight"], base["lm_head.weight"])  # untied head frozen too
    assert not torch.equal(after["model.layers.0.mlp.up_proj.weight"], base["model.layers.0.mlp.up_proj.weight"])
    swapped, _ = merge.layer_swap(base, after, 1, 1, 1, 1)
    m.load_state_dict(swapped)
    outs = lm.generate(m, tok, [it["q_tgt"] for it in built["test"]], max_new=3, batch=2)
    assert len(outs) == 3
    assert lm.nll(m, tok, built["nll_de"], 16, 2) > 0

"""moi: the chunk mask on a hand-made packed sequence, balanced packing's proportions, the checkers
(every generated item accepts its reference and rejects a corruption; tool-call JSON hand cases),
the loss, teacher-forced exact match = greedy generation, bad config inputs, and the paper-scale
path (a pretrained chat model + LoRA on save_to_disk stand-in data) on tiny local stand-ins."""

from __future__ import annotations

import collections
import copy

import pytest
import torch

from paperdag.core.errors import PaperdagError
from paperdag.papers.moi import method, plan, sensitivity, tasks
from paperdag.papers.moi import train as moi_train


def _r(n, first_label=None):
    return method.Rendered(list(range(10, 10 + n)), [0] * n, (0, 0))


def test_chunk_mask_hand_case():
    # two chunks, each: a 1-token default prefix (P) + two instructions of 2 tokens (A, B)
    # tokens: P0 A0 A0 B0 B0 | P1 C1 C1 D1 D1
    row = method.build_row([[_r(2), _r(2)], [_r(2), _r(2)]], prefix=[7])
    assert row.chunk == [0] * 5 + [1] * 5
    assert row.pos == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]  # positions restart at every chunk
    ok = method.allowed(row.chunk, row.segment, "chunk").int().tolist()
    # query 4 (last token of B in chunk 0) sees P0 A0 A0 B0 B0; query 6 (first C) sees P1 and itself only
    assert ok[4] == [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert ok[6] == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0]
    assert ok[9] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    iso = method.allowed(row.chunk, row.segment, "isolated").int().tolist()
    assert iso[4] == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]  # only its own instruction (not the prefix)
    assert iso[0] == [1] + [0] * 9
    causal = method.allowed(row.chunk, row.segment, "causal").int().tolist()
    assert causal[6] == [1] * 7 + [0] * 3  # no mask: sees the whole previous chunk


def test_chunk_mask_in_llama_equals_each_chunk_alone():
    """A 4-D additive mask reaches the attention unchanged (transformers 5): under the chunk mask,
    chunk 2's logits equal those of chunk 2 run alone; under the full causal mask they differ."""
    from transformers import LlamaConfig, LlamaForCausalLM

    data = tasks.generate({"math": 8, "code": 8, "tool": 8, "dialogue": 8}, 4, 0.5, 0)
    strat = dict(moi_train.STRATEGIES["moi"], chunks_per_row=2)
    sch = method.schedule({d: 8 for d in tasks.DOMAINS}, "balanced", 1, 8, 4, 0)
    rows = method.training_rows(data["train"], sch[0], strat, method.WordRenderer())
    assert len(rows) == 1
    r = rows[0]
    c1 = [i for i, c in enumerate(r.chunk) if c == 1]
    alone = method.Row([r.ids[i] for i in c1], [0] * len(c1), [0] * len(c1), [0] * len(c1), [r.pos[i] for i in c1], [0] * len(c1))
    for impl in ("sdpa", "eager"):
        cfg = LlamaConfig(vocab_size=len(tasks.VOCAB), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256)
        cfg._attn_implementation = impl
        torch.manual_seed(0)
        m = LlamaForCausalLM(cfg).eval()

        def logits(rows_, mask):
            b = method.collate(rows_, mask, 0)
            return m(input_ids=b["input_ids"], attention_mask=b["attention_mask"], position_ids=b["position_ids"]).logits

        with torch.no_grad():
            chunk, solo, full = logits([r], "chunk"), logits([alone], "causal"), logits([r], "causal")
        assert torch.allclose(chunk[0, c1], solo[0], atol=1e-5)
        assert not torch.allclose(full[0, c1], solo[0], atol=1e-3)
        assert torch.allclose(full[0, : c1[0]], chunk[0, : c1[0]], atol=1e-5)  # chunk 0 is the same either way


def test_balanced_packing_proportions():
    sizes = {"math": 400, "dialogue": 100, "code": 50, "tool": 10}
    bal = method.schedule(sizes, "balanced", 50, 32, 4, 0)
    for step in bal:
        for chunk in step:
            assert sorted(d for d, _ in chunk) == sorted(tasks.DOMAINS)  # one per domain in every chunk
    cnt = collections.Counter(d for step in bal for ch in step for d, _ in ch)
    assert set(cnt.values()) == {50 * 32 // 4}
    # the small domain is cycled through whole epochs (every item used 40 times)
    tool = collections.Counter(i for step in bal for ch in step for d, i in ch if d == "tool")
    assert set(tool.values()) == {40}
    rnd = method.schedule(sizes, "random", 50, 32, 4, 0)
    cnt = collections.Counter(d for step in rnd for ch in step for d, _ in ch)
    total = sum(cnt.values())
    for d, n in sizes.items():  # natural proportions: whole epochs of the union
        assert abs(cnt[d] / total - n / sum(sizes.values())) < 0.02
    seq = method.schedule(sizes, "sequence", 2, 32, 4, 0)
    assert all(len(ch) == 1 for step in seq for ch in step) and len(seq[0]) == 32


def test_every_generated_item_checker_accepts_reference_and_rejects_corruption():
    data = tasks.generate({"math": 200, "code": 200, "tool": 200, "dialogue": 200}, 50, 0.5, 3)
    for part in ("train", "test"):
        for d, items in data[part].items():
            for it in items:
                ref = it["turns"][-1]["assistant"]
                assert tasks.check(it, ref), (d, ref)
                assert not tasks.check(it, tasks.corrupt(it)), (d, tasks.corrupt(it))
    items = sensitivity.make_items(60, 1)
    for d, its in items.items():
        for it in its:
            assert sensitivity.check(it, sensitivity.reference_text(it)), it
            assert not sensitivity.check(it, sensitivity.corrupt_text(it)), it


def test_test_triples_are_held_out_and_conflict_is_built_in():
    data = tasks.generate({"math": 300, "code": 300, "tool": 300, "dialogue": 300}, 40, 0.5, 0)
    test = {tuple(it["digits"]) for it in data["test"]["math"]}
    for items in data["train"].values():
        assert not any(tuple(it["digits"]) in test for it in items)
    assert all(it["verb"] in tasks.VERBS[d] for d, its in data["test"].items() for it in its)
    amb = sum(it["verb"] in tasks.AMBIGUOUS for its in data["train"].values() for it in its) / 1200
    assert 0.4 < amb < 0.6
    # the same surface input asks for four different answers
    outs = {tasks.answer(d, (3, 9, 4), 7) for d in tasks.DOMAINS}
    assert len(outs) == 4


def test_tool_call_checker_hand_cases():
    ok = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    assert tasks.check_tool_call(ok, "get_weather", {"city": "Paris"})
    assert tasks.check_tool_call('{ "arguments" : { "city" : "paris" } , "name" : "get_weather" }', "get_weather", {"city": "Paris"})
    assert not tasks.check_tool_call(ok, "get_weather", {"city": "Lima"})
    assert not tasks.check_tool_call(ok, "set_alarm", {"city": "Paris"})
    assert not tasks.check_tool_call('{"name": "get_weather", "arguments": {"city": "Paris"}, "x": 1}', "get_weather", {"city": "Paris"})
    assert not tasks.check_tool_call('{"name": "get_weather", "arguments": {"city": "Paris"', "get_weather", {"city": "Paris"})
    assert not tasks.check_tool_call("get_weather(Paris)", "get_weather", {"city": "Paris"})
    assert tasks.check_tool_call('{"name": "c", "arguments": {"amount": 5.0}}', "c", {"amount": 5})
    assert not tasks.check_tool_call('{"name": "c", "arguments": {"amount": "5"}}', "c", {"amount": 5})
    # part (a): the JSON object may follow or precede text; the first object counts
    it = {"domain": "tool", "answer": {"name": "set_alarm", "arguments": {"time": "7:30"}}}
    assert sensitivity.check(it, 'Sure: {"name": "set_alarm", "arguments": {"time": "7:30"}} done')
    assert not sensitivity.check(it, '{"name": "set_alarm", "arguments": {}}')


def test_part_a_checkers_hand_cases():
    m = {"domain": "math", "answer": 12}
    assert sensitivity.check(m, ": 12 apples") and not sensitivity.check(m, " 13") and not sensitivity.check(m, "twelve")
    c = {"domain": "code", "answer": "[1, 2]"}
    assert sensitivity.check(c, " [1, 2]\nmore") and not sensitivity.check(c, "[1, 2, 3]")
    assert sensitivity.run_snippet("s = 0\nfor i in range(4):\n    s += i\nprint(s)") == "6"


def test_loss_instruction_mean_hand_case():
    # vocab 2, uniform logits except one token: per-token NLL computed by hand
    logits = torch.zeros(1, 4, 2)
    logits[0, 0, 1] = 2.0  # predicts token at position 1
    batch = {"input_ids": torch.tensor([[0, 1, 0, 1]]), "labels": torch.tensor([[False, True, True, True]]),
             "inst": torch.tensor([[0, 0, 1, 1]])}
    nll = [-torch.log_softmax(torch.tensor([0.0, 2.0]), 0)[1], torch.log(torch.tensor(2.0)), torch.log(torch.tensor(2.0))]
    # instruction 0: position 1; instruction 1: positions 2, 3
    want = (nll[0] + (nll[1] + nll[2]) / 2) / 2
    assert torch.allclose(method.loss_fn(logits, batch), want)
    assert torch.allclose(method.loss_fn(logits, batch, "token_mean"), sum(nll) / 3)


def test_exact_match_equals_greedy_generation():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1)
    cfg = LlamaConfig(vocab_size=len(tasks.VOCAB), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256)
    m = LlamaForCausalLM(cfg).eval()
    R = method.WordRenderer()
    items = tasks.generate({d: 2 for d in tasks.DOMAINS}, 4, 0.5, 0)["test"]["math"]
    # make one item's reference the model's own greedy output, so both outcomes are exercised
    x = R.render(tasks.PROMPTS["default"], items[0]["turns"])
    ids = x.ids[: x.final[0]]
    with torch.no_grad():
        for _ in range(x.final[1] - x.final[0]):
            ids.append(int(m(input_ids=torch.tensor([ids])).logits[0, -1].argmax()))
    own = copy.deepcopy(items[0])
    own["turns"][-1]["assistant"] = " ".join(tasks.VOCAB[i] for i in ids[x.final[0] : x.final[1] - 1])
    if ids[-1] == tasks.EOS and all(i >= len(tasks.SPECIAL) for i in ids[x.final[0] : -1]):
        assert method.exact_match(m, R, [own], lambda it: tasks.PROMPTS["default"]) == [1]
    assert method.exact_match(m, R, items, lambda it: tasks.PROMPTS["default"]) == [0] * len(items)


def _base():
    import yaml

    return yaml.safe_load(open("config/papers/moi.yaml"))["base"]


@pytest.mark.parametrize("edit,key", [
    (lambda p: p["train"].update(n_mix=3), "train.n_mix"),
    (lambda p: p["train"].update(per_step=30), "train.per_step"),
    (lambda p: p["train"].update(eval_every=10_000), "train.eval_every"),
    (lambda p: p["data"]["sizes"].pop("tool"), "data.sizes"),
    (lambda p: p["model"].update(source="hub"), "model.id"),
    (lambda p: p["data"].update(n_test=950), "data.n_test"),
    (lambda p: p["model"]["config"].update(hidden_size=66), "model.config.hidden_size"),
])
def test_cross_key_checks_name_the_key(edit, key):
    p = _base()
    plan.check(p, "config/papers/moi.yaml (scale default)")
    edit(p)
    with pytest.raises(PaperdagError, match=key.replace(".", r"\.")):
        plan.check(p, "config/papers/moi.yaml (scale default)")


def test_paper_scale_path_on_tiny_stand_ins(tmp_path):
    """The paper scale's code path: hub-style SFT sets (save_to_disk stand-ins, single-turn columns
    and ShareGPT messages) -> a pretrained chat model folder (tiny random Llama + the SmolLM2
    tokenizer and chat template) with LoRA (peft) -> MoI training with the chunk mask -> eval."""
    import logging

    import datasets
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from paperdag.core.lm import SMOLLM2_ASSET
    from paperdag.papers.moi import hubdata

    tok = AutoTokenizer.from_pretrained(SMOLLM2_ASSET)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=2, max_position_embeddings=1024)
    mdir = tmp_path / "model"
    LlamaForCausalLM(cfg).save_pretrained(mdir)
    tok.save_pretrained(mdir)
    domains = {}
    for d in ("math", "code", "tool"):
        datasets.Dataset.from_dict({"q": [f"{d} question {i}" for i in range(6)], "a": [f"answer {i}" for i in range(6)]}).save_to_disk(tmp_path / d)
        domains[d] = {"path": str(tmp_path / d), "user": "q", "assistant": "a", "n_train": 4, "n_test": 2}
    conv = [[{"from": "human", "value": f"hi {i}"}, {"from": "gpt", "value": "hello"}, {"from": "human", "value": "again"}, {"from": "gpt", "value": f"bye {i}"}] for i in range(6)]
    datasets.Dataset.from_dict({"conversations": conv}).save_to_disk(tmp_path / "dialogue")
    domains["dialogue"] = {"path": str(tmp_path / "dialogue"), "messages": "conversations", "n_train": 4, "n_test": 2}
    p = _base()
    p["data"] = {"source": "disk", "domains": domains}
    p["model"] = {"source": "local", "path": str(mdir), "verify": False,
                  "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj", "v_proj"]}}
    p["train"].update(steps=2, per_step=8, eval_every=1, eval_batch=4, warmup=1)
    plan.check(p, "test")
    data = hubdata.load(p["data"], 0)
    assert len(data["train"]["dialogue"]) == 4 and len(data["test"]["math"]) == 2
    assert len(data["train"]["dialogue"][0]["turns"]) == 2
    r = method.ChatTemplateRenderer(tok).render("You are a programmer.", data["train"]["dialogue"][0]["turns"])
    labelled = tok.decode([i for i, lab in zip(r.ids, r.labels) if lab])
    assert "hello" in labelled and "bye" in labelled and "again" not in labelled and "programmer" not in labelled
    model, out, res = moi_train.run(p, "moi", 0, data, tmp_path / "resume", logging.getLogger("test"))
    assert [c["step"] for c in out["curve"]] == [0, 1, 2]
    assert set(out["default"]) == set(plan.DOMAINS)
    trainable = [n for n, q in model.named_parameters() if q.requires_grad]
    assert trainable and all("lora" in n for n in trainable)

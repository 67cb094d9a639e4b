"""adapt_retrieve_revise: the statute generator's truth, the paper's title-recall metric, exact kNN
recall@k, the likelihood reviser, the drafter, config checks and the paper-scale path on stand-ins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from paperdag.core.config import PaperConfig
from paperdag.core.errors import PaperdagError
from paperdag.core.stage import run_job
from paperdag.papers.adapt_retrieve_revise import drafter, plan, retrieval, reviser, statutes as S

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return S.make_dataset(3, 6, 3, 3, 200, 120, 30)


def _triple(a):
    return a["subj_i"], a["act_i"], a["cond_i"]


def test_every_question_cites_exactly_one_article(data):
    arts = data["articles"]
    triples = [_triple(a) for a in arts]
    assert len(set(triples)) == len(arts)  # (subject, action, condition) identifies one article
    assert len({a["title"] for a in arts}) == len(arts)  # titles are unique
    for it in data["items"]:
        f = it["facts"]
        match = [a["id"] for a in arts
                 if f["subject"] in S.SUBJECTS[a["subj_i"]][1] and f["action"] in S.ACTIONS[a["act_i"]][1]
                 and f["condition"] in S.CONDITIONS[a["cond_i"]][1]]
        assert match == [it["gold"]], it["question"]
        assert f["subject"] in it["question"] and f["condition"] in it["question"]


def test_near_duplicates_differ_in_the_intended_fields(data):
    by_base = {}
    for a in data["articles"]:
        by_base.setdefault(a["base"], []).append(a)
    assert all(len(v) == 3 for v in by_base.values())
    for group in by_base.values():
        for f in ("statute", "subject", "action"):
            assert len({a[f] for a in group}) == 1, f
        for f in ("condition", "offence", "penalty", "number"):
            assert len({a[f] for a in group}) == len(group), f
        nums = [a["number"] for a in group]
        assert nums == list(range(nums[0], nums[0] + len(group)))  # adjacent article numbers
    # the article text carries its title, offence and penalty
    a = data["articles"][0]
    assert a["text"].startswith(f"{a['statute']}, Article {a['number']} ({a['offence']})") and a["penalty"] in a["text"]


def test_evaluation_fact_patterns_are_unseen_in_training(data):
    pools = data["pools"]
    assert not set(pools["train_first"]) & set(pools["eval_first"])
    assert not set(pools["train_details"]) & set(pools["eval_details"])
    corpus = " ".join(j["text"] for j in data["judgments"]) + " ".join(s["prompt"] for s in data["sft"])
    for it in data["items"]:
        assert it["facts"]["name"] not in corpus
        assert it["facts"]["detail"] not in corpus or it["task"] == "qa"
    assert {j["gold"] for j in data["judgments"]} == set(range(len(data["articles"])))  # every article is taught


def test_exam_questions_have_one_correct_option_and_near_duplicate_distractors(data):
    arts = data["articles"]
    mcq = [it for it in data["items"] if it["task"] == "mcq"]
    assert len(mcq) == 30
    for it in mcq:
        a = arts[it["gold"]]
        opts = it["option_articles"]
        assert len(opts) == 4 and len(set(opts)) == 4 and len(set(it["options"])) == 4
        assert [o for o in opts if o == it["gold"]] == [it["gold"]] and opts[it["answer"]] == it["gold"]
        assert it["options"] == [S.option_text(arts[o]) for o in opts] and it["options"][it["answer"]] == f"{a['offence']}; {a['penalty']}"
        # distractors: every near-duplicate of the gold article (same base; variants_per_base = 3), then the same statute
        near = {b["id"] for b in arts if b["base"] == a["base"] and b["id"] != a["id"]}
        assert near <= set(opts)
        assert all(arts[o]["statute"] == a["statute"] for o in opts)
        for o in opts:
            assert f"{S.LETTERS[opts.index(o)]}) {S.option_text(arts[o])}." in it["question"]
    assert {it["answer"] for it in mcq} == {0, 1, 2, 3}  # the gold letter is not always the same
    for ex in data["sft"]:
        if ex["task"] == "mcq":
            letter = S.mcq_choice(ex["answer"])
            assert f"{S.LETTERS[letter]}) {S.option_text(arts[ex['gold']])}." in ex["prompt"]
    # the textbook: one paragraph per article, explaining it in other words (same index)
    assert len(data["textbook"]) == len(arts)
    for a, para in zip(arts, data["textbook"]):
        assert f"{a['statute']}: Article {a['number']} covers" in para and a["offence"] in para and a["penalty"] in para
        assert para != a["text"]


@pytest.mark.parametrize("text,choice", [
    ("The answer is B) nocturnal open burning; fined 10 silver crowns.", 1),
    ("the answer is (D)", 3),
    ("C) storm toll evasion", 2),
    ("I think it is A.", None),
    ("No idea.", None),
])
def test_mcq_letter_parser_on_hand_cases(text, choice):
    assert S.mcq_choice(text) == choice


def test_mcq_answer_is_read_for_its_content_then_its_letter():
    opts = ["nocturnal open burning; detained for 10 days", "festival open burning; fined 10 silver crowns",
            "storm toll evasion; detained for 5 days", "storm open burning; detained for 30 days"]
    # the full option text wins over a wrong letter
    assert S.mcq_answer_choice("The answer is A) festival open burning; fined 10 silver crowns.", opts) == 1
    # the offence of exactly one option, with a penalty taken from another
    assert S.mcq_answer_choice("The answer is C) storm open burning; detained for 10 days.", opts) == 3
    # offence named by two options ("open burning" alone is not an offence here): fall back to the letter
    assert S.mcq_answer_choice("B) It is open burning", opts) == 1
    assert S.mcq_answer_choice("storm toll evasion or storm open burning", opts) is None
    assert S.mcq_answer_choice("No idea.", opts) is None


def test_revised_answer_rewrites_the_draft_citation():
    arts = _arts()
    assert S.revised_answer("Harbor Safety Code Article 18 applies: a ferry operator.", "Harbor Safety Code Article 17", arts, "lcr") \
        == "Harbor Safety Code Article 17 applies: a ferry operator."
    assert S.revised_answer("harbor safety code, art. 9 and River Trade Act Article 17.", "River Trade Act Article 17", arts, "cp") \
        == "River Trade Act Article 17 and River Trade Act Article 17."
    assert S.revised_answer("No article.", "River Trade Act Article 17", arts, "qa") == "Under River Trade Act Article 17: No article."
    assert S.revised_answer("The answer is A) x; y. See Harbor Safety Code Article 17.", "u; v", arts, "mcq", 2) \
        == "The answer is C) u; v. See Harbor Safety Code Article 17."
    assert S.revised_answer("dunno", "u; v", arts, "mcq", 0) == "The answer is A) u; v. dunno"


def test_generator_is_deterministic():
    assert json.dumps(S.make_dataset(1, 3, 2, 2, 10, 10, 3)) == json.dumps(S.make_dataset(1, 3, 2, 2, 10, 10, 3))
    assert json.dumps(S.make_dataset(1, 3, 2, 2, 10, 10, 3)) != json.dumps(S.make_dataset(2, 3, 2, 2, 10, 10, 3))


def _arts():
    return [{"id": 0, "statute": "Harbor Safety Code", "number": 17}, {"id": 1, "statute": "Harbor Safety Code", "number": 18},
            {"id": 2, "statute": "River Trade Act", "number": 17}]


@pytest.mark.parametrize("text,gold,article,statute", [
    ("Harbor Safety Code Article 17 applies.", 0, 1.0, 1.0),
    ("under the harbor safety code, art. 17", 0, 1.0, 1.0),
    ("Harbor  Safety Code § 17 and River Trade Act Article 17", 2, 1.0, 1.0),
    ("Harbor Safety Code Article 18 applies.", 0, 0.0, 1.0),  # wrong number: the strict metric says no
    ("River Trade Act Article 17", 0, 0.0, 0.0),  # right number, wrong statute
    ("Article 17 applies.", 0, 0.0, 0.0),
    ("Harbor Safety Code Article 170", 0, 0.0, 1.0),
    ("I cannot cite any law.", 1, 0.0, 0.0),
])
def test_title_recall_on_hand_cases(text, gold, article, statute):
    assert S.article_recall(text, gold, _arts()) == article
    assert S.statute_recall(text, gold, _arts()) == statute


def test_knn_and_recall_at_k_on_a_hand_made_index():
    mem = np.array([[1, 0], [0, 1], [-1, 0], [0.7, 0.7]], dtype=np.float32)
    keys = np.array([[0.9, 0.1], [0, -1], [-1, 0.1]], dtype=np.float32)
    r = retrieval.knn(keys, mem, 3)
    assert r[0].tolist() == [0, 3, 1]
    assert r[1].tolist() == [0, 2, 3]  # rows 0 and 2 tie (squared distance 2): the lower index first
    assert r[2].tolist() == [2, 1, 3]
    # gold 3 is second for key 0, gold 1 is last for key 1, gold 2 is first for key 2
    rec = retrieval.recall_at_k(r, [3, 1, 2], [1, 2, 3])
    assert rec == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 3: pytest.approx(2 / 3)}
    # ties go to the lower index (deterministic)
    assert retrieval.knn(np.zeros((1, 2), np.float32), np.ones((3, 2), np.float32), 3).tolist() == [[0, 1, 2]]


class _PlantedLM(torch.nn.Module):
    """A fake causal LM whose next-token logits favour the tokens of one planted text."""

    def __init__(self, vocab: int, planted: list[int]):
        super().__init__()
        self.vocab, self.planted = vocab, set(planted)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None, position_ids=None, logits_to_keep=0, **kw):
        logits = torch.zeros(*input_ids.shape, self.vocab)
        for t in self.planted:
            logits[..., t] = 5.0
        if isinstance(logits_to_keep, torch.Tensor):
            logits = logits[:, logits_to_keep]
        elif logits_to_keep:
            logits = logits[:, -logits_to_keep:]
        return type("O", (), {"logits": logits})()


def test_likelihood_reviser_picks_the_planted_title():
    tok = retrieval.load_encoder({"source": "random", "config": {"hidden_size": 8, "num_hidden_layers": 1,
                                                                  "num_attention_heads": 2, "intermediate_size": 8}})[1]
    titles = ["Harbor Safety Code Article 17", "Harbor Safety Code Article 18", "River Trade Act Article 3"]
    planted = tok(" River Trade Act Article 3.", add_special_tokens=False)["input_ids"]
    model = _PlantedLM(tok.vocab_size, planted)
    user = reviser.user_message("Facts: ...", "draft", ["e1", "e2", "e3"], reviser.ASK_REVISE)
    sc = reviser.score_titles(model, tok, user, titles)
    assert int(np.argmax(sc)) == 2
    assert sc == pytest.approx(reviser.score_titles_full(model, tok, user, titles), abs=1e-4)
    # scoring sums over the title's tokens only: a title with more unplanted tokens scores lower
    assert sc[0] < sc[2] and sc[1] < sc[2]


def test_cached_scoring_equals_full_sequence_scoring():
    model, tok = reviser.load_reviser({"source": "random", "seed": 1, "config": {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2}})
    user = reviser.user_message("Facts: a carter refused the toll.", "Salt Road Charter Article 31", ["e1", "e2"], reviser.ASK_REVISE)
    titles = ["Salt Road Charter Article 31", "Bell Tower Decree Article 9", "A"]  # different lengths: padding
    assert reviser.score_titles(model, tok, user, titles) == pytest.approx(reviser.score_titles_full(model, tok, user, titles), abs=1e-4)
    opts = ["storm toll evasion; fined 10 silver crowns", "market toll evasion; detained for 3 days", "x", "inner toll evasion"]
    packed = reviser.score_options(model, tok, user, opts)
    assert packed == pytest.approx(reviser.score_full(model, tok, user, reviser.MCQ_PREFIX, reviser.option_conts(opts)), abs=1e-4)
    # several requests sharing the question (and one the draft) in one packed pass
    u2 = reviser.user_message("Facts: a carter refused the toll.", None, ["e3"], reviser.ASK_REVISE)
    u3 = reviser.user_message("Facts: a carter refused the toll.", "Salt Road Charter Article 31", ["e4", "e1"], reviser.ASK_REVISE)
    reqs = [(user, reviser.ANSWER_PREFIX, reviser.title_conts(titles)), (u2, reviser.MCQ_PREFIX, reviser.option_conts(opts)),
            (u3, reviser.ANSWER_PREFIX, reviser.title_conts(titles[:2]))]
    many = reviser.score_many(model, tok, reqs)
    assert [len(x) for x in many] == [3, 4, 2]
    for (u, pre, conts), got in zip(reqs, many):
        assert got == pytest.approx(reviser.score_full(model, tok, u, pre, conts), abs=1e-4)


def test_likelihood_reviser_picks_the_planted_option():
    tok = retrieval.load_encoder({"source": "random", "config": {"hidden_size": 8, "num_hidden_layers": 1,
                                                                  "num_attention_heads": 2, "intermediate_size": 8}})[1]
    opts = ["storm toll evasion; fined 10 silver crowns", "market toll evasion; detained for 3 days",
            "inner toll evasion; fined 20 silver crowns", "storm open burning; fined 10 silver crowns"]
    planted = tok(" C) inner toll evasion; fined 20 silver crowns.", add_special_tokens=False)["input_ids"]
    model = _PlantedLM(tok.vocab_size, planted)
    user = reviser.user_message("Exam question: ...", "The answer is A) ...", ["t1", "t2", "t3"], reviser.ASK_REVISE_MCQ)
    sc = reviser.score_options(model, tok, user, opts)
    assert int(np.argmax(sc)) == 2


def test_smollm2_scoring_reviser_copies_the_title_the_evidence_supports(smollm2_asset):
    model, tok = reviser.load_reviser({"source": "local", "path": str(smollm2_asset)})
    ev = ["Bell Tower Decree, Article 9 (storm open burning). A weaver who lights an open fire during a storm warning commits storm open burning.",
          "Salt Road Charter, Article 31 (market toll evasion). A carter who refuses to pay the toll on a market day commits market toll evasion."]
    user = reviser.user_message("A carter refused to pay the toll on a market day. Which article applies?",
                                "Salt Road Charter Article 31 applies.", ev, reviser.ASK_REVISE)
    sc = reviser.score_titles(model, tok, user, ["Bell Tower Decree Article 9", "Salt Road Charter Article 31"])
    assert sc[1] > sc[0]


def test_drafter_tokenizer_round_trip_and_scoring_shapes():
    tok = drafter.WordTokenizer.build(["Harbor Safety Code, Article 17 (night mooring). A ferry operator who moors."])
    text = "Harbor Safety Code, Article 17 (night mooring)."
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode("unknownword")[0] == drafter.UNK
    m = drafter.build_model(len(tok), {"width": 16, "layers": 1, "heads": 2, "max_len": 64}, 0).eval()
    sc = drafter.score(m, tok, "Harbor Safety Code", [" Article 17", " Article"])
    assert len(sc) == 2 and all(s < 0 for s in sc)
    out = drafter.generate(m, tok, ["Harbor", "A ferry operator who"], 3)
    assert len(out) == 2


def test_cross_key_checks_name_the_key():
    p = PaperConfig("adapt_retrieve_revise", ROOT).params("smoke")
    where = "config/papers/adapt_retrieve_revise.yaml (scale smoke)"
    plan.check(p, where)
    bad = json.loads(json.dumps(p))
    bad["revise"]["n_revise"] = p["data"]["n_test"] + 1
    with pytest.raises(PaperdagError, match=r"adapt_retrieve_revise.yaml.*revise.n_revise"):
        plan.check(bad, where)
    bad = json.loads(json.dumps(p))
    bad["reviser"] = {"source": "hub"}
    with pytest.raises(PaperdagError, match="reviser.id"):
        plan.check(bad, where)
    bad = json.loads(json.dumps(p))
    bad["retrieval"]["k"] = 1000
    with pytest.raises(PaperdagError, match="retrieval.k"):
        plan.check(bad, where)


def test_run_seeds_and_lm_input():
    p = PaperConfig("adapt_retrieve_revise", ROOT).params("default")
    assert [plan.run_seed(p, r) for r in range(3)] == [0, 1, 2]
    assert plan.lm_input(p) == {"lm": "resources/models/smollm2-135m-instruct"}
    assert plan.lm_input(PaperConfig("adapt_retrieve_revise", ROOT).params("smoke")) == {}
    assert plan.lm_input(PaperConfig("adapt_retrieve_revise", ROOT).params("paper")) == {}


def test_paper_scale_path_on_tiny_local_stand_ins(tmp_path):
    """The paper scale's hub loaders (encoder and reviser by id -> here local tiny random folders,
    E5 prefixes on) through the real stages book -> adapt -> general -> arr."""
    from transformers import AutoTokenizer, BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(retrieval.minilm_path())
    enc_dir, lm_dir = tmp_path / "enc", tmp_path / "lm"
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16)).save_pretrained(enc_dir)
    tok.save_pretrained(enc_dir)
    LlamaForCausalLM(LlamaConfig(vocab_size=tok.vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=2)).save_pretrained(lm_dir)
    tok.save_pretrained(lm_dir)
    p = PaperConfig("adapt_retrieve_revise", ROOT).params("paper")
    assert p["retrieval"]["query_prefix"] == "query: " and p["reviser"]["source"] == "hub"
    p["retrieval"]["encoder"]["id"] = str(enc_dir)
    p["reviser"]["id"] = str(lm_dir)
    p["data"].update(n_statutes=2, bases_per_statute=2, variants_per_base=2, n_judgments=8, n_sft=6, n_test=2)
    p["drafter"].update(model={"width": 16, "layers": 1, "heads": 2, "max_len": 96}, pretrain_epochs=1, sft_epochs=1, max_new=5)
    p["drafter"]["train"].update(batch=8, max_len=96)
    p["retrieval"].update(ks=[1, 2], k=2)
    p["revise"].update(n_revise=1, n_gen=1, max_new=4, gen_batch=2, rounds=2)
    plan.check(p, "test")
    d = str(tmp_path / "r")
    wc = {"run": "0", "scale": "paper"}
    assert run_job("adapt_retrieve_revise.book", {"output": {"data": f"{d}/data.json"}, "wildcards": wc}, p) == 0
    assert run_job("adapt_retrieve_revise.adapt", {"input": {"data": f"{d}/data.json"},
                                                    "output": {"model": f"{d}/m.safetensors", "drafts": f"{d}/drafts.json"},
                                                    "wildcards": wc}, p) == 0
    assert run_job("adapt_retrieve_revise.general", {"input": {"data": f"{d}/data.json"}, "output": {"answers": f"{d}/g.json"},
                                                      "wildcards": wc}, p) == 0
    assert run_job("adapt_retrieve_revise.arr", {"input": {"data": f"{d}/data.json", "model": f"{d}/m.safetensors",
                                                           "drafts": f"{d}/drafts.json", "general": f"{d}/g.json"},
                                                  "output": {"evals": f"{d}/ev.json"}, "wildcards": wc}, p) == 0
    ev = json.loads(Path(f"{d}/ev.json").read_text())
    assert set(ev["systems"]) >= {"general_direct", "drafter_direct", "qrag_general", "qrag_draft_general", "arr", "arr_swap", "arr_gen"}
    assert set(ev["iterations"]) == {"1", "2"}
    for t in S.TASKS:
        assert ev["recall_at_k"][t]["draft"]["2"] >= ev["recall_at_k"][t]["draft"]["1"]

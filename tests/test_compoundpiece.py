"""compoundpiece: the testbed's rules and the paper's metrics on hand-computed cases, the config
checks, the paper-scale path on local stand-ins, and an end-to-end smoke run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from paperdag.core.config import PaperConfig
from paperdag.core.errors import PaperdagError
from paperdag.core.stage import run_job
from paperdag.papers.compoundpiece import baselines as B
from paperdag.papers.compoundpiece import lang as L
from paperdag.papers.compoundpiece import plan, scoring
from paperdag.papers.compoundpiece import spm as S

ROOT = Path(__file__).resolve().parents[1]


# -- gold compounds -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang,parts,linkers,want", [
    ("de", ["Bund", "Agentur"], ["es"], ("Bundesagentur", "Bundes-agentur", "Bund-Agentur")),
    ("de", ["Schule", "Buch"], ["-e"], ("Schulbuch", "Schul-buch", "Schule-Buch")),
    ("de", ["Haus", "Tür"], [""], ("Haustür", "Haus-tür", "Haus-Tür")),
    ("de", ["Arbeit", "Zeit", "Modell"], ["s", ""], ("Arbeitszeitmodell", "Arbeits-zeit-modell", "Arbeit-Zeit-Modell")),
    ("nl", ["ziekte", "huis"], ["n"], ("ziektenhuis", "ziekten-huis", "ziekte-huis")),
    ("sv", ["flicka", "skola"], ["-a"], ("flickskola", "flick-skola", "flicka-skola")),
    ("da", ["arbejde", "plads"], ["s"], ("arbejdesplads", "arbejdes-plads", "arbejde-plads")),
])
def test_build_compound_hand_cases(lang, parts, linkers, want):
    assert L.build_compound(lang, parts, linkers) == want


def test_every_gold_segmentation_rejoins_to_its_word():
    rng = random.Random(0)
    words = {"de": ["Zeitung", "Schule", "Haus", "Arbeit", "Freiheit", "Bahn", "Tag"],
             "nl": ["huis", "vrijheid", "ziekte", "dag", "werk"], "sv": ["flicka", "skola", "handling", "bil"],
             "da": ["arbejde", "kirke", "hus", "frihed"]}
    for lang, ws in words.items():
        for _ in range(200):
            parts = rng.sample(ws, rng.choice([2, 3]))
            linkers = [L.choose_linker(lang, p, rng) for p in parts[:-1]]
            word, seg, norm = L.build_compound(lang, parts, linkers)
            assert L.rejoin(seg) == word
            assert len(norm.split("-")) == len(seg.split("-")) == len(parts)
            assert L.boundaries(seg)[-1] < len(word)


def test_linker_follows_the_first_constituents_ending():
    rng = random.Random(0)
    assert all(L.choose_linker("de", "Zeitung", rng) == "s" for _ in range(20))
    assert {L.choose_linker("de", "Schule", rng) for _ in range(200)} == {"n", "-e"}


# -- Stage 1 dehyphenation ----------------------------------------------------------------------------
@pytest.mark.parametrize("hyph,want", [
    ("Bundes-Agentur", "Bundesagentur"),   # lower|Upper -> lower
    ("E-mail", "EMail"),                   # Upper|lower -> upper
    ("E-Mail", "EMail"),                   # Upper|Upper: unchanged
    ("haus-tür", "haustür"),               # lower|lower: unchanged
    ("Haus-Tür-Schloss", "Haustürschloss"),
    ("plain", "plain"),
])
def test_dehyphenation_with_case_continuity(hyph, want):
    assert L.dehyphenate(hyph) == want


def test_dehyphenation_without_case_fix_just_drops_the_hyphen():
    class Never(random.Random):
        def random(self):
            return 1.0

    assert L.dehyphenate("Bundes-Agentur", Never(), p_case=0.999) == "BundesAgentur"


# -- alignment, pre-splitting ---------------------------------------------------------------------------
def test_alignment_of_normalized_parts_to_the_surface():
    assert L.align_split("Bundesagentur", ["Bund", "Agentur"]) == "Bundes-agentur"  # tie -> the later cut
    assert L.align_split("Schulbuch", ["Schule", "Buch"]) == "Schul-buch"
    assert L.to_segmentation("Haustür", "Haus-Tür") == "Haus-tür"
    assert L.to_segmentation("Haustür", "Haus-tür") == "Haus-tür"
    assert L.to_segmentation("Haus", "Haus") == "Haus"
    assert L.to_segmentation("Hau", "a-b-c-d-e-f") == "Hau"  # cannot align: unsplit


def test_presplitting_leaves_non_compounds_unchanged():
    corpus = {"Haus": 3, "Haustür": 2, "Tür": 1}
    seg = {"Haus": L.to_segmentation("Haus", "Haus"), "Haustür": L.to_segmentation("Haustür", "Haus-Tür"),
           "Tür": L.to_segmentation("Tür", "Tür")}
    assert S.constituent_units(corpus, seg) == {"Haus": 5, "tür": 2, "Tür": 1}
    assert S.constituent_units({"Haus": 3}, {}) == {"Haus": 3}


# -- metrics --------------------------------------------------------------------------------------------
def test_exact_match_accuracy_on_positives_and_negatives():
    rows = [{"lang": "de", "word": "Haustür", "seg": "Haus-tür", "norm": "Haus-Tür", "pos": True},
            {"lang": "de", "word": "Bundesagentur", "seg": "Bundes-agentur", "norm": "Bund-Agentur", "pos": True},
            {"lang": "de", "word": "Haus", "seg": "Haus", "norm": "Haus", "pos": False},
            {"lang": "nl", "word": "huisdeur", "seg": "huis-deur", "norm": "huis-deur", "pos": True},
            {"lang": "nl", "word": "huis", "seg": "huis", "norm": "huis", "pos": False}]
    preds = {"Haustür": {"seg": "Haus-tür", "norm": "Haus-tür"},       # case matters: norm wrong
             "Bundesagentur": {"seg": "Bundes-agentur", "norm": "Bund-Agentur"},
             "Haus": {"seg": "Ha-us", "norm": "Haus"},
             "huisdeur": {"seg": "huisdeur", "norm": "huisdeur"}}       # "huis" missing: wrong
    s = scoring.score(rows, preds)
    assert s["de"]["seg"] == {"pos": 1.0, "n_pos": 2, "neg": 0.0, "n_neg": 1, "avg": 0.5}
    assert s["de"]["norm"]["pos"] == 0.5 and s["de"]["norm"]["neg"] == 1.0 and s["de"]["norm"]["avg"] == 0.75
    assert s["nl"]["seg"]["avg"] == 0.0
    assert scoring.macro(s, "norm") == pytest.approx((0.75 + 0.0) / 2)


def test_model_predictions_segment_by_alignment():
    p = scoring.model_preds(["Bundesagentur", "Haus"], ["Bund-Agentur", "Haus"])
    assert p["Bundesagentur"] == {"norm": "Bund-Agentur", "seg": "Bundes-agentur"}
    assert p["Haus"] == {"norm": "Haus", "seg": "Haus"}


# -- easy / hard ----------------------------------------------------------------------------------------
def test_easy_hard_on_hand_tokenized_words():
    assert not L.is_hard("Haus-tür", ["Haus", "tür"])
    assert not L.is_hard("Haus-tür", ["Ha", "us", "t", "ür"])
    assert L.is_hard("Haus-tür", ["Hau", "stür"])
    assert L.is_hard("Arbeits-zeit-modell", ["Arbeits", "zeitm", "odell"])
    assert not L.is_hard("Arbeits-zeit-modell", ["Arbeits", "zeit", "modell"])


def test_hf_pieces_strip_the_leading_space():
    class Tok:
        def __call__(self, text, add_special_tokens, return_offsets_mapping):
            # " Haustür" -> " Haus" | "tür"
            return {"offset_mapping": [(0, 5), (5, 8)]}

    assert B.hf_pieces(Tok(), "Haustür") == ["Haus", "tür"]


def test_sentencepiece_trained_on_constituents_never_spans_their_boundary():
    corpus = {"haustür": 5, "haus": 5, "tür": 5, "autotür": 5, "auto": 5, "hausauto": 3}
    seg = {w: w for w in corpus}
    seg.update({"haustür": "haus-tür", "autotür": "auto-tür", "hausauto": "haus-auto"})
    cp = S.processor(S.train_spm(S.constituent_units(corpus, seg), 30, 0, 8))
    gold = [{"word": "haustür", "seg": "haus-tür"}, {"word": "autotür", "seg": "auto-tür"}]
    assert S.hard_rate(cp, gold) == 0.0


# -- baselines -------------------------------------------------------------------------------------------
def test_frequency_splitter_hand_case():
    freqs = {"haus": 1e-4, "tür": 1e-5, "bund": 1e-5, "agentur": 1e-5, "haustür": 1e-7, "bundes": 1e-9,
             "schule": 1e-4, "buch": 1e-4}
    fs = B.FrequencySplitter("de", freqs, {"Haus", "Tür", "Bund", "Agentur", "Schule", "Buch"})
    # split score sqrt(1e-4 * 1e-5) = 3.2e-5 beats the word's own 1e-7
    assert fs.split("Haustür") == ("Haus-tür", "Haus-Tür")
    assert fs.split("Bundesagentur") == ("Bundes-agentur", "Bund-Agentur")  # linker "es" stripped
    assert fs.split("Schulbuch") == ("Schul-buch", "Schule-Buch")            # elided "e" restored
    assert fs.split("Haus") == ("Haus", "Haus")
    assert fs.split("Xyzabc") == ("Xyzabc", "Xyzabc")


def test_unsupervised_splitter_counts_only_the_stage1_web_words():
    """The frequency splitter's counts come from the unlabelled Stage-1 web words (issue 33), not
    from the word list the constituents are drawn from: a hyphenated web word counts its parts, any
    other word counts whole, other languages' words not at all."""
    web = [{"lang": "de", "input": "Haustür", "target": "Haus-Tür"},
           {"lang": "de", "input": "Haus", "target": "Haus"},
           {"lang": "de", "input": "Tür", "target": "Tür"},
           {"lang": "nl", "input": "huisdeur", "target": "huis-deur"}]
    f = B.web_frequencies(web, "de")
    assert f == pytest.approx({"haus": 0.5, "tür": 0.5})
    fs = B.FrequencySplitter("de", f, {"Haus", "Tür"})
    assert fs.split("Haustür") == ("Haus-tür", "Haus-Tür")
    # a constituent the web never shows cannot be split off, however common the word list says it is
    assert fs.split("Bundesagentur") == ("Bundesagentur", "Bundesagentur")


def test_compound_split_wrapper():
    assert B.charsplit("Bundesagentur", "de", 0.0) == "Bundes-agentur"
    assert B.charsplit("Haus", "de", 0.0) == "Haus"
    assert B.charsplit_norm("Bundes-agentur", "de") == "Bundes-Agentur"


def test_fewshot_prompt_and_parsing():
    prompt = B.fewshot_prompt("de", [{"word": "Haustür", "norm": "Haus-Tür"}], "Bundesagentur")
    assert prompt.endswith("Word: Haustür\nParts: Haus-Tür\n\nWord: Bundesagentur\nParts:")
    assert B.parse_answer(" Bund-Agentur\n\nWord: x") == "Bund-Agentur"


# -- config ------------------------------------------------------------------------------------------------
def test_cross_key_checks_name_the_file_and_key():
    p = PaperConfig("compoundpiece", ROOT).params("default")
    bad = json.loads(json.dumps(p))
    bad["llm"]["langs"] = ["sv", "fi"]
    bad["data"]["langs"] = ["de"]
    with pytest.raises(PaperdagError, match="llm.langs"):
        plan.check(bad, "config/papers/compoundpiece.yaml (scale default)")
    bad = json.loads(json.dumps(p))
    bad["baselines"]["charsplit_langs"] = ["sv"]
    with pytest.raises(PaperdagError, match="baselines.charsplit_langs"):
        plan.check(bad, "config/papers/compoundpiece.yaml")
    bad = json.loads(json.dumps(p))
    bad["data"]["min_part_len"] = 12
    with pytest.raises(PaperdagError, match="data.min_part_len"):
        plan.check(bad, "config/papers/compoundpiece.yaml")


def test_runs_are_independent_and_stage12_starts_from_its_runs_stage1():
    p = PaperConfig("compoundpiece", ROOT).params("default")
    assert len({plan.run_seed(p, r) for r in range(p["runs"])}) == p["runs"]
    assert plan.train_init("default", "stage12", "2") == ["results/default/compoundpiece/models/stage1-run2.safetensors"]
    assert plan.train_init("default", "stage2", "2") == []
    assert len(plan.eval_files("default", p)) == 3 * p["runs"]


def test_stage2_only_control_trains_at_least_as_long_as_stage12s_second_phase():
    p = PaperConfig("compoundpiece", ROOT).params("default")
    t2, t12 = plan.train_cfg(p, "stage2"), plan.train_cfg(p, "stage12")
    assert t2["steps"] == p["stage2"]["only_steps"] >= t12["steps"] == p["stage2"]["steps"]
    assert "only_steps" not in t2 and plan.train_cfg(p, "stage1")["steps"] == p["stage1"]["steps"]
    bad = json.loads(json.dumps(p))
    bad["stage2"]["only_steps"] = p["stage2"]["steps"] - 1
    with pytest.raises(PaperdagError, match="stage2.only_steps"):
        plan.check(bad, "config/papers/compoundpiece.yaml")


# -- the paper scale on local stand-ins ----------------------------------------------------------------------
def test_paper_scale_path_on_local_stand_ins(tmp_path):
    """The paper scale's loaders: the hub dataset (here a local save_to_disk copy with the
    `wiktionary` and `web` configs) and a ByT5 checkpoint by id (here a tiny random T5 folder)."""
    import datasets

    from paperdag.papers.compoundpiece import model as M

    wk = {"word": ["Haustür", "Bundesagentur", "Haus", "Schulbuch", "Tür", "Autotür"],
          "norm": ["Haus-Tür", "Bund-Agentur", "Haus", "Schule-Buch", "Tür", "Auto-Tür"],
          "segmentation": ["Haus-tür", "Bundes-agentur", "Haus", "Schul-buch", "Tür", "Auto-tür"],
          "lang": ["de"] * 6}
    root = tmp_path / "hub"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(wk),
                          "validation": datasets.Dataset.from_dict(wk)}).save_to_disk(str(root / "wiktionary"))
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"target": ["Haus-Tür", "Garten-Tor", "Tor", "Sonnen-Schein"], "lang": ["de"] * 4})}).save_to_disk(str(root / "web"))
    ckpt = tmp_path / "byt5"
    tiny = {"d_model": 16, "d_kv": 8, "d_ff": 32, "heads": 2, "encoder_layers": 1, "decoder_layers": 1, "dropout": 0.0}
    M.build_model(tiny, 0).save_pretrained(str(ckpt))
    p = PaperConfig("compoundpiece", ROOT).params("paper")
    p["data"].update(hub_dataset=str(root), langs=["de"], n_corpus=10)
    p["model"].update(hub_id=str(ckpt))
    for st in ("stage1", "stage2"):
        p[st].update(steps=2, batch_size=2, checkpoint_every=1)
    p["eval"]["batch_size"] = 4
    out = tmp_path / "r"
    data = str(out / "data/words.json")
    assert run_job("compoundpiece.data", {"output": {"data": data}}, p, 1) == 0
    d = json.loads(Path(data).read_text())
    assert d["sizes"]["test"] == 6 and d["sizes"]["web_train"] + d["sizes"]["web_valid"] == 4
    for variant in ("stage1", "stage12"):
        io = {"input": {"data": data, "init": [str(out / "models/stage1-run0.safetensors")] if variant == "stage12" else []},
              "output": {"model": str(out / f"models/{variant}-run0.safetensors"), "evals": str(out / f"evals/{variant}-run0.json")},
              "wildcards": {"variant": variant, "run": "0", "scale": "paper"}}
        assert run_job("compoundpiece.train", io, p, 1) == 0
    ev = json.loads((out / "evals/stage12-run0.json").read_text())
    assert set(ev["outputs"]) == {"Haustür", "Bundesagentur", "Haus", "Schulbuch", "Tür", "Autotür"}


def test_paper_scale_dry_run_asks_for_gpus(repo):
    from conftest import snakemake

    p = snakemake(repo, "-n", "-p", "--config", "scale=paper", "papers=[compoundpiece]")
    out = p.stdout + p.stderr
    assert "results/paper/compoundpiece/models/stage12-run0.safetensors" in out
    assert "gpu=1" in out


@pytest.mark.e2e
def test_smoke_end_to_end(repo):
    from conftest import snakemake

    snakemake(repo, "--config", "scale=smoke", "papers=[compoundpiece]")
    res = repo / "results/smoke/compoundpiece"
    m = json.loads((res / "metrics.json").read_text())
    assert m["checks"]["gold_rejoins"] == 1.0 and m["checks"]["web_eval_overlap"] == 0
    assert set(m["methods"]) >= {"identity", "frequency", "compound_split", "stage1", "stage2", "stage12"}
    assert m["methods"]["stage12"]["seg_avg"]["n"] == 3
    for f in ("main_accuracy", "llm_easy_hard", "hard_rate"):
        assert (res / f"figures/{f}.png").is_file()
    claims = json.loads((res / "claims.json").read_text())
    assert {"stage1_beats_unsupervised", "stage12_beats_stage2"} <= {c["id"] for c in claims["claims"]}
    # one config value reruns exactly its jobs: the SentencePiece vocabulary -> the tokenizer jobs
    # (one per run) and what reads them, never data, training or the baselines
    from conftest import dry_run_jobs

    cfg = repo / "config/papers/compoundpiece.yaml"
    cfg.write_text(cfg.read_text().replace("    spm: {vocab_size: 150}", "    spm: {vocab_size: 160}"))
    rules = [r for r, _ in dry_run_jobs(repo, "--config", "scale=smoke", "papers=[compoundpiece]")]
    assert rules.count("compoundpiece_tokenizers") == 3
    assert not {"compoundpiece_data", "compoundpiece_train", "compoundpiece_baselines"} & set(rules)

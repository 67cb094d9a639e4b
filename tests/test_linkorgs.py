"""linkorgs: the generator's truth, the package's maths on hand-made cases, the network methods on a
hand-made graph, the learned model on held-out organisations, config checks, and a smoke run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paperdag.core.errors import PaperdagError
from paperdag.papers.linkorgs import corpus as C
from paperdag.papers.linkorgs import matching as mt
from paperdag.papers.linkorgs import network as nw
from paperdag.papers.linkorgs import plan

CORPUS = dict(n_directory=120, n_registry_only=100, n_new=30, log_users_mean=3.5, zipf=1.2, omit_url_share=0.2, dissimilar_share=0.3, subsidiary_share=0.03, mistakes_per_org=0.5)
TASKS = dict(in_registry=0.6, n_val=20, n_test=40, n_regression=40, n_temporal=20, x_dissimilar_prob=0.3, x_perturb_prob=0.3, true_slope=2.5, outcome_noise=1.5)


@pytest.fixture(scope="module")
def corpus():
    return C.generate(CORPUS, 3)


# --- the generator ---------------------------------------------------------------------------


def test_every_alias_belongs_to_one_organisation(corpus):
    owner = {}
    for s, ns, org, kind in corpus["aliases"]:
        assert ns == C.normalize(s)
        assert owner.setdefault(ns, org) == org
    assert len(owner) == len(corpus["aliases"])
    for o in corpus["orgs"]:  # the org's alias list points back at it
        assert all(corpus["aliases"][a][2] == o["id"] for a in o["aliases"])
        assert corpus["aliases"][o["aliases"][0]][3] == "canonical"


def test_dissimilar_aliases_exist_and_share_almost_no_bigrams(corpus):
    dis = [(ns, org) for _, ns, org, kind in corpus["aliases"] if kind == "dissimilar"]
    assert len(dis) >= 0.15 * len(corpus["orgs"])
    for ns, org in dis:
        canon = C.normalize(corpus["orgs"][org]["core"])
        assert C.jaccard_sim(ns, canon) < 0.15


def test_directory_holds_only_snapshot_organisations(corpus):
    kinds = {o["id"]: o["kind"] for o in corpus["orgs"]}
    alias_org = [a[2] for a in corpus["aliases"]]
    for a, u, w in corpus["edges"]:
        assert kinds[u] == "directory" and w >= 1
        assert kinds[alias_org[a]] == "directory"  # new / registry-only organisations have no links
    own = sum(w for a, u, w in corpus["edges"] if alias_org[a] == u)
    assert own > 0.9 * sum(w for _, _, w in corpus["edges"])  # cross-links are a small minority


def test_tasks_truth_and_disjoint_lists(corpus):
    tk = C.tasks(corpus, TASKS, 3)
    ids = [set(tk[t]["x_org"].tolist()) for t in ("val", "test", "regression")]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])
    kinds = {o["id"]: o["kind"] for o in corpus["orgs"]}
    assert all(kinds[i] == "new" for i in tk["temporal"]["x_org"])
    truth = C.truth_pairs(tk["test"]["x_org"], tk["y_org"])
    assert truth.sum(1).max() <= 1  # one registry entry per organisation
    assert 0.4 < truth.any(1).mean() < 0.8  # ~in_registry of the x-names have a match
    ta = C.truth_pairs(tk["temporal"]["x_org"], tk["y_org"])
    assert ta.any(1).all()  # new firms are all registered


def test_soft_labels_match_the_formula():
    c = {"aliases": [("a", "a", 0, "canonical"), ("b", "b", 0, "typo"), ("c", "c", 1, "canonical")], "edges": [(0, 0, 3), (1, 0, 1), (1, 1, 1), (2, 1, 4)], "orgs": []}
    a, b, y = C.training_pairs(c, {0, 1}, 0.0, np.random.default_rng(0))
    got = {(x, z): v for x, z, v in zip(a, b, y)}
    # P(u|a)=(1,0), P(u|b)=(.5,.5), P(u|c)=(0,1): m(a,b)=.5, m(b,c)=.5
    assert got[("a", "b")] == pytest.approx(0.5) and got[("b", "c")] == pytest.approx(0.5)


# --- the package's maths on hand-made cases ---------------------------------------------------


def test_assess_counts_and_f2():
    truth = np.array([[1, 0, 0], [0, 1, 0]], bool)
    pred = np.array([[1, 1, 0], [0, 0, 0]], bool)
    r = mt.assess(pred, truth)
    assert (r["tp"], r["fp"], r["fn"], r["tn"], r["matched"]) == (1, 1, 1, 3, 2)
    p, rec = 0.5, 0.5
    assert r["f2"] == pytest.approx(5 * p * rec / (4 * p + rec))
    assert mt.assess(np.zeros_like(truth), truth)["f2"] == 0.0


def test_ks_on_a_hand_made_case():
    d = np.array([[0.1, 0.9], [0.8, 0.2]])
    assert mt.ks_statistic(d, np.eye(2, dtype=bool)) == pytest.approx(1.0)
    d2 = np.array([[0.1, 0.15], [0.8, 0.2]])  # matches {.1, .2}, non-matches {.15, .8}
    assert mt.ks_statistic(d2, np.eye(2, dtype=bool)) == pytest.approx(0.5)


def test_jaccard_distance_by_hand():
    # "abc" -> {ab, bc}; "abd" -> {ab, bd}: 1 - 1/3
    d = mt.jaccard_distance(["abc"], ["abd", "abc", "xyz"])
    assert d[0].tolist() == pytest.approx([2 / 3, 0.0, 1.0])
    assert mt.jaro_winkler_distance(["martha"], ["marhta"])[0, 0] == pytest.approx(1 - 0.9611, abs=1e-3)


def test_calibrated_threshold_is_the_package_quantile():
    s = np.arange(100, dtype=float).reshape(10, 10)  # nx = ny = 10: q = L * 10 / 100
    assert mt.calibrated_threshold(s, 2.0) == pytest.approx(np.quantile(s, 0.2))
    assert mt.calibrated_threshold(s, 1e-9) == pytest.approx(np.quantile(s, 1e-6))


def test_normalize_as_the_package():
    assert C.normalize("AT&T  Inc.") == "att inc"
    assert C.normalize("Müller-Lüdenscheidt GmbH") == "muller ludenscheidt gmbh"


# --- network methods on a hand-made graph -----------------------------------------------------


def test_bipartite_components_with_threshold():
    # aliases 0,1 -> url 10 (heavy); alias 2 -> url 10 with 1 user (cut at 2); 2,3 -> url 11
    ea = np.array([0, 1, 2, 2, 3])
    eu = np.array([10, 10, 10, 11, 11])
    ew = np.array([5.0, 3.0, 1.0, 4.0, 2.0])
    lab = nw.bipartite_components(5, ea, eu, ew, min_users=2)
    assert lab[0] == lab[1] and lab[2] == lab[3] and lab[0] != lab[2] and lab[4] == -1
    lab1 = nw.bipartite_components(5, ea, eu, ew, min_users=1)
    assert len({lab1[0], lab1[1], lab1[2], lab1[3]}) == 1


def test_mcl_splits_two_cliques_joined_by_a_weak_edge():
    m = np.zeros((6, 6))
    for block in ((0, 1, 2), (3, 4, 5)):
        for i in block:
            for j in block:
                if i != j:
                    m[i, j] = 1.0
    m[2, 3] = m[3, 2] = 0.1
    lab = nw.mcl(m, inflation=2.0)
    assert len(set(lab[:3])) == 1 and len(set(lab[3:])) == 1 and lab[0] != lab[3]


def test_markov_clusters_on_a_shared_url_graph():
    # aliases 0-2 share url 0; aliases 3-5 share url 1; alias 2 also (weakly) on url 1
    ea = np.array([0, 1, 2, 3, 4, 5, 2])
    eu = np.array([0, 0, 0, 1, 1, 1, 1])
    ew = np.array([10.0, 10, 10, 10, 10, 10, 1])
    lab = nw.markov_clusters(6, ea, eu, ew, inflation=2.0)
    assert lab[0] == lab[1] == lab[2] and lab[3] == lab[4] == lab[5] and lab[0] != lab[3]


def test_network_linking_by_hand():
    canon = np.array([7, 7, 8])  # aliases 0,1 -> org 7; alias 2 -> org 8
    dx = np.array([[0.1, 0.5, 0.9]])  # x near alias 0 (and alias 1 within threshold)
    dy = np.array([[0.9, 0.2, 0.9], [0.9, 0.9, 0.0]])  # y0 near alias 1, y1 is alias 2
    hx = nw.alias_hits(dx, canon, 0.6)
    assert list(zip(*hx)) == [(0, 7, pytest.approx(0.1))]  # closest alias per (name, id)
    hy = nw.alias_hits(dy, canon, 0.6)
    d = nw.network_distance(hx, hy, 1, 2, 1.5)
    assert d[0, 0] == pytest.approx(1.5 * 0.2) and np.isinf(d[0, 1])


# --- the learned model --------------------------------------------------------------------------


def test_learned_model_beats_chance_on_held_out_organisations(corpus):
    import torch

    from paperdag.papers.linkorgs import model as M

    torch.set_num_threads(1)
    dir_ids = sorted(o["id"] for o in corpus["orgs"] if o["kind"] == "directory")
    held = set(dir_ids[:20])
    rng = np.random.default_rng(0)
    a, b, y = C.training_pairs(corpus, set(dir_ids) - held, 1.0, rng)
    ah, bh, yh = C.training_pairs(corpus, held, 1.0, rng)
    cfg = dict(dim=32, layers=2, out_dim=32, lr=0.003, steps=250, batch=50, hard_share=0.5, pool_factor=2, label_smoothing=0.1, neg_per_pos=1.0)
    model, info = M.train(a, b, y, cfg, seed=0)
    d = np.sqrt(((M.embed(model, ah) - M.embed(model, bh)) ** 2).mean(1))
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(yh > 0, -d)
    assert auc > 0.75, auc  # chance is 0.5
    assert np.mean(info["loss"][-50:]) < np.mean(info["loss"][:50])


def test_ols_recovers_a_slope():
    from paperdag.papers.linkorgs.evaluate import ols

    x = np.linspace(-2, 2, 200)
    r = ols(x, 1 + 2.5 * x + np.random.default_rng(0).normal(0, 0.1, 200))
    assert r["lo"] < 2.5 < r["hi"] and abs(r["slope"] - 2.5) < 0.02


# --- config checks --------------------------------------------------------------------------------


def _p():
    return {"corpus": dict(CORPUS), "tasks": dict(TASKS), "levels": [0.1, 1.0], "model": {"batch": 50}}


def test_cross_key_checks_name_the_key():
    p = _p()
    p["tasks"]["n_test"] = 500
    with pytest.raises(PaperdagError, match="corpus.n_directory"):
        plan.check(p, "config/papers/linkorgs.yaml (scale smoke)")
    p = _p()
    p["tasks"]["n_temporal"] = 99
    with pytest.raises(PaperdagError, match="tasks.n_temporal"):
        plan.check(p, "config/papers/linkorgs.yaml")
    p = _p()
    p["levels"] = [1.0, 0.1]
    with pytest.raises(PaperdagError, match="levels"):
        plan.check(p, "config/papers/linkorgs.yaml")
    plan.check(_p(), "config/papers/linkorgs.yaml")


def test_run_seeds_are_distinct():
    p = {"seed": 5, "runs": 3}
    assert [plan.run_seed(p, r) for r in range(3)] == [5, 6, 7]
    assert plan.eval_files("smoke", p)[2] == "results/smoke/linkorgs/evals/run2.json"


# --- end to end -------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_smoke_pipeline_and_reruns(repo):
    from conftest import dry_run_jobs, snakemake

    snakemake(repo, "--config", "scale=smoke", "papers=[linkorgs]")
    base = repo / "results/smoke/linkorgs"
    m = json.loads((base / "metrics.json").read_text())
    assert m["n"]["runs"] == 3 and set(m["f2"]["test"]) >= {"fuzzy_jaccard", "bipartite_ml", "lookup", "minilm"}
    led = {c["id"]: c for c in json.loads((base / "claims.json").read_text())["claims"]}
    assert led["truth_slope"]["kind"] == "check"
    for f in ("figures/task1_curves.png", "figures/coefficients.png", "figures/runtime.png", "tables/task1.md", "tables/temporal.md", "tables/ks.md", "tables/curves.csv", "timing.json"):
        assert (base / f).stat().st_size > 0
    first = (base / "metrics.json").read_bytes()
    # a network key reruns exactly the evaluations (and what reads them), not corpus/train/embed
    jobs = dry_run_jobs(repo, "--config", "scale=smoke", "papers=[linkorgs]", "--forcerun", "linkorgs_evaluate")
    assert {r for r, _ in jobs} >= {"linkorgs_evaluate"} and not {r for r, _ in jobs} & {"linkorgs_corpus", "linkorgs_train", "linkorgs_embed"}
    cfg = repo / "config/papers/linkorgs.yaml"
    cfg.write_text(cfg.read_text().replace("inflation: 2.0 ", "inflation: 2.5 "))
    jobs = dry_run_jobs(repo, "--config", "scale=smoke", "papers=[linkorgs]")
    rules = {r for r, _ in jobs}
    assert "linkorgs_evaluate" in rules and not rules & {"linkorgs_corpus", "linkorgs_train", "linkorgs_embed"}
    cfg.write_text(cfg.read_text().replace("inflation: 2.5 ", "inflation: 2.0 "))
    (base / "metrics.json").unlink()
    snakemake(repo, "--config", "scale=smoke", "papers=[linkorgs]", "--forcerun", "linkorgs_metrics")
    assert (base / "metrics.json").read_bytes() == first  # deterministic


# --- the paper scale on stand-ins -----------------------------------------------------------------


def test_paper_scale_trains_on_released_pair_files(tmp_path):
    """The released files' layout (HF cjerzak/LinkOrgs: duplicated `from` column, name1/name2,
    matchProb) read by the paper-scale path, and a few training steps on them."""
    from paperdag.papers.linkorgs import model as M

    head = "from,to1,weight1,name1,to_key1,from,to2,weight2,name2,key2,matchProb\n"
    pos = tmp_path / "PosMatches_mat.csv"
    neg = tmp_path / "NegMatches_mat.csv"
    rows = [("Fannie Mae", "Federal National Mortgage Association", 0.9), ("IBM", "International Business Machines", 1.0), ("Acme Inc.", "ACME", 0.7), ("same", "SAME", 1.0)]
    pos.write_text(head + "".join(f"{k},u{k},3,{a},k{k},{k},u{k},2,{b},k{k},{m}\n" for k, (a, b, m) in enumerate(rows)))
    neg.write_text("from,name1,name2\n" + "".join(f"{k},{a},{b}\n" for k, (a, b) in enumerate([("Apple", "Shell plc"), ("Siemens AG", "Toyota")])))
    a, b, y = M.released_pairs(str(pos), str(neg))
    assert a[0] == "fannie mae" and b[1] == "international business machines"
    assert "same" not in a and y.tolist() == pytest.approx([0.9, 1.0, 0.7, 0.0, 0.0])
    cfg = dict(dim=8, layers=1, out_dim=8, lr=0.01, steps=5, batch=4, hard_share=0.5, pool_factor=2, label_smoothing=0.1, neg_per_pos=1.0)
    model, info = M.train(a, b, y, cfg, seed=0)
    assert len(info["loss"]) == 5 and M.embed(model, a).shape == (5, 8)


def test_paper_scale_config_validates():
    from paperdag.core.config import PaperConfig

    cfg = PaperConfig("linkorgs")
    p = cfg.params("paper")
    assert p["released"]["pos"].startswith("hf://datasets/cjerzak/LinkOrgs/")
    assert cfg.params("default")["released"]["pos"] is None

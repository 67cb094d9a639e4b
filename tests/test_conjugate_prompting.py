"""conjugate_prompting: the closed-form Bayes references against brute-force numerics, the
conjugate (label-scaling) transform, the model's causal masking, resumable training, the prompt
transforms of the LM probe, and the LM code path on a tiny stand-in."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from paperdag.papers.conjugate_prompting import bayes, icl, languages, lm_probe

LOG = logging.getLogger("test")


def _prompts(rng, B, K, d, W=None, tau=1.0, sigma=1.0):
    X = rng.standard_normal((B, K, d))
    w = W[rng.integers(len(W), size=B)] if W is not None else tau * rng.standard_normal((B, d))
    y = np.einsum("bkd,bd->bk", X, w) + sigma * rng.standard_normal((B, K))
    return X, y, w


def test_ridge_is_least_squares_on_a_large_sample():
    rng = np.random.default_rng(0)
    d, n = 5, 1500
    X, y, w = _prompts(rng, 1, n + 1, d, sigma=0.5)
    wr = bayes.ridge_weights(X, y, sigma=0.5, tau=1.0)[0, n]  # prefix of n examples
    ols = np.linalg.lstsq(X[0, :n], y[0, :n], rcond=None)[0]
    assert np.allclose(wr, ols, atol=2e-3)
    assert np.linalg.norm(wr - w[0]) < 0.1  # and it recovers the true task
    # exact identity: ridge = least squares on the system augmented with sqrt(lambda) I
    k = 7
    lam = 0.5**2 / 1.0**2
    A = np.vstack([X[0, :k], np.sqrt(lam) * np.eye(d)])
    b = np.concatenate([y[0, :k], np.zeros(d)])
    assert np.allclose(bayes.ridge_weights(X[:, : k + 1], y[:, : k + 1], 0.5, 1.0)[0, k], np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-10)


def test_ridge_is_the_posterior_mean_by_importance_sampling():
    rng = np.random.default_rng(1)
    d, k, sigma, tau = 3, 4, 1.0, 1.0
    X, y, _ = _prompts(rng, 1, k + 1, d)
    ws = tau * rng.standard_normal((400_000, d))  # prior samples
    logw = -((y[0, :k][None] - ws @ X[0, :k].T) ** 2).sum(1) / (2 * sigma**2)
    p = np.exp(logw - logsumexp(logw))
    mc = p @ ws
    assert np.allclose(bayes.ridge_weights(X, y, sigma, tau)[0, k], mc, atol=0.02)


def test_continuous_marginal_likelihood_matches_monte_carlo():
    rng = np.random.default_rng(2)
    d, K, sigma, tau = 3, 4, 1.0, 1.0
    X, y, _ = _prompts(rng, 3, K, d)
    closed = bayes.log_marginal_continuous(X, y, sigma, tau)
    ws = tau * rng.standard_normal((400_000, d))
    for b in range(3):
        for k in range(1, K):
            r = y[b, :k][None] - ws @ X[b, :k].T
            ll = -(r**2).sum(1) / (2 * sigma**2) - 0.5 * k * np.log(2 * np.pi * sigma**2)
            assert abs(logsumexp(ll) - np.log(len(ws)) - closed[b, k]) < 0.03
    assert np.all(closed[:, 0] == 0)


def test_posterior_mixture_weight_is_calibrated_monte_carlo():
    """Sample prompts from the mixture prior itself: among prompts whose posterior P(discrete)
    is about p, a fraction p must really come from the discrete prior."""
    rng = np.random.default_rng(3)
    d, K, n, alpha = 4, 5, 40_000, 0.3
    W = rng.standard_normal((8, d))
    is_disc = rng.random(n) < alpha
    X = rng.standard_normal((n, K, d))
    w = np.where(is_disc[:, None], W[rng.integers(8, size=n)], rng.standard_normal((n, d)))
    y = np.einsum("bkd,bd->bk", X, w) + rng.standard_normal((n, K))
    pi = bayes.posterior_discrete(X, y, W, 1.0, 1.0, alpha)
    assert np.allclose(pi[:, 0], alpha)
    for k in (1, 3, K - 1):
        bins = np.clip((pi[:, k] * 5).astype(int), 0, 4)
        for j in range(5):
            m = bins == j
            if m.sum() > 500:
                assert abs(is_disc[m].mean() - pi[m, k].mean()) < 0.03, (k, j)


def test_discrete_regression_and_mixture_are_bayes_optimal():
    rng = np.random.default_rng(4)
    d, K, n, alpha = 4, 8, 6000, 0.5
    W = rng.standard_normal((8, d))
    Xc, yc, _ = _prompts(rng, n, K, d)
    Xd, yd, _ = _prompts(rng, n, K, d, W=W)
    X, y = np.concatenate([Xc, Xd]), np.concatenate([yc, yd])
    pr = bayes.predict_all(X, y, W, 1.0, 1.0, alpha)
    mse = {r: ((pr[r] - y)[:, 1:] ** 2).mean() for r in ("ridge", "discrete", "mixture")}
    assert mse["mixture"] < mse["ridge"] and mse["mixture"] < mse["discrete"]
    prd = bayes.predict_all(Xd, yd, W, 1.0, 1.0, alpha)
    assert ((prd["discrete"] - yd) ** 2).mean() < ((prd["ridge"] - yd) ** 2).mean()
    # with almost no noise, discrete regression identifies the task after a few examples
    Xs, ys, ws = _prompts(rng, 50, 4, d, W=W, sigma=1e-3)
    assert np.allclose(bayes.discrete_weights(Xs, ys, W, 1e-2)[0][:, 3], ws, atol=1e-6)


def test_label_scaling_leaves_ridge_prediction_unchanged_but_not_discrete():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 3))
    X, y, _ = _prompts(rng, 50, 10, 3, W=W)
    for g in (0.5, 2.0, 3.0):
        assert np.allclose(bayes.ridge_weights(X, g * y, 1.0, 1.0) / g, bayes.ridge_weights(X, y, 1.0, 1.0))
        pr, prg = bayes.predict_all(X, y, W, 1.0, 1.0, 0.5), bayes.predict_all(X, g * y, W, 1.0, 1.0, 0.5)
        assert np.allclose(prg["ridge"] / g, pr["ridge"])
        assert not np.allclose(prg["discrete"] / g, pr["discrete"], atol=1e-3)
    # scaling labels up makes discrete tasks implausible: the posterior moves to "continuous"
    assert bayes.posterior_discrete(X, 3 * y, W, 1.0, 1.0, 0.5)[:, 5:].mean() < bayes.posterior_discrete(X, y, W, 1.0, 1.0, 0.5)[:, 5:].mean()


P = dict(dim=3, prompt_len=6, n_tasks=4, tau=1.0, sigma=1.0, alpha=0.5, tasks_seed=1, model=dict(width=16, layers=2, heads=2))


def test_model_prediction_at_k_sees_only_the_first_k_labels():
    torch.manual_seed(0)
    m = icl.build_model(P).eval()
    X, y = torch.randn(2, 6, 3), torch.randn(2, 6)
    base = m(X, y)
    for j in range(6):
        y2, X2 = y.clone(), X.clone()
        y2[:, j] += 5.0  # label j may only affect predictions at positions > j
        X2[:, j] += 5.0  # input j may only affect predictions at positions >= j
        with torch.no_grad():
            a, b = m(X, y2), m(X2, y)
        assert torch.allclose(a[:, : j + 1], base[:, : j + 1], atol=1e-6)
        assert not torch.allclose(a[:, j + 1 :], base[:, j + 1 :]) or j == 5
        assert torch.allclose(b[:, :j], base[:, :j], atol=1e-6)
    Xn, yn = X.double().numpy(), y.double().numpy()
    assert np.allclose(icl.predict(m, Xn, yn, 1.0), base.detach().numpy(), atol=1e-6)
    with torch.no_grad():
        scaled = m(X, 2 * y).double().numpy() / 2
    assert np.allclose(icl.predict(m, Xn, yn, 2.0), scaled, atol=1e-6)


def test_rotations_are_orthogonal():
    Q = icl.random_rotations(20, 5, 0)
    assert np.allclose(np.einsum("bij,bkj->bik", Q, Q), np.eye(5)[None], atol=1e-10)


def test_training_resumes_bit_identically(tmp_path):
    W = icl.discrete_tasks(P)
    t = dict(lr=1e-3, batch_size=8, checkpoint_every=2, log_every=2, seed=0)

    def run(rdir, interrupt_at=None):
        torch.manual_seed(0)
        m = icl.build_model(P)

        def boom(step, _):
            raise KeyboardInterrupt

        try:
            icl.train(m, P, W, "mix", 6, t, rdir, "x", LOG, snapshots={interrupt_at} if interrupt_at else (), on_snapshot=boom)
        except KeyboardInterrupt:
            torch.manual_seed(123)  # a resumed process starts from a different global RNG state
            m = icl.build_model(P)
            icl.train(m, P, W, "mix", 6, t, rdir, "x", LOG)
        return m.state_dict()

    a = run(tmp_path / "a")
    b = run(tmp_path / "b", interrupt_at=5)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not list((tmp_path / "a").glob("*.safetensors"))  # checkpoint removed when done


def test_discrete_task_set_is_fixed_by_its_seed():
    assert np.array_equal(icl.discrete_tasks(P), icl.discrete_tasks(dict(P)))
    assert not np.array_equal(icl.discrete_tasks(P), icl.discrete_tasks(dict(P, tasks_seed=2)))


# ---------------------------------------------------------------- LM probe: transforms, prompts
def _english_texts():
    return languages.SENTENCES["en"] + [languages.TEMPLATES["en"]["math"].format(a=12, b=7)] + [v for k, v in languages.TEMPLATES["en"].items() if k != "math"]


def test_pig_latin_rules_and_inverse():
    assert languages.to_pig_latin("What is 12 plus 7?") == "Atwhay isway 12 usplay 7?"
    assert languages.to_pig_latin("apple string") == "appleway ingstray"
    vocab = languages.english_vocab()
    for t in _english_texts():
        assert languages.from_pig_latin(languages.to_pig_latin(t), vocab) == t
    # capitalising commutes with the transform, so the ICL answer is the same in both orders
    assert languages.to_pig_latin("WHAT") == languages.to_pig_latin("What").upper()


def test_leetspeak_rules_and_inverse():
    assert languages.to_leetspeak("What is 12 plus 7?") == "Wh@+ 1$ 12 plu$ 7?"
    for t in _english_texts():
        lt = languages.to_leetspeak(t)
        assert languages.from_leetspeak(lt) == t
        assert lt != t or not any(c in t for c in "aeiost")


def test_languages_are_parallel():
    n = len(languages.SENTENCES["en"])
    for lang in ("fr", "es", "de", "pl", "ls"):
        sents, tpl = languages.material(lang)
        assert len(sents) == n and set(tpl) == set(languages.TEMPLATES["en"])
        assert "{a}" in tpl["math"] and "{b}" in tpl["math"]


def test_prompts_answers_and_scoring():
    en = lm_probe.build_prompts("en", "capitalize", "math", 5, 2, 10)
    fr = lm_probe.build_prompts("fr", "capitalize", "math", 5, 2, 10)
    for e, f in zip(en, fr):
        assert e["if_answer"] == f["if_answer"]  # same numbers in every language
        assert e["prompt"].count("Input:") == 3 and e["prompt"].endswith("Output:")
        assert e["answer"] == "WHAT" and f["answer"] == "COMBIEN"
    rep = lm_probe.build_prompts("pl", "repeat", "math", 2, 2, 10)
    assert rep[0]["answer"] == "Atwhay"
    assert lm_probe.is_correct(" WHAT IS 3", "WHAT") and not lm_probe.is_correct(" 19", "WHAT")
    assert not any("Repeat" in t or "Capitalize" in t for t in lm_probe.instruction_data(200, 0))


def test_lm_code_path_on_a_tiny_stand_in(tmp_path):
    """The default-scale path (load a local model folder, LoRA fine-tune, merge, batched greedy
    generation, summary) and the paper-scale path (two hub ids; here local folders) on a tiny
    random Llama."""
    lm = dict(seed=0, icl_tasks=["repeat"], if_tasks=["math"], languages=["en", "pl"], n_prompts=3, shots=2, max_new_tokens=2, batch_size=2,
              finetune=dict(steps=2, batch_size=2, lr=1e-3, lora_r=2, lora_alpha=4, lora_targets=["q_proj", "v_proj"], checkpoint_every=1))
    lm_probe.build_tiny(tmp_path / "tiny", dict(vocab_size=350, hidden_size=16, layers=1, heads=2), 0)
    model, tok = lm_probe.load_lm(str(tmp_path / "tiny"), verify=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state, curve = lm_probe.finetune(model, tok, lm["finetune"], 0, LOG, tmp_path / "res")
    assert len(curve) == 2 and state and all("lora" in k for k in state)
    from paperdag.core.io import save_tensors

    save_tensors(tmp_path / "ad.safetensors", state)
    m0, tok = lm_probe.load_lm(str(tmp_path / "tiny"), verify=False)
    assert all(torch.equal(before[k], v) for k, v in m0.state_dict().items())
    pre = lm_probe.run_probe(m0, tok, lm, LOG)
    merged = lm_probe.with_adapter(m0, str(tmp_path / "ad.safetensors"), lm["finetune"])
    ft = lm_probe.run_probe(merged, tok, lm, LOG)
    gens = lm_probe.generate(merged, tok, ["Input: a", "Input: a longer prompt here"], 2, 2)
    assert gens == lm_probe.generate(merged, tok, ["Input: a", "Input: a longer prompt here"], 2, 1)  # padding does not change outputs
    out = lm_probe.summarise(pre, [ft, ft], lm, {"pretrained": "a", "finetuned": "b"})
    # n counts the fine-tune runs (here 2), never the 3 prompts per cell
    assert len(out["table"]) == 2 and out["claims_inputs"]["lm_drop_en_minus_others"]["n"] == 2
    # paper scale: the probe stage loads the two models by hub id; here local stand-ins
    import types

    from paperdag.core.io import read_json

    lm_hub = dict(lm, source="hub", hub={"pretrained": str(tmp_path / "tiny"), "finetuned": str(tmp_path / "tiny")})
    res = {}
    for which in ("pre", "run0"):
        ctx = types.SimpleNamespace(params={"lm": lm_hub}, input={}, output=types.SimpleNamespace(lm=str(tmp_path / f"probe-{which}.json")), log=LOG,
                                    wildcards={"which": which})
        lm_probe.probe_stage(ctx)
        res[which] = read_json(tmp_path / f"probe-{which}.json")
    assert res["pre"]["model"] == str(tmp_path / "tiny")
    out = lm_probe.summarise(res["pre"]["cells"], [res["run0"]["cells"]], lm_hub, {"pretrained": "a", "finetuned": "b"})
    assert all(r["drop"] == 0 for r in out["table"])  # the same model twice: no drop
    assert out["claims_inputs"]["lm_drop_en"]["n"] == 1  # one published checkpoint: n = 1


def _cells(acc: dict, n: int = 4) -> dict:
    """Probe cells with a given number of correct prompts out of n, per language."""
    return {f"repeat|math|{la}": {"correct": [i < k for i in range(n)], "if_answer": [False] * n} for la, k in acc.items()}


def test_lm_summary_counts_fine_tune_runs_and_averages_them_by_hand():
    lm = dict(icl_tasks=["repeat"], if_tasks=["math"], languages=["en", "pl", "ls"])
    pre = _cells({"en": 4, "pl": 4, "ls": 2})                          # 100, 100, 50 %
    fts = [_cells({"en": 0, "pl": 4, "ls": 2}), _cells({"en": 2, "pl": 2, "ls": 2})]  # run 0, run 1
    out = lm_probe.summarise(pre, fts, lm, {"pretrained": "a", "finetuned": "b"})
    ci = out["claims_inputs"]
    # English drop per run: 100 and 50 -> mean 75, std sqrt(1250), n = 2 runs
    assert ci["lm_drop_en"]["mean"] == pytest.approx(75.0) and ci["lm_drop_en"]["n"] == 2
    assert ci["lm_drop_en"]["std"] == pytest.approx(np.std([100, 50], ddof=1))
    # drop in the others: run 0: (0 + 0) / 2 = 0; run 1: (50 + 0) / 2 = 25 -> en minus others 100, 25
    assert out["summary"]["per_run"]["lm_drop_en_minus_others"] == pytest.approx([100.0, 25.0])
    # fine-tuned gain of the transforms over English: run 0: 75 - 0; run 1: 50 - 50
    assert out["summary"]["per_run"]["lm_conjugate_gain_finetuned"] == pytest.approx([75.0, 0.0])
    en = [r for r in out["table"] if r["language"] == "English"][0]
    assert en["finetuned_acc"] == pytest.approx(25.0) and en["runs"] == 2 and en["n_prompts"] == 4


def test_synthetic_claims_count_training_runs_not_prompts():
    from paperdag.papers.conjugate_prompting import synthetic

    p = dict(prompt_len=4, dim=2, sigma=1.0, finetune={"snapshots": [5]}, eval={"gammas": [1.0, 2.0]}, claims={"finetune_step": 5, "gamma": 2.0, "pi_bins": [0.0, 0.5, 1.0]})
    rng = np.random.default_rng(0)

    def run(shift):  # 50 prompts; fine-tuning adds `shift` to every D_cont loss
        L = {}
        for dist in ("cont", "disc"):
            for r in ("ridge", "discrete", "mixture"):
                L[f"ref|{dist}|{r}"] = rng.random((50, 4))
            L[f"pi|{dist}"] = rng.random((50, 4))
            for m in ("pre", "ft5"):
                for t in ("g1", "g2", "rot"):
                    L[f"{m}|{dist}|{t}"] = np.ones((50, 4))
        L["taskdist|cont"] = rng.random(50)
        L["ft5|cont|g1"] = L["ft5|cont|g1"] + shift
        return L

    syn, ci = synthetic.summarise([run(0.1), run(0.2), run(0.3)], p)
    assert ci["ft_cont_increase"]["n"] == 3  # three runs, not 150 prompts
    assert ci["ft_cont_increase"]["mean"] == pytest.approx(0.2) and ci["ft_cont_increase"]["std"] == pytest.approx(0.1)
    assert syn["per_run"]["ft_cont_increase"] == pytest.approx([0.1, 0.2, 0.3])
    assert syn["mean_loss"]["cont"]["ft5"]["g1"] == pytest.approx(1.2) and syn["runs"] == 3

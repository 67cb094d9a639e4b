"""cogex: the generator's truth (programs executed under the hidden reference), the output parser,
CoTACS selection / voting / Figure 2 simulation on hand-made score matrices, the sandbox against
hostile programs, the config's cross-key checks, the paper-scale path (hub model + peft LoRA) on a
tiny local stand-in, and one end-to-end smoke run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

from paperdag.core.errors import PaperdagError
from paperdag.papers.cogex import cotacs, plan, tasks as T
from paperdag.papers.cogex.sandbox import execute


# ------------------------------------------------------------------------------------- generator
def test_generator_programs_run_under_the_hidden_reference_give_the_stated_outputs():
    rng = np.random.default_rng(3)
    jobs, want = [], []
    for fam in T.FAMILIES:
        for style in T.STYLES:
            for _ in range(4):
                x = T.make_input(fam, rng)
                r = T.render_item(fam, x, style)
                jobs.append({"program": r["program"], "args": [x]})
                want.append(r["output_text"])
    res = execute(jobs)
    assert res["status"] == "ok"
    import ast

    assert [T.serialize(ast.literal_eval(row[0]["value"])) for row in res["results"]] == want


def test_generator_hand_cases_and_styles():
    assert T.true_answer("coin", "Ann flips. Bob holds. Cy tosses.") == "yes"  # two flips: heads again
    assert T.true_answer("coin", "Ann turns. Bob keeps.") == "no"
    assert T.true_answer("sum", 12345) == "15" and T.true_answer("sum", 999999) == "54"
    assert T.true_answer("wsort", "pearl apple kite") == "apple kite pearl"
    assert T.true_answer("emotion", "the man felt glad then sad then happy") == "joy"
    assert T.true_answer("accept", "the dog sees a cat") == "yes" and T.true_answer("accept", "dog the sees a cat") == "no"
    assert T.true_answer("social", "Ann is hungry. (a) doctor (b) chef (c) guide") == "b"
    r = T.render_item("sum", 12345, "sloppy")
    assert r["output"] == {"digits": [2, 3, 4, 5], "sums": [2, 5, 9, 14], "answer": 14}
    s = T.render_item("sum", 12345, "specific")
    assert "digits = [1, 2, 3, 4, 5]" in s["program"] and s["call"] == "digit_total()"
    task = T.eval_task("sum", 10, 10, seed=1)
    assert all(len(str(x["input"])) == 5 for x in task["pool"]) and all(len(str(x["input"])) == 6 for x in task["test"])
    assert task["instruction"] == T.INSTRUCTIONS["sum"][3]
    items = T.corpus(5, {"general": 0.4, "specific": 0.3, "sloppy": 0.3}, seed=0)
    assert not any(T.INSTRUCTIONS[f][3] in it["prompt"] for it in items for f in T.FAMILIES)  # held-out instruction


# ---------------------------------------------------------------------------------------- parser
@pytest.mark.parametrize("text,expected", [
    (">>> f(1)\n### Output\n{'digits': [1], 'sums': [1], 'answer': 1}\n", "1"),
    (">>> f('x')\n### Output\n{'need': 'food', 'helper': 'chef', 'answer': 'B'}", "b"),
    (">>> f()\n### Output\n{'tags': ['det', 'noun'], 'answer': 'yes'", "yes"),  # truncated: regex fallback
    (">>> f()\n### Output\n{'words': ['a', 'answer': 'apple kite'}", "apple kite"),  # malformed, answer readable
    (">>> f()\n### Output\n{'words': ['a', 'b'", None),  # no answer at all: a scored failure
    (">>> f()\n### Output\n{{{{[[[(((", None),
    ("", None),
    (None, None),
    (">>> f()\n### Output\n['answer', 3]", None),  # not a dict
])
def test_output_parser_hand_cases(text, expected):
    assert cotacs.parse_output(text) == expected


def test_program_and_response_helpers():
    assert cotacs.program_of("def f(x):\n    return 1\n>>> f(2)\n### Output\n{}") == "def f(x):\n    return 1\n"
    assert cotacs.parse_response(" Apple  Kite \nmore") == "apple kite"
    assert cotacs.parse_response("") is None


# ---------------------------------------------------------------------------------------- CoTACS
def test_selection_and_voting_on_a_hand_made_score_matrix():
    # 4 candidates x 6 pool items; TrainSet = items 0-1, DevSet = items 2-5
    cp = np.array([[1, 1, 0, 0, 0, 1],   # train 1.0, dev 0.25
                   [0, 0, 1, 1, 1, 1],   # train 0.0, dev 1.0  (dropped by alpha = 0.5)
                   [1, 0, 1, 1, 0, 1],   # train 0.5, dev 0.75
                   [1, 0, 1, 1, 0, 1]], dtype=float)  # same as 2: tie -> the earlier candidate
    tr, dev = [0, 1], [2, 3, 4, 5]
    assert cotacs.select_top(cp, tr, dev, 1, alpha=0.0) == [1]
    assert cotacs.select_top(cp, tr, dev, 1, alpha=0.5) == [2]
    assert cotacs.select_top(cp, tr, dev, 3, alpha=0.5) == [2, 3, 0]
    assert cotacs.select_top(cp, tr, dev, 1, alpha=1.1) == [1]  # nobody qualifies: all are eligible
    # voting: majority, None abstains, ties at random with a seeded generator
    rows = [["a", "x", None, "p"], ["a", "y", None, "q"], ["b", "y", "z", None]]
    out = cotacs.vote(rows, np.random.default_rng(0))
    assert out[:3] == ["a", "y", "z"] and out[3] in ("p", "q")
    picks = {cotacs.vote([["p"], ["q"]], np.random.default_rng(s))[0] for s in range(20)}
    assert picks == {"p", "q"}  # a tie is broken at random, not always the same way
    assert cotacs.vote([[None], [None]], np.random.default_rng(0)) == [None]
    ans_test = [["1", "2", "3"], ["1", "0", "0"], ["1", "2", "0"], ["9", "2", "3"]]
    acc, chosen = cotacs.cotacs_accuracy(ans_test, ["1", "2", "3"], cp, tr, dev, 1, 0.5, 0)
    assert chosen == [2] and acc == pytest.approx(2 / 3)
    acc3, chosen3 = cotacs.cotacs_accuracy(ans_test, ["1", "2", "3"], cp, tr, dev, 3, 0.5, 0)
    assert chosen3 == [2, 3, 0] and acc3 == pytest.approx(1.0)  # votes: 1 (2 of 3), 2 (3 of 3), 3 (2 of 3)


def test_figure2_simulation_on_a_hand_made_matrix():
    cp = np.array([[1, 1, 1, 1], [0, 0, 0, 0]], dtype=float)
    ct = np.array([[1, 1], [0, 0]], dtype=float)
    sim = cotacs.simulate(cp, ct, [1, 4], [1, 2], trials=200, seed=0)
    assert sim["2"] == [1.0, 1.0]  # with both candidates the good one always wins
    assert 0.35 < sim["1"][0] < 0.65 and 0.35 < sim["1"][1] < 0.65  # one random candidate: half the time
    sim3 = cotacs.simulate(cp, ct, [1], [3], trials=5, seed=0)
    assert sim3 == {}  # more candidates than exist: skipped


def test_bm25_retrieves_the_most_similar_items():
    pool = ["Ann flips. Bob holds.", "the dog sees a cat", "Eve tosses. Cy keeps. Jo flips."]
    assert cotacs.bm25_shots(pool, ["the cat sees a dog"], k=2)[0][0] == 1
    assert cotacs.bm25_shots(pool, ["Jo flips. Eve tosses."], k=1) == [[2]]


# --------------------------------------------------------------------------------------- sandbox
# Every hostile program first switches the driver's audit hook off (its code object swapped, its
# tables emptied), as a program with the whole language can: what stops it must be the jail.
DISARM = ("import sys\nm = sys.modules['__main__']\n"
          "m._hook.__code__ = (lambda event, args: None).__code__\n"
          "m.BLOCKED_EVENTS, m.PATH_EVENTS = (), ()\nm.BLOCKED_MODULES.clear()\n")


def _hostile(body: str) -> str:
    import textwrap

    return "def f(x):\n" + textwrap.indent(DISARM + textwrap.dedent(body), "    ")


def test_sandbox_holds_against_programs_with_the_whole_language(tmp_path):
    import socket

    canary = tmp_path / "canary.txt"
    canary.write_text("alive")
    results = tmp_path / "results"
    results.mkdir()
    pwned = tmp_path.parent / f"cogex_pwned_{tmp_path.name}"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    forged = json.dumps({"task": 0, "results": [[{"value": "forged"}]]})
    progs = {
        "disarmed": _hostile("import socket\nreturn 'hook off'\n"),
        "write_results": _hostile(f"open({str(results / 'evil.txt')!r}, 'w').write('x')\nreturn 1\n"),
        "remove_canary": _hostile(f"import os\nos.remove({str(canary)!r})\nreturn 1\n"),
        "read_canary": _hostile(f"return open({str(canary)!r}).read()\n"),
        "read_checkout": _hostile(f"return open({str(ROOT / 'README.md')!r}).read()[:50]\n"),
        "read_etc": _hostile("return open('/etc/passwd').read()\n"),
        "write_tmp": _hostile(f"open({str(pwned)!r}, 'w').write('x')\nreturn 1\n"),
        "write_root": _hostile("import os\nos.mkdir('/tmp')\nreturn 1\n"),
        "gc_forge": _hostile(f"""
            import gc, os
            n = len(gc.get_objects())
            for fd in range(64):
                try:
                    os.write(fd, {forged!r}.encode() + b'\\n')
                except OSError:
                    pass
            return n
            """),
        "ctypes_fork": _hostile("""
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.syscall(57) < 0:
                raise OSError(ctypes.get_errno(), 'fork by syscall failed')
            return 'forked'
            """),
        "fork": _hostile("import os\nreturn os.fork()\n"),
        "fork_bomb": _hostile("import os\nwhile True:\n    os.fork()\n"),
        "thread": _hostile("import threading\nthreading.Thread(target=len, args=([],)).start()\nreturn 1\n"),
        "exec_shell": _hostile(f"import os\nos.execv('/bin/sh', ['sh', '-c', 'touch {pwned}'])\n"),
        "socket": _hostile(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nreturn 1\n"),
        "kill_driver": _hostile("import os\nos.kill(os.getppid(), 9)\nreturn 1\n"),
        "fill_disk": _hostile("i = 0\nwhile True:\n    open(str(i), 'wb').write(b'0' * 2**19)\n    i += 1\n"),
        "big_file": _hostile("open('big', 'wb').write(b'0' * 2**21)\nreturn 1\n"),
        "leave_file": "def f(x):\n    open('left.txt', 'w').write('x')\n    return 1\n",
        "sees_clean_work": "def f(x):\n    import os\n    return sorted(os.listdir('.'))\n",
        "loop": _hostile("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n"),
        "memory": _hostile("a = [0] * (10 ** 10)\nreturn len(a)\n"),
        "exit": _hostile("import os\nos._exit(0)\n"),
        "good": T.render_item("coin", "Ann flips.", "general")["program"],
    }
    res = execute([{"program": p, "args": ["Ann flips."]} for p in progs.values()], call_seconds=1.0)
    assert res["status"] == "ok", res["detail"]
    got = dict(zip(progs, (row[0] for row in res["results"])))
    assert got["disarmed"] == {"value": "'hook off'"}  # the hook really was off in every hostile program
    stopped = {k: v for k, v in got.items() if k not in ("disarmed", "leave_file", "sees_clean_work", "good")}
    for k, row in stopped.items():
        assert "error" in row, (k, row)  # each is a scored failure
    for k in ("write_results", "remove_canary", "read_canary", "read_checkout", "read_etc", "write_tmp"):
        assert got[k]["error"].startswith(("FileNotFoundError", "OSError")), (k, got[k])
    for k in ("fork", "fork_bomb", "ctypes_fork", "exec_shell", "socket", "kill_driver"):
        assert "Errno 1]" in got[k]["error"], (k, got[k])  # EPERM: the seccomp filter
    assert "Read-only file system" in got["write_root"]["error"]
    assert "can't start new thread" in got["thread"]["error"]
    assert "No space left" in got["fill_disk"]["error"] and "File too large" in got["big_file"]["error"]
    assert got["gc_forge"]["error"].startswith("error: the program's process wrote a malformed result")
    assert got["loop"]["error"].startswith("timeout") and "MemoryError" in got["memory"]["error"]
    assert got["exit"]["error"].startswith("error: the program's process ended")
    assert got["leave_file"] == {"value": "1"} and got["sees_clean_work"] == {"value": "[]"}
    assert got["good"] == {"value": "{'actions': ['flip'], 'flips': 1, 'answer': 'no'}"}
    assert canary.read_text() == "alive" and not any(results.iterdir()) and not pwned.exists()
    with pytest.raises(BlockingIOError):
        listener.accept()
    listener.close()


def test_sandbox_cpu_limit_kills_a_program_that_swallows_its_alarm():
    stubborn = "def f(x):\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n"
    good = "def f(x):\n    return x + 1\n"
    res = execute([{"program": stubborn, "args": [1, 2]}, {"program": good, "args": [1, 2]}],
                  cpu_s=1, wall_s=10, call_seconds=4.0)
    assert res["status"] == "ok"
    assert [r["error"] for r in res["results"][0]] == ["killed: CPU limit of 1 s exceeded"] * 2
    assert res["results"][1] == [{"value": "2"}, {"value": "3"}]  # the next task is untouched


def test_sandbox_never_runs_programs_without_the_jail(tmp_path, monkeypatch):
    from paperdag.papers.cogex import sandbox

    job = [{"program": "def f(x):\n    return 1\n", "args": [0]}]
    sandbox.jail_argv.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap"):
            execute(job)
        fake = tmp_path / "bwrap"  # a bwrap that cannot create namespaces, as in a locked-down container
        fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
        fake.chmod(0o755)
        sandbox.jail_argv.cache_clear()
        with pytest.raises(sandbox.SandboxUnavailable, match="user namespaces") as e:
            execute(job)
        assert "No permissions to creating new namespace" in str(e.value)
    finally:
        sandbox.jail_argv.cache_clear()


def _bpf_run(program: bytes, arch: int, nr: int) -> int:
    """A classic-BPF interpreter for the instructions the filter uses (ld abs, jeq, jge, ret)."""
    import struct

    ins = [struct.unpack("HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    data, acc, pc = {0: nr, 4: arch}, 0, 0
    while True:
        code, jt, jf, k = ins[pc]
        if code == 0x20:
            acc, pc = data[k], pc + 1
        elif code in (0x15, 0x35):
            hit = acc == k if code == 0x15 else acc >= k
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected BPF opcode {code:#x}")


def test_seccomp_filter_denies_exactly_its_table():
    from paperdag.papers.cogex import _sandbox_child as C

    prog = C.seccomp_program(C.DENY_X86_64)
    allow, eperm, kill = 0x7FFF0000, 0x00050001, 0x80000000
    denied = set(C.DENY_X86_64.values())
    for nr in range(460):
        assert _bpf_run(prog, C.AUDIT_ARCH_X86_64, nr) == (eperm if nr in denied else allow), nr
    assert _bpf_run(prog, 0xC00000B7, 57) == kill  # another architecture's numbers: kill
    assert _bpf_run(prog, C.AUDIT_ARCH_X86_64, C.X32_BIT | 57) == kill  # x32 ABI: kill
    assert {"clone", "fork", "vfork", "clone3", "execve", "socket", "kill", "ptrace"} <= set(C.DENY_X86_64)


# ------------------------------------------------------------------------------- config and model
def test_cross_key_checks_name_the_file_and_key():
    from paperdag.core.config import PaperConfig

    p = PaperConfig("cogex", ROOT).params("default")
    where = "config/papers/cogex.yaml (scale default)"
    plan.check(p, where)
    cases = [(("data", "n_cotacs_train"), 48, "data.n_cotacs_train"), (("search", "n_candidates"), 40, "search.n_candidates"),
             (("search", "ks"), [1, 30], "search.ks"), (("data", "style_mix"), {"general": 0.5, "specific": 0.3, "sloppy": 0.3}, "data.style_mix")]
    for (sec, key), val, msg in cases:
        bad = json.loads(json.dumps(p))
        bad[sec][key] = val
        with pytest.raises(PaperdagError, match=msg.replace(".", r"\.")):
            plan.check(bad, where)
    assert [plan.run_seed(p, r) for r in range(3)] == [0, 1, 2]


def test_tokenizer_is_lossless_and_masked_training_touches_only_the_completion():
    import torch

    from paperdag.papers.cogex.model import Tokenizer, _batch, build_model, encode_pairs, generate

    text = "### Code\ndef f(x):\n    y = g(x)\n>>> f('Zq! 12')\n### Output\n{'answer': 3}\n"
    tok = Tokenizer.build([text, text])
    assert tok.decode(tok.encode(text)) == text and tok.decode(tok.encode("unseen Wörd")) == "unseen W?rd"
    ex, dropped = encode_pairs(tok, [("prompt ", "answer"), ("p" * 300, "x")], max_len=64)
    assert dropped == 1
    ids, labels, mask = _batch(ex, [0], tok.pad_id)
    n_prompt = ex[0][1]
    assert (labels[0, :n_prompt] == -100).all() and (labels[0, n_prompt:] != -100).all()
    m = build_model(len(tok.vocab), {"d_model": 16, "d_ff": 32, "layers": 1, "heads": 2, "max_len": 128}, 0)
    a = generate(m, tok, ["abc", "### Code\n"], max_new=5)
    b = generate(m, tok, ["### Code\n", "abc"], max_new=5)
    assert a == b[::-1]  # batched greedy generation does not depend on the batch's order or padding
    torch.manual_seed(0)


def test_paper_scale_path_on_a_tiny_local_stand_in(tmp_path):
    """The paper scale's hub loader with peft LoRA (q, k, v, o; r=16) on a tiny random Llama saved with
    save_pretrained and a word-level tokenizer, through the real train and evaluate stages."""
    from tokenizers import Tokenizer as HFTok
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Split
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from paperdag.core.config import PaperConfig
    from paperdag.core.stage import run_job

    p = PaperConfig("cogex", ROOT).params("paper")
    assert p["model"]["hub_id"] == "meta-llama/Llama-2-7b-hf" and p["lora"]["r"] == 16 and p["lora"]["dropout"] == 0.05
    assert p["data"]["n_cotacs_train"] == 300 and p["data"]["n_pool"] - p["data"]["n_cotacs_train"] == 700
    chars = [chr(c) for c in range(32, 127)] + ["\n"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{c: i + 3 for i, c in enumerate(chars)}}
    raw = HFTok(WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = Split("", "isolated")
    hf = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<unk>")
    lm = tmp_path / "llama"
    LlamaForCausalLM(LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=2, bos_token_id=1, eos_token_id=2)).save_pretrained(lm)
    hf.save_pretrained(lm)
    p["model"].update(hub_id=str(lm), dtype="float32", max_len=1024)
    import datasets

    assert p["data"]["hub_corpus"] == "mkhalifa/CoGEX"
    rows = [{"instruction": "Add the numbers.", "input": f"[{i}, 2]",
             "code_prompt": f"def add(xs):\n    # 1. sum them\n    total = sum_all(xs)\n    return {{'answer': total}}\nadd([{i}, 2])",
             "code_output": f"{{'answer': {i + 2}}}"} for i in range(10)]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "cogex_data"))
    p["data"]["hub_corpus"] = str(tmp_path / "cogex_data")
    p["data"].update(n_per_family=3, n_val=4, n_pool=4, n_cotacs_train=2, n_small=2, n_test=2, tasks=["sum"], n_check=1)
    p["train"].update(steps={"code": 2, "plan": 2, "nl": 2}, batch=2, evals=1)
    p["search"].update(n_candidates=2, ks=[1], max_new_program=6, max_new_emulate=6, max_new_answer=3, batch=4,
                       sandbox=dict(p["search"]["sandbox"], enabled=False))
    p["runs"] = 1
    d = {k: str(tmp_path / f"r/{k}.json") for k in ("corpus", "tasks", "tokenizer")}
    assert run_job("cogex.data", {"output": d}, p, 1) == 0
    item = json.loads(open(d["corpus"]).read())["items"][0]
    assert ">>> add([" in item["code"] and "1. sum them" in item["plan"] and item["nl"].startswith("### Response\n")
    for fmt in ("code", "nl"):
        model = str(tmp_path / f"r/{fmt}-run0.safetensors")
        io = {"input": {"corpus": d["corpus"], "tokenizer": d["tokenizer"]}, "output": {"model": model},
              "wildcards": {"fmt": fmt, "run": "0", "scale": "paper"}}
        assert run_job("cogex.train", io, p, 1) == 0
        from paperdag.core.io import load_tensors

        assert load_tensors(model) and all("lora_" in k for k in load_tensors(model))  # only the adapters are saved
        ev = str(tmp_path / f"r/{fmt}-eval.json")
        io = {"input": {"model": model, "tasks": d["tasks"], "tokenizer": d["tokenizer"]}, "output": {"evals": ev},
              "wildcards": {"fmt": fmt, "run": "0", "scale": "paper"}}
        assert run_job("cogex.evaluate", io, p, 1) == 0
        res = json.loads(open(ev).read())["tasks"]["sum"]
        assert len(res["gold_test"]) == 2 and (fmt != "code" or len(res["ans_pool"]) == 2)


@pytest.mark.e2e
def test_smoke_pipeline(repo):
    from conftest import dry_run_jobs, snakemake

    snakemake(repo, "--config", "scale=smoke", "papers=[cogex]")
    base = repo / "results/smoke/cogex"
    m = json.loads((base / "metrics.json").read_text())
    assert m["runs"] == 3 and m["generator_check"]["match_percent"] == 100.0
    assert set(m["accuracy"]) >= {"cotacs_k1", "cotacs_k3", "e2e", "plan_k1", "zero_shot", "bm25", "control"}
    led = {c["id"]: c["verdict"] for c in json.loads((base / "claims.json").read_text())["claims"]}
    assert led["generator_programs_match"] == "check passed"
    for f in ("figures/search_budget.png", "figures/ablations.png", "tables/table1.md", "tables/programs.md"):
        assert (base / f).stat().st_size > 0
    cfg = ["--config", "scale=smoke", "papers=[cogex]"]
    assert dry_run_jobs(repo, *cfg) == []  # nothing left to do
    # determinism: the evaluations (sampling, search, emulation) again give the same metrics.json bytes
    first = (base / "metrics.json").read_bytes()
    snakemake(repo, *cfg, "--forcerun", "cogex_evaluate")
    assert (base / "metrics.json").read_bytes() == first
    # a search setting reruns the evaluations, never the data or the training
    cfg_file = repo / "config/papers/cogex.yaml"
    text = cfg_file.read_text()
    assert "search: {n_candidates: 3, max_new_program: 90, max_new_emulate: 50," in text
    cfg_file.write_text(text.replace("max_new_emulate: 50,", "max_new_emulate: 51,"))
    jobs = {r for r, _ in dry_run_jobs(repo, *cfg)}
    assert "cogex_evaluate" in jobs and "cogex_train" not in jobs and "cogex_data" not in jobs

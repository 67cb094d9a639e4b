# A tiny workflow for tests/test_slurm.py, run on the test cluster with the slurm profile
# (workflow/profiles/slurm: retries 2, keep-going). It checks three behaviours of paperdag's
# SLURM set-up that the catn smoke run cannot show:
#   needs_memory  needs 1500 MB; its memory is attempt-scaled (1000 MB * attempt), so the first
#                 SLURM job is granted 1000 MB and fails, and the retry is a new SLURM job with
#                 2000 MB that succeeds. The job reads its grant from SLURM itself (squeue %m).
#   uses_gpu      declares gpu=1 (as catn_train does at the paper scale): it must be submitted
#                 with --gpus=1 and, with tests/slurm/partitions.yaml, land in partition "gpu".
#   always_fails  fails on every attempt: the error must name its logs, and they must exist.
# Every attempt appends "<rule> <SLURM job id> <granted memory>" to probe.tsv (not an output,
# so Snakemake keeps it across failed attempts).

rule all:
    input:
        "out/needs_memory.txt",
        "out/uses_gpu.txt",
        "out/always_fails.txt",


rule needs_memory:
    output:
        "out/needs_memory.txt",
    log:
        "logs/needs_memory.log",
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    shell:
        """
        granted=$(squeue -h -j "$SLURM_JOB_ID" -o %m)
        echo "needs_memory $SLURM_JOB_ID $granted" >> probe.tsv
        echo "SLURM job $SLURM_JOB_ID granted $granted (rule asked for {resources.mem_mb} MB)" > {log}
        if [ "${{granted%M}}" -lt 1500 ]; then
            echo "needs 1500 MB, SLURM granted $granted: failing like an out-of-memory job" >> {log}
            exit 1
        fi
        echo "$SLURM_JOB_ID $granted" > {output}
        """


rule uses_gpu:
    output:
        "out/uses_gpu.txt",
    log:
        "logs/uses_gpu.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
        gpu=1,
    shell:
        """
        echo "uses_gpu $SLURM_JOB_ID $(squeue -h -j "$SLURM_JOB_ID" -o %m)" >> probe.tsv
        echo "$SLURM_JOB_ID CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-unset}}" > {output} 2> {log}
        """


rule always_fails:
    output:
        "out/always_fails.txt",
    log:
        "logs/always_fails.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        """
        echo "always_fails $SLURM_JOB_ID $(squeue -h -j "$SLURM_JOB_ID" -o %m)" >> probe.tsv
        echo "always_fails: deliberate failure in SLURM job $SLURM_JOB_ID" > {log}
        exit 3
        """

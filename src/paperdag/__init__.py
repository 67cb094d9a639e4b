"""paperdag: reproduce ML papers end to end as one Snakemake DAG."""

__version__ = "0.1.0"

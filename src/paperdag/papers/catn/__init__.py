"""catn: "Learning useful representations for shifting tasks and distributions" (Zhang & Bottou,
ICML 2023). CATn = concatenated representations of n networks trained with different seeds."""

"""PLeaS: merging models with permutations and least squares (Nasery et al., CVPR 2025)."""

"""surfacefusion: "Understanding and Improving Encoder Layer Fusion in Sequence-to-Sequence Learning (Liu et al., ICLR 2021)"."""

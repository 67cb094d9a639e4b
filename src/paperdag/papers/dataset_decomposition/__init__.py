"""Dataset Decomposition (Pouransari et al., NeurIPS 2024, arXiv 2405.13226): variable sequence
length training with a length curriculum, against concat-and-chunk (with and without document
masking), on a small Llama decoder trained from scratch."""

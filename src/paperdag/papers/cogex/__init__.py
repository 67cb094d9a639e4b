"""cogex: "Learning to Reason via Program Generation, Emulation, and Search (Weir et al., NeurIPS 2024)"."""

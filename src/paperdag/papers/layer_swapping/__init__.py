"""layer_swapping: "Layer Swapping for Zero-Shot Cross-Lingual Transfer in Large Language Models (Bandarkar et al., ICLR 2025)"."""

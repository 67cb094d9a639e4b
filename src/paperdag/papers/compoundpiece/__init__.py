"""compoundpiece: "CompoundPiece: Evaluating and Improving Decompounding Performance of Language Models (Minixhofer, Pfeiffer & Vulić, EMNLP 2023)"."""

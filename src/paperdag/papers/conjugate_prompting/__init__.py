"""conjugate_prompting: "Understanding Catastrophic Forgetting in Language Models via Implicit
Inference" (Kotha, Springer, Raghunathan, ICLR 2024, arXiv 2309.10105)."""

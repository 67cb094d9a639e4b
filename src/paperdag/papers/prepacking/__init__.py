"""prepacking: "Prepacking: A Simple Method for Fast Prefilling and Increased Throughput in Large
Language Models" (Zhao, Israel, Van den Broeck, Grover; arXiv 2404.09529)."""

"""lina_speech: "Lina-Speech: Gated Linear Attention is a Fast and Parameter-Efficient Learner for text-to-speech synthesis (Lemerle et al.)"."""

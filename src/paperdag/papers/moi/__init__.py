"""moi: "Mixture-of-Instructions: Aligning Large Language Models via Mixture Prompting (MoI)"."""

"""adapt_retrieve_revise: "Reformulating Domain Adaptation of Large Language Models as Adapt-Retrieve-Revise (Wan et al., Findings of ACL 2024)"."""

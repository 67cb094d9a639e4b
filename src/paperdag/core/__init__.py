"""Shared parts of paperdag: config loading and validation, atomic IO, checkpoints, claims,
stage running, plotting style and the cross-paper summary."""

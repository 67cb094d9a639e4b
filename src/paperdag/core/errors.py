class PaperdagError(Exception):
    """A user-facing error: bad input, a missing asset, a corrupt file. The message names the
    file and the key at fault and, where it can, says how to fix it."""

"""Real text corpora that install from Debian and that more than one paper reads.

- `read_gcide(dict_path, index_path, config_ref)`: every entry of the GNU Collaborative
  International Dictionary of English (Debian package `dict-gcide`, a dictd database) once, in
  file order (dataset_decomposition's documents, prepacking's real prompt lengths).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from .errors import PaperdagError

GCIDE = ("/usr/share/dictd/gcide.dict.dz", "/usr/share/dictd/gcide.index")
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _b64(s: str) -> int:
    """dictd's base-64 numbers (offsets and lengths in the .index file)."""
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


def read_gcide(dict_path: str = GCIDE[0], index_path: str = GCIDE[1], config_ref: str = "") -> list[str]:
    """Every entry of a dictd database once (several headwords can point to one entry), in file
    order, without the database's own `00-database-*` information entries. `config_ref` names the
    config file and key that asked for it, for the error when the package is missing."""
    for p in (dict_path, index_path):
        if not Path(p).exists():
            raise PaperdagError(
                f"{p}: not found{f' ({config_ref})' if config_ref else ''}. "
                "Install the Debian package: apt-get install -y dict-gcide"
            )
    if str(dict_path).endswith((".dz", ".gz")):
        with gzip.open(dict_path) as fh:
            raw = fh.read()
    else:
        raw = Path(dict_path).read_bytes()
    seen, docs = set(), []
    for line in Path(index_path).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00-"):
            continue
        off, n = _b64(parts[1]), _b64(parts[2])
        if off in seen:
            continue
        seen.add(off)
        docs.append((off, raw[off : off + n].decode("utf-8", errors="replace").strip()))
    docs.sort()
    return [t for _, t in docs if t]

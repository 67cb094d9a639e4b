"""One sub-package per paper (slug): its stages are registered in `<slug>/stages.py`."""

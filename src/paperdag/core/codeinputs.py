"""Code inputs of a stage, derived statically (no imports, so a dry run stays fast).

Snakemake tracks the files a rule reads, not the Python modules its command imports. Every stage
rule therefore declares as inputs the project's source files its stage runs: the module that
defines the stage function (`paperdag/papers/<slug>/stages.py`, or `paperdag/core/stages.py`),
and the transitive closure of the project modules that function uses. Editing any of them reruns
the stage and everything downstream of it; editing a module no stage of a rule uses reruns nothing.

Precision inside the stages module: a stages module holds several stages, so its module-level
imports are attributed to a stage only if the stage's function uses the imported name (directly
or through module-level helper functions, classes and assignments of the same file it uses, in
whatever form or block they are bound: `_bindings`); imports written inside the function count too;
star imports, whose names cannot be seen, count for every stage. Every other module is taken whole: all its imports, at module level or inside
functions, are in the closure (an over-approximation that can only rerun too much, never too
little).

Always included: `paperdag/core/stage.py` (the runner: seeding, threads, logging) and what it
imports. Not included: the command-line entry (`paperdag/__main__.py`, `paperdag/cli.py`), which
only parses arguments and dispatches to the runner; editing it never changes a result.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from .errors import PaperdagError

PKG = "paperdag"
RUNNER = "paperdag.core.stage"


def _src_root() -> Path:
    return Path(__file__).resolve().parents[2]  # .../src


def module_file(module: str, src: Path | None = None) -> Path | None:
    """The file of a `paperdag...` module (a package's __init__.py), or None if not a project module."""
    if module != PKG and not module.startswith(PKG + "."):
        return None
    base = (src or _src_root()) / Path(*module.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


@lru_cache(maxsize=None)
def _parse(path: str) -> ast.Module:
    return ast.parse(Path(path).read_text(), filename=path)


def _resolve(module: str | None, level: int, current: str, is_pkg: bool) -> str:
    """Absolute name of `from <level dots><module> import ...` written in module `current`."""
    if level == 0:
        return module or ""
    parts = current.split(".")
    base = parts if is_pkg else parts[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _imports_in(nodes, current: str, is_pkg: bool, src: Path) -> set[str]:
    """Project modules imported by the import statements among `nodes` (any depth)."""
    found: set[str] = set()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Import):
                for a in n.names:
                    found.update(_with_parents(a.name, src))
            elif isinstance(n, ast.ImportFrom):
                mod = _resolve(n.module, n.level, current, is_pkg)
                found.update(_with_parents(mod, src))
                for a in n.names:  # `from pkg import submodule`
                    sub = f"{mod}.{a.name}"
                    if module_file(sub, src) is not None:
                        found.add(sub)
    return {m for m in found if module_file(m, src) is not None}


def _with_parents(module: str, src: Path) -> set[str]:
    """Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: all are dependencies."""
    parts = module.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


@lru_cache(maxsize=None)
def _direct_imports(module: str, src_str: str) -> frozenset[str]:
    """The project modules one module's file imports (parsed once per dry run: every closure that
    passes through a shared module reuses it)."""
    src = Path(src_str)
    path = module_file(module, src)
    if path is None:
        return frozenset()
    return frozenset(_imports_in([_parse(str(path))], module, path.name == "__init__.py", src))


@lru_cache(maxsize=None)
def module_closure(module: str, src_str: str) -> frozenset[str]:
    """Every project module `module` imports, transitively, itself included."""
    src = Path(src_str)
    seen: set[str] = set()
    todo = [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        path = module_file(m, src)
        if path is None:
            continue
        seen.add(m)
        todo.extend(_direct_imports(m, src_str) - seen)
    return frozenset(seen)


def _stage_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                if (
                    isinstance(d, ast.Call)
                    and getattr(d.func, "id", getattr(d.func, "attr", None)) == "stage"
                    and d.args
                    and isinstance(d.args[0], ast.Constant)
                    and d.args[0].value == name
                ):
                    return node
    return None


def _bindings(body, mod: str, src: Path):
    """Module-level bindings of a stages module, in every form a statement can bind a name in:
    imported name -> modules; name -> the statements that bind or fill it (defs, classes,
    assignments of any target, `REG[k] = ...`, module-level calls that mention it), found inside
    module-level if/try/with/for blocks too; and the modules of star imports, whose names cannot
    be seen (attributed to every stage)."""
    imported: dict[str, set[str]] = {}
    helpers: dict[str, list[ast.AST]] = {}
    always: set[str] = set()

    def bind(name: str, node: ast.AST) -> None:
        helpers.setdefault(name, []).append(node)

    def visit(stmts) -> None:
        for node in stmts:
            if isinstance(node, ast.Import):
                for a in node.names:
                    imported.setdefault((a.asname or a.name).split(".")[0], set()).update(_imports_in([node], mod, False, src))
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:
                    one = ast.ImportFrom(module=node.module, names=[a], level=node.level)
                    mods = _imports_in([one], mod, False, src)
                    if a.name == "*":
                        always.update(mods)
                    else:
                        imported.setdefault(a.asname or a.name, set()).update(mods)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(node.name, node)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) or type(node).__name__ == "TryStar":
                for sub in (getattr(node, "target", None), *(i.optional_vars for i in getattr(node, "items", ()))):
                    for n in ast.walk(sub) if sub is not None else ():
                        if isinstance(n, ast.Name):
                            bind(n.id, node)
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(node, field, ()))
                for h in getattr(node, "handlers", ()):
                    if h.name:
                        bind(h.name, h)
                    visit(h.body)
            else:  # assignments (any target), module-level calls that fill a registry, ...
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                else:
                    targets = [node]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            bind(n.id, node)

    visit(body)
    return imported, helpers, always


def stages_module(stage: str) -> str:
    if "." not in stage:
        raise PaperdagError(f"stage names look like <slug>.<stage>, got '{stage}'")
    slug = stage.split(".", 1)[0]
    return f"{PKG}.core.stages" if slug == "core" else f"{PKG}.papers.{slug}.stages"


def stage_modules(stage: str, src: Path | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    """The project modules stage `stage` runs: see the module docstring. `extra`: modules a
    generic stage loads by name for one paper (e.g. papers.<slug>.aggregate for core.results)."""
    src = src or _src_root()
    mod = stages_module(stage)
    path = module_file(mod, src)
    if path is None:
        raise PaperdagError(f"stage '{stage}': no module {mod} under {src}")
    tree = _parse(str(path))
    fn = _stage_function(tree, stage)
    if fn is None:
        raise PaperdagError(f"stage '{stage}' is not defined in {path} (no @stage(\"{stage}\") function)")

    imported, helpers, always = _bindings(tree.body, mod, src)
    used_modules: set[str] = set(always)
    seen: set[str] = set()
    todo: list[ast.AST] = [fn]
    while todo:
        node = todo.pop()
        used_modules |= _imports_in([node], mod, False, src)
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id not in seen:
                seen.add(n.id)
                used_modules |= imported.get(n.id, set())
                todo.extend(h for h in helpers.get(n.id, ()) if h is not fn)
    # the stages module's package __init__ files run on import too
    used_modules |= _with_parents(mod, src)
    used_modules.add(RUNNER)
    for e in extra:  # loaded by name: its package's __init__ files run too
        used_modules |= _with_parents(e, src)
    closure: set[str] = {mod}  # the stages module itself, but not whole: only what this stage uses
    used_modules.discard(mod)
    for m in used_modules:
        if module_file(m, src) is not None:
            closure |= module_closure(m, str(src))
    return sorted(closure)


def code_inputs(stage: str, src: Path | None = None, root: Path | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    """The source files of `stage_modules(stage)`, relative to the repository root (`root`, by
    default the parent of src/), sorted: what a rule declares as its `code` input."""
    src = src or _src_root()
    root = root or src.parent
    files = []
    for m in stage_modules(stage, src, extra):
        f = module_file(m, src)
        files.append(str(f.relative_to(root)) if f.is_relative_to(root) else str(f))
    return sorted(files)

"""Print the figures that say how the package's rooms are laid out (issue 17's before and after).

    python tools/arch_figures.py [--list]

* modules over 600 lines (``--list`` names them);
* parameters and return types annotated with ``Any`` (in function signatures);
* ``getattr(obj, "name", ...)`` probes in ``fieldscreen/ui/``;
* reaches into another object's private lock (``x._backend._guard``) and other private members
  of an object that is not ``self``/``cls`` (``x._name`` where ``x`` is not ``self``);
* ``raise KnownError(...)`` outside the error-tree modules (``errors.py`` of each package);
* pairs of places sharing six or more lines of the same shape (blank-insensitive, whitespace
  stripped, docstrings and imports included as written).

Nothing is changed; the numbers are printed one a line so two runs can be diffed.
"""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fieldscreen"
BIG = 600
SHAPE = 6


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _mentions_any(node: ast.expr | None) -> bool:
    if node is None:
        return False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == "Any":
            return True
        if isinstance(sub, ast.Attribute) and sub.attr == "Any":
            return True
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "Any" in sub.value:
            return True
    return False


def any_in_signatures(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            count += sum(_mentions_any(a.annotation) for a in every)
            count += _mentions_any(node.returns)
    return count


def getattr_probes(tree: ast.AST) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
    )


def private_reaches(tree: ast.AST) -> tuple[int, int]:
    """(reaches to ``._backend._guard``, other ``x._name`` where ``x`` is not self/cls)."""
    guard = other = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        base = node.value
        if isinstance(base, ast.Name) and base.id in {"self", "cls", "super"}:
            continue
        if isinstance(base, ast.Call):  # super()._x
            continue
        if isinstance(base, ast.Name) and base.id.startswith("_"):
            continue  # a module's own private helper
        if node.attr == "_guard" and isinstance(base, ast.Attribute) and base.attr == "_backend":
            guard += 1
        else:
            other += 1
    return guard, other


def bare_known_errors(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "KnownError":
                count += 1
    return count


def shared_shapes(paths: list[Path]) -> int:
    """Pairs of places (distinct file, line) sharing SHAPE consecutive lines of the same text."""
    windows: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for path in paths:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        kept = [(i, line) for i, line in enumerate(lines, 1) if line and line not in {")", "]"}]
        for start in range(len(kept) - SHAPE + 1):
            chunk = tuple(line for _, line in kept[start : start + SHAPE])
            if sum(len(line) for line in chunk) < 120:  # too short to be a shape worth sharing
                continue
            windows[chunk].append((_rel(path), kept[start][0]))
    pairs = set()
    for places in windows.values():
        if len(places) < 2:
            continue
        for i, a in enumerate(places):
            for b in places[i + 1 :]:
                pairs.add((a, b))
    # Overlapping windows of one long copy count once: keep pairs whose predecessor is not a pair.
    starts = {(a, b) for a, b in pairs if ((a[0], a[1] - 1), (b[0], b[1] - 1)) not in pairs}
    return len(starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--list", action="store_true", help="name the modules over 600 lines")
    args = parser.parse_args()
    big: list[tuple[int, str]] = []
    any_count = probes = guard = other = bare = 0
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        lines = text.count("\n")
        if lines > BIG:
            big.append((lines, _rel(path)))
        any_count += any_in_signatures(tree)
        if path.is_relative_to(PACKAGE / "ui"):
            probes += getattr_probes(tree)
        g, o = private_reaches(tree)
        guard += g
        other += o
        if path.name != "errors.py":
            bare += bare_known_errors(tree)
    print(f"modules: {len(_modules())}")
    print(f"modules over {BIG} lines: {len(big)}")
    if args.list:
        for lines, name in sorted(big, reverse=True):
            print(f"  {lines:5d} {name}")
    print(f"Any in signatures: {any_count}")
    print(f"getattr probes in ui/: {probes}")
    print(f"reaches into _backend._guard: {guard}")
    print(f"other private reaches across objects: {other}")
    print(f"raise KnownError outside the error trees: {bare}")
    print(f"pairs of places sharing {SHAPE}+ lines: {shared_shapes(_modules())}")


if __name__ == "__main__":
    main()

"""The layering rules of docs/architecture.md, enforced by parsing every module with ``ast``.

* PySide6 only in ``fieldscreen/ui/`` and ``fieldscreen/app.py``;
* ``cryptography`` only in ``fieldscreen/crypto/``;
* ``fieldscreen/forms`` imports none of vault, sync, ui (pure: answers in, derived state out);
* ``fieldscreen/sync/server`` imports neither vault nor ui;
* nothing imports ``fieldscreen.ui`` except ``fieldscreen.app`` and the ui package itself
  (and the lazily imported GUI part of the self-test);
* ``fieldscreen/sync`` reaches the vault only through the protocol that ``app`` wires;
* nothing in the package imports the test doubles (``tests/``) or the tooling (``tools/``).

The last test plants violations in a temporary tree and checks that each one is caught, so a
fence that silently stopped working would fail too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: imports {self.imported} ({self.rule})"


def _imports(tree: ast.AST, module: str) -> Iterator[tuple[int, str]]:
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the importing package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # "from fieldscreen import ui"
                yield node.lineno, f"{name}.{alias.name}"


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def check_tree(root: Path) -> list[Violation]:
    """Every layering violation in the package ``root/fieldscreen``."""
    found: list[Violation] = []
    for path in sorted((root / "fieldscreen").rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            module = ".".join(parts) + ".__init__"
        else:
            module = ".".join(parts)
        mod = module.removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        in_ui = _under(mod, "fieldscreen.ui")
        is_app = mod == "fieldscreen.app"
        for line, name in _imports(tree, module):

            def bad(rule: str, line: int = line, name: str = name, mod: str = mod) -> None:
                if not any(v.module == mod and v.line == line and v.rule == rule for v in found):
                    found.append(Violation(mod, line, name, rule))

            if _under(name, "PySide6") and not (in_ui or is_app):
                bad("Qt outside fieldscreen.ui and fieldscreen.app")
            if _under(name, "cryptography") and not _under(mod, "fieldscreen.crypto"):
                bad("cryptography outside fieldscreen.crypto")
            if _under(mod, "fieldscreen.forms") and any(
                _under(name, f"fieldscreen.{p}") for p in ("vault", "sync", "ui", "app")
            ):
                bad("forms must stay pure")
            if _under(mod, "fieldscreen.sync.server") and any(
                _under(name, f"fieldscreen.{p}") for p in ("vault", "ui", "app")
            ):
                bad("the server must not import the vault or the UI")
            if (
                _under(mod, "fieldscreen.sync")
                and not _under(mod, "fieldscreen.sync.server")
                and _under(name, "fieldscreen.vault")
            ):
                bad("sync reaches the vault only through its protocol, wired by app")
            if (
                _under(name, "fieldscreen.ui")
                and not (in_ui or is_app)
                and mod != "fieldscreen.selftest"
            ):
                bad("nothing imports the UI but app")
            if _under(name, "tests") or _under(name, "tools"):
                bad("the shipped package imports no test double or tool")
            if _under(mod, "fieldscreen.crypto") and any(
                _under(name, f"fieldscreen.{p}") for p in ("vault", "sync", "ui", "forms", "app")
            ):
                bad("crypto depends on nothing of ours but errors")
    return found


def test_the_package_keeps_its_layers() -> None:
    violations = check_tree(ROOT)
    assert not violations, "\n".join(map(str, violations))


def test_the_frozen_app_leaves_out_the_test_doubles_and_the_tools() -> None:
    spec = (ROOT / "build" / "fieldscreen.spec").read_text()
    excludes = spec.split("PY_EXCLUDES = [", 1)[1].split("]", 1)[0]
    assert '"tests"' in excludes
    assert '"tools"' in excludes
    assert not (ROOT / "fieldscreen" / "ui" / "screenshots.py").exists()


def test_every_module_parses_and_the_fence_saw_them() -> None:
    modules = list((ROOT / "fieldscreen").rglob("*.py"))
    assert len(modules) >= 8, "the fence found too few modules to be looking at the package"


PLANTED = {
    "fieldscreen/vault/leak.py": ("from PySide6.QtWidgets import QWidget\n", "Qt outside"),
    "fieldscreen/forms/leak.py": ("import cryptography.hazmat\n", "cryptography outside"),
    "fieldscreen/forms/impure.py": (
        "from fieldscreen.vault import store\n",
        "forms must stay pure",
    ),
    "fieldscreen/forms/rel.py": ("from ..sync import client\n", "forms must stay pure"),
    "fieldscreen/sync/server/bad.py": ("from fieldscreen import ui\n", "server must not"),
    "fieldscreen/sync/direct.py": ("import fieldscreen.vault.records\n", "sync reaches the vault"),
    "fieldscreen/reports/gui.py": ("from fieldscreen.ui.main_window import X\n", "nothing imports"),
    "fieldscreen/cli.py": ("def f():\n    import PySide6.QtCore\n", "Qt outside"),
    "fieldscreen/ui/double.py": (
        "from tests.support.memory_vault import MemoryVault\n",
        "no test double",
    ),
}


@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_the_fence_catches_a_planted_violation(tmp_path: Path, planted: str) -> None:
    source, rule = PLANTED[planted]
    (tmp_path / "fieldscreen").mkdir()
    (tmp_path / "fieldscreen" / "__init__.py").write_text("")
    (tmp_path / "fieldscreen" / "ui").mkdir()
    (tmp_path / "fieldscreen" / "ui" / "ok.py").write_text("import PySide6.QtWidgets\n")
    assert check_tree(tmp_path) == []  # the clean tree passes ...
    target = tmp_path / planted
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    violations = check_tree(tmp_path)  # ... and the planted import is caught
    assert violations, f"{planted} was not caught"
    assert any(rule in v.rule for v in violations), violations
    planted_module = planted.removesuffix(".py").replace("/", ".")
    assert {v.module for v in violations} == {planted_module}


# ------------------------------------------------------------------ error trees
#: Packages whose errors come from another tree, with the tree they use.
BORROWED_TREES = {"device_commands": "fieldscreen.errors.DeviceError"}


def bare_known_errors(root: Path) -> list[str]:
    """Every ``raise KnownError...`` outside an error-tree module (``errors.py``): a user-facing
    error is raised from its package's tree (``VaultError``, ``FormError``, ``ReportError``,
    ``DeviceError`` ...), so that catching a package's errors catches all of them."""
    found = []
    for path in sorted((root / "fieldscreen").rglob("*.py")):
        if path.name == "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = raised.id if isinstance(raised, ast.Name) else getattr(raised, "attr", "")
            if name == "KnownError":
                found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def test_no_bare_known_error_outside_the_error_trees() -> None:
    found = bare_known_errors(ROOT)
    assert not found, "raise these from their package's error tree: " + ", ".join(found)


def test_every_package_has_an_error_tree() -> None:
    packages = sorted(p.parent.name for p in (ROOT / "fieldscreen").glob("*/__init__.py"))
    assert "vault" in packages
    missing = [
        name
        for name in packages
        if not (ROOT / "fieldscreen" / name / "errors.py").is_file() and name not in BORROWED_TREES
    ]
    assert not missing, f"give these packages an errors.py with their tree: {missing}"


@pytest.mark.parametrize(
    ("planted", "source", "caught"),
    [
        ("fieldscreen/vault/leak.py", "raise KnownError('vault-locked')\n", True),
        ("fieldscreen/ui/leak.py", "def f():\n    raise errors.KnownError('x') from None\n", True),
        ("fieldscreen/cli.py", "raise KnownError\n", True),
        ("fieldscreen/vault/errors.py", "raise KnownError('vault-locked')\n", False),
        ("fieldscreen/vault/ok.py", "raise VaultError('vault-locked')\n", False),
    ],
)
def test_the_error_tree_fence_catches_a_planted_bare_raise(
    tmp_path: Path, planted: str, source: str, caught: bool
) -> None:
    target = tmp_path / planted
    target.parent.mkdir(parents=True, exist_ok=True)
    assert bare_known_errors(tmp_path) == []
    target.write_text(source)
    assert bool(bare_known_errors(tmp_path)) is caught, planted

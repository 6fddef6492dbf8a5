"""The docs stay true to the code: every command and setting is documented."""

from __future__ import annotations

from pathlib import Path

from fieldscreen.cli import COMMANDS
from fieldscreen.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_every_device_command_is_in_the_cli_doc() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text()
    missing = [name for name in COMMANDS if f"`fieldscreen {name}" not in doc]
    assert not missing, f"document these in docs/cli.md: {missing}"


def test_every_setting_has_help_text() -> None:
    for spec in SETTINGS:
        assert spec.help.strip().endswith("."), spec.name


def test_readme_names_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block
    assert "make test" in first_block


def test_the_performance_doc_names_every_benchmark_and_its_size_settings() -> None:
    import re

    from benchmarks import REGISTRY

    doc = (ROOT / "docs" / "performance.md").read_text()
    missing = [bench_id for bench_id in REGISTRY if f"| {bench_id} |" not in doc]
    assert not missing, f"describe these benchmarks' arms in docs/performance.md: {missing}"
    settings = {
        name
        for path in (ROOT / "benchmarks").glob("*.py")
        for name in re.findall(r"FIELDSCREEN_P\d_[A-Z_]+", path.read_text())
    }
    undocumented = sorted(name for name in settings if f"`{name}`" not in doc)
    assert not undocumented, f"document these in docs/performance.md: {undocumented}"


def test_the_architecture_doc_names_only_what_exists_and_every_package() -> None:
    """docs/architecture.md (the house in one screen) names modules, folders and documents by
    path; each must exist, and each package of fieldscreen/ must have its row."""
    import re

    doc = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:fieldscreen|tests|tools|docs)/[\w/.-]*)`", doc))
    assert len(named) >= 20, "the architecture doc names too few paths to be checked"
    missing = sorted(path for path in named if not (ROOT / path.rstrip("/")).exists())
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"
    packages = sorted(p.parent.name for p in (ROOT / "fieldscreen").glob("*/__init__.py"))
    rows = [name for name in packages if f"`fieldscreen/{name}/`" not in doc]
    assert not rows, f"docs/architecture.md has no word on these packages: {rows}"


def test_the_startup_doc_names_only_what_exists() -> None:
    """docs/startup.md (what runs before the first paint) names files, classes, methods and
    module functions of the code; each must still be there, so the doc cannot outlive a
    rename (it named ``MainWindow._make`` after the screens had moved to a registry)."""
    import re

    doc = (ROOT / "docs" / "startup.md").read_text()
    package = ROOT / "fieldscreen"
    paths = set(re.findall(r"`((?:ui|tests)/[\w/]+\.py)`", doc))
    assert paths, "the startup doc names no files to be checked"
    missing = sorted(p for p in paths if not ((ROOT / p).exists() or (package / p).exists()))
    assert not missing, f"docs/startup.md names files that do not exist: {missing}"
    sources = {p: p.read_text() for p in package.rglob("*.py")}
    everything = "\n".join(sources.values()) + (ROOT / "tests/gui/test_startup.py").read_text()

    def defines(text: str, name: str) -> bool:
        return bool(re.search(rf"^\s*(?:def|class)\s+{name}\b|^\s*{name}\s*[:=]", text, re.M))

    absent = []
    for owner, member in sorted(set(re.findall(r"`(\w+)\.(\w+)`", doc))):
        module = package / f"{owner}.py"
        if module.exists():  # a module's function: app.run_gui
            if not defines(module.read_text(), member):
                absent.append(f"{owner}.{member}")
        elif defines(everything, owner) and f"class {owner}" in everything:  # our class
            body = next(t for t in sources.values() if f"class {owner}" in t)
            if not defines(body, member):
                absent.append(f"{owner}.{member}")
    for name in set(re.findall(r"`([A-Z][A-Z_]{4,}|[a-z]+_[a-z_]+)`", doc)):
        if not defines(everything, name):
            absent.append(name)
    assert len(re.findall(r"`(\w+)\.(\w+)`", doc)) >= 4, "too few names to be checked"
    assert not absent, f"docs/startup.md names what the code does not define: {sorted(absent)}"

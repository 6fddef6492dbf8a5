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

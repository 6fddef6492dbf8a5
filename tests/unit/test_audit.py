"""The dependency audit's verdicts: a finding fails, an unreachable service only warns."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "tools" / "audit.py"
_spec = importlib.util.spec_from_file_location("fieldscreen_tools_audit", _PATH)
assert _spec
assert _spec.loader
audit = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = audit
_spec.loader.exec_module(audit)


def _report(*deps: Mapping[str, object]) -> str:
    return json.dumps({"dependencies": [dict(d) for d in deps], "fixes": []})


OK = {"name": "cryptography", "version": "46.0.1", "vulns": []}
BAD = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [{"id": "PYSEC-2024-1", "aliases": ["CVE-2024-22195"], "fix_versions": ["3.1.3"]}],
}
SKIPPED = {
    "name": "altgraph",
    "skip_reason": "Dependency not found on PyPI and could not be audited",
}


def test_clean_when_every_dependency_is_checked() -> None:
    verdict = audit.classify(0, _report(OK, OK), "")
    assert (verdict.kind, verdict.checked, verdict.findings) == ("clean", 2, [])
    assert audit.EXIT[verdict.kind] == 0


def test_a_finding_fails_and_names_package_advisory_and_fix() -> None:
    verdict = audit.classify(1, _report(OK, BAD), "Found 1 known vulnerability")
    assert verdict.kind == "vulnerable"
    assert audit.EXIT[verdict.kind] == 1
    text = "\n".join(verdict.lines())
    assert "jinja2 3.1.2: PYSEC-2024-1 (fixed in 3.1.3)" in text


def test_a_reviewed_advisory_is_ignored_by_id_or_alias() -> None:
    assert audit.classify(1, _report(BAD), "", {"CVE-2024-22195"}).kind == "clean"
    assert audit.classify(1, _report(BAD), "", {"PYSEC-2024-1"}).kind == "clean"
    assert audit.classify(1, _report(BAD), "", {"PYSEC-1999-9"}).kind == "vulnerable"


def test_ignore_file_reads_ids_and_skips_comments(tmp_path: Path) -> None:
    path = tmp_path / "ignore.txt"
    path.write_text("# header\nPYSEC-1  # not used on the client\n\nGHSA-x  \n", encoding="utf-8")
    assert audit.read_ignored(path) == {"PYSEC-1", "GHSA-x"}
    assert audit.read_ignored(tmp_path / "none.txt") == set()


@pytest.mark.parametrize(
    "stderr",
    [
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
        "Max retries exceeded",
        "NameResolutionError: Failed to resolve 'api.osv.dev'",
        "requests.exceptions.ReadTimeout: read timed out",
        "503 Server Error: Service Unavailable for url",
        "requests.exceptions.SSLError: certificate verify failed (a proxy that intercepts TLS)",
        "requests.exceptions.ProxyError: Unable to connect to proxy",
        "[Errno 111] Connection refused",
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection'))",
    ],
)
def test_an_unreachable_service_warns_without_failing(stderr: str) -> None:
    verdict = audit.classify(1, "", stderr)
    assert verdict.kind == "unreachable"
    assert audit.EXIT[verdict.kind] == 0
    assert any("NOTHING WAS CHECKED" in line for line in verdict.lines())


def test_the_time_limit_counts_as_unreachable() -> None:
    assert audit.classify(None, "", "").kind == "unreachable"


def test_a_report_where_nothing_could_be_looked_up_is_not_clean() -> None:
    # pip-audit says "No known vulnerabilities found" and exits 0 when the service knew none of
    # the packages (an index without the JSON API): that is not a clean audit.
    verdict = audit.classify(0, _report(SKIPPED, dict(SKIPPED, name="anyio")), "")
    assert verdict.kind == "unreachable"


def test_some_unknown_packages_are_a_warning_on_a_clean_audit() -> None:
    verdict = audit.classify(0, _report(OK, SKIPPED), "")
    assert verdict.kind == "clean"
    assert any("not checked" in line and "altgraph" in line for line in verdict.lines())


def test_a_broken_tool_is_an_error_not_a_warning() -> None:
    verdict = audit.classify(2, "", "Traceback ...\nAttributeError: x")
    assert verdict.kind == "error"
    assert audit.EXIT[verdict.kind] == 2


def test_strict_network_fails_when_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "run", lambda timeout: audit.Verdict("unreachable", reason="x"))
    assert audit.main([]) == 0
    assert audit.main(["--strict-network"]) == audit.STRICT_UNREACHABLE
    monkeypatch.setattr(audit, "run", lambda timeout: audit.Verdict("vulnerable"))
    assert audit.main([]) == 1


def test_the_time_limit_is_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, float] = {}

    def slow(*args: object, timeout: float, **kwargs: object) -> None:
        seen["timeout"] = timeout
        raise audit.subprocess.TimeoutExpired("pip-audit", timeout)

    monkeypatch.setattr(audit.subprocess, "run", slow)
    assert audit.run(7.0).kind == "unreachable"
    assert seen["timeout"] == 7.0

"""Audit the installed dependencies for known vulnerabilities (``make audit``, run by CI).

    python tools/audit.py [--timeout SECONDS] [--strict-network]

Runs ``pip-audit`` over the environment that ``make venv`` installed from ``constraints.txt``
(the locked versions; the project itself, installed editable, is skipped) and sorts the outcome
into one of four verdicts, each with its own exit status:

* ``clean`` (0): every dependency was checked against the advisory database; none is affected.
* ``vulnerable`` (1): at least one installed version has a known advisory. The run fails and
  names the package, the version, the advisory and the first fixed version. Fix it by raising
  the lower bound in ``pyproject.toml`` and re-locking (``make lock``).
* ``unreachable`` (0, or 3 with ``--strict-network``): the advisory service did not answer in
  time, could not be resolved, or answered for none of the dependencies. Nothing was checked,
  so the run says so loudly, but a slow advisory service does not make CI fail.
* ``error`` (2): the audit tool is missing or broke in another way; a CI set-up problem.

A dependency the service could not look up while others were checked is listed as *not
checked*; that is a warning, not a failure. Advisories that were reviewed and do not apply are
listed, one id per line with a reason after ``#``, in ``.ci/audit-ignore.txt``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".ci" / "audit-ignore.txt"
EXIT = {"clean": 0, "vulnerable": 1, "error": 2, "unreachable": 0}
STRICT_UNREACHABLE = 3
_NETWORK_SIGNS = (
    "ConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "ReadTimeout",
    "ConnectTimeout",
    "timed out",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "503 Server Error",
    "502 Server Error",
    "504 Server Error",
    "429 Client Error",
    "500 Server Error",
    "SSLError",
    "ProxyError",
    "Connection refused",
    "Connection reset",
    "Connection aborted",
    "RemoteDisconnected",
)


@dataclass
class Verdict:
    """The audit's outcome: ``kind`` is clean, vulnerable, unreachable or error."""

    kind: str
    checked: int = 0
    findings: list[tuple[str, str, str, str]] = field(default_factory=list)  # name, ver, id, fix
    not_checked: list[str] = field(default_factory=list)
    reason: str = ""

    def lines(self) -> list[str]:
        """What the run prints, one line each."""
        if self.kind == "vulnerable":
            out = [f"AUDIT FAILED: {len(self.findings)} known vulnerabilities:"]
            out += [
                f"  {name} {version}: {vuln} (fixed in {fix or 'no release yet'})"
                for name, version, vuln, fix in self.findings
            ]
            out.append("Raise the lower bound in pyproject.toml and re-lock (make lock).")
        elif self.kind == "clean":
            out = [f"Audit clean: {self.checked} dependencies checked, no known vulnerability."]
        elif self.kind == "unreachable":
            out = [
                "!" * 72,
                "AUDIT NOT DONE: the advisory database could not be reached "
                f"({self.reason}). NOTHING WAS CHECKED.",
                "Run `make audit` again where PyPI's advisory service answers.",
                "!" * 72,
            ]
        else:
            out = [f"AUDIT ERROR: {self.reason}"]
        if self.not_checked and self.kind != "unreachable":
            out.append(
                f"warning: {len(self.not_checked)} not checked (unknown to the advisory "
                f"service): {', '.join(sorted(self.not_checked))}"
            )
        return out


def read_ignored(path: Path = IGNORE_FILE) -> set[str]:
    """Advisory ids reviewed as not applying (one per line, ``# reason`` after it)."""
    if not path.is_file():
        return set()
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            ids.add(text)
    return ids


def classify(
    returncode: int | None,
    stdout: str,
    stderr: str,
    ignored: frozenset[str] | set[str] = frozenset(),
) -> Verdict:
    """Sort one ``pip-audit -f json`` run into a :class:`Verdict`.

    Args:
        returncode: its exit status, or None when it was stopped at the time limit.
        stdout: its JSON report (may be empty when it failed).
        stderr: its messages.
        ignored: advisory ids that do not count.
    """
    if returncode is None:
        return Verdict("unreachable", reason="no answer within the time limit")
    try:
        report = json.loads(stdout)
        dependencies = report["dependencies"]
        if not isinstance(dependencies, list):
            raise TypeError("dependencies")
    except (ValueError, KeyError, TypeError):
        if any(sign in stderr for sign in _NETWORK_SIGNS):
            last = next((ln for ln in reversed(stderr.splitlines()) if ln.strip()), "")
            return Verdict("unreachable", reason=last.strip()[:160] or "network error")
        tail = " ".join(stderr.strip().splitlines()[-2:])[:200]
        return Verdict("error", reason=f"pip-audit exited {returncode}: {tail or 'no report'}")
    verdict = Verdict("clean")
    for dep in dependencies:
        name = str(dep.get("name", "?"))
        if "skip_reason" in dep:
            verdict.not_checked.append(name)
            continue
        verdict.checked += 1
        for vuln in dep.get("vulns") or ():
            ids = {str(vuln.get("id", "?")), *map(str, vuln.get("aliases") or ())}
            if ids & ignored:
                continue
            fixes = ", ".join(map(str, vuln.get("fix_versions") or ()))
            verdict.findings.append((name, str(dep.get("version", "?")), str(vuln["id"]), fixes))
    if verdict.findings:
        verdict.kind = "vulnerable"
    elif verdict.checked == 0 and verdict.not_checked:
        verdict.kind = "unreachable"
        verdict.reason = f"the service knew none of the {len(verdict.not_checked)} dependencies"
    return verdict


def run(timeout: float) -> Verdict:
    """Audit the running interpreter's environment, stopped after ``timeout`` seconds."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--local",
        "--skip-editable",
        "--format",
        "json",
        "--desc",
        "off",
        "--progress-spinner",
        "off",
        "--timeout",
        str(max(5, int(timeout // 4))),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return classify(None, "", "")
    except OSError as error:
        return Verdict("error", reason=f"cannot run pip-audit ({error.strerror})")
    if done.returncode != 0 and "No module named pip_audit" in done.stderr:
        return Verdict("error", reason="pip-audit is not installed (make venv installs it)")
    return classify(done.returncode, done.stdout, done.stderr, read_ignored())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for the whole audit")
    parser.add_argument(
        "--strict-network",
        action="store_true",
        help="fail (exit 3) when the advisory database cannot be reached (release builds)",
    )
    args = parser.parse_args(argv)
    verdict = run(args.timeout)
    stream = sys.stdout if verdict.kind == "clean" else sys.stderr
    print("\n".join(verdict.lines()), file=stream)
    if verdict.kind == "unreachable" and args.strict_network:
        return STRICT_UNREACHABLE
    return EXIT[verdict.kind]


if __name__ == "__main__":
    sys.exit(main())

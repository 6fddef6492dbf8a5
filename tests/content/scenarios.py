"""Scenario files for the built-in forms: answers in, flags, tier, concerns, referrals out.

A scenario is a JSON file in ``tests/scenarios/<form_id>/``::

    {
      "description": "what a designer would call this case",
      "covers": ["RULE_NAME", ...],            # the rules of the form this scenario exercises
      "context": {"jurisdiction": "MX", "role": "specialist"},
      "case": {"age_years": 12, "can_proceed_sensitive_modules": "yes", "share_legal": "yes"},
      "answers": {"name": value, ...},        # in the order a specialist would give them
      "expect": {
        "tier": "T1",                          # the form's tier
        "flags": ["RULE_NAME", ...],           # exactly the raised rules (order free)
        "concerns": [...], "opens": [...],     # exactly
        "referrals": [...],                    # exactly, the service types the rules name
        "deadlines": [...],                    # exactly, the names due in this jurisdiction
        "suggested": [...],                    # referrals the case's consent allows (exactly)
        "needs_consent": [...],                # referrals waiting for consent (exactly)
        "withheld": [...],                     # referrals whose recipient a rule withholds
        "declined": [...],                     # referrals the child declined in this form
        "constraint_errors": [...]             # fields whose answer breaks a constraint (exactly)
      },
      "releases": ["consulate"]                # optional: a supervisor releases these names
    }

Keys left out of ``expect`` are not checked. ``context`` keys fill the ``ctx_<key>`` hidden
fields; ``case`` values fill ``from_case`` fields, as the app does from earlier forms of the case.
For ``fieldscreen forms run`` the case values join the answers file (hidden fields take answers)
and the context goes on the command line as ``--context KEY=VALUE``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ROOT / "fieldscreen" / "forms" / "builtin"
LISTS = BUILTIN / "lists"
SCENARIOS = ROOT / "tests" / "scenarios"
FORM_IDS = ("fs_consent", "fs_intake", "fs_trafficking", "fs_gbv", "fs_family", "fs_return")
EXPECT_KEYS = {
    "tier",
    "flags",
    "concerns",
    "referrals",
    "opens",
    "deadlines",
    "suggested",
    "needs_consent",
    "withheld",
    "declined",
    "constraint_errors",
}


@dataclass(frozen=True)
class Scenario:
    """One scenario file."""

    path: Path
    form_id: str
    description: str
    covers: tuple[str, ...]
    context: dict[str, Any]
    case: dict[str, Any]
    answers: dict[str, Any]
    expect: dict[str, Any]
    releases: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.form_id}/{self.path.stem}"

    def answers_file(self) -> dict[str, Any]:
        """The answers as a designer writes them for ``fieldscreen forms run``.

        The case values go in as answers to their hidden ``from_case`` fields; the context goes
        on the command line (``--context KEY=VALUE``), see :meth:`context_arguments`.
        """
        return {**self.case, **self.answers}

    def context_arguments(self) -> list[str]:
        context = [arg for k, v in self.context.items() for arg in ("--context", f"{k}={v}")]
        return context + [arg for name in self.releases for arg in ("--release", name)]


def load(path: Path) -> Scenario:
    data = json.loads(path.read_text(encoding="utf-8"))
    unknown = set(data.get("expect", {})) - EXPECT_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown expect keys {sorted(unknown)}")
    return Scenario(
        path=path,
        form_id=path.parent.name,
        description=str(data["description"]),
        covers=tuple(data.get("covers", ())),
        context=dict(data.get("context", {})),
        case=dict(data.get("case", {})),
        answers=dict(data["answers"]),
        expect=dict(data["expect"]),
        releases=tuple(data.get("releases", ())),
    )


def all_scenarios() -> list[Scenario]:
    return [load(p) for p in sorted(SCENARIOS.glob("*/*.json"))]


def compare(expect: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """The differences between an ``expect`` block and a run's result, as readable lines."""
    problems = []
    for key, wanted in expect.items():
        got = actual.get(key)
        if key == "tier":
            if got != wanted:
                problems.append(f"tier: expected {wanted}, got {got}")
            continue
        missing = sorted(set(wanted) - set(got or ()))
        extra = sorted(set(got or ()) - set(wanted))
        if missing or extra:
            problems.append(f"{key}: missing {missing}, unexpected {extra}")
    return problems

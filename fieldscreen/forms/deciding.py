"""The questions that decide a form's tier, and which of them have no answer yet.

A tier is only as good as the answers it was computed from: before the gateway questions are
answered, no rule is raised and the tier would read "no current risk". So the screens ask
:func:`undecided` and say "not assessed yet" instead of a reassuring tier.

The questions are found in the compiled form (:mod:`fieldscreen.forms.program`): every input
question that a rule with a tier reads, directly or through calculations and relevance, once
per form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldscreen.forms.model import Form
    from fieldscreen.forms.session import Session

__all__ = ["tier_questions", "undecided"]

# form id and version -> (the form, its deciding questions); the form is kept to check it is
# the same object (two loads of one version are equal in what they decide, but cheap to redo).
_CACHE: dict[tuple[str, str], tuple[Form, tuple[str, ...]]] = {}


def tier_questions(form: Form) -> tuple[str, ...]:
    """The input questions (outside repeats) that a rule setting a tier reads, in form order."""
    key = (form.id, form.version)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is form:
        return cached[1]
    program = form.program
    found: set[str] = set()
    seen: set[int] = set()
    stack = [program.rules[r.name] for r in form.rules if r.tier and r.name in program.rules]
    while stack:
        node = program.nodes[stack.pop()]
        for read in node.reads:
            if read in seen:
                continue
            seen.add(read)
            upstream = program.nodes[read]
            f = form.fields.get(upstream.owner)
            if upstream.aspect == "val" and f is not None and f.is_input and not f.repeats:
                found.add(upstream.owner)
            stack.append(read)
    result = tuple(name for name in form.fields if name in found)
    _CACHE[key] = (form, result)
    return result


def undecided(session: Session) -> tuple[str, ...]:
    """The deciding questions that are shown now and have no answer (:func:`tier_questions`)."""
    return tuple(
        name
        for name in tier_questions(session.form)
        if session.relevant(name) and session.answer(name) is None
    )

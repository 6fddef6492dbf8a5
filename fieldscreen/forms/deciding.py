"""The questions that decide a form's tier, and which of them have no answer yet.

A tier is only as good as the answers it was computed from: before the gateway questions are
answered, no rule is raised and the tier would read "no current risk". So the screens ask
:func:`undecided` and say "not assessed yet" instead of a reassuring tier.

The questions are found in the compiled form (:mod:`fieldscreen.forms.program`): every input
question that a rule with a tier (or a rule that opens a module, whose own questions may set
one) reads, directly or through calculations and relevance, once per form. A question counts
as open while it has no answer and is shown, or is hidden only because of another question
that is itself still open (answering that one could bring it in): a question on a later page
decides as much as one on the current page.
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
# form id and version -> (the form, for each input question the input questions its relevance
# reads, directly or through calculations and the relevance of its groups).
_GATES: dict[tuple[str, str], tuple[Form, dict[str, frozenset[str]]]] = {}


def tier_questions(form: Form) -> tuple[str, ...]:
    """The input questions (outside repeats) that a rule setting a tier reads, in form order."""
    key = (form.id, form.version)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is form:
        return cached[1]
    program = form.program
    found: set[str] = set()
    seen: set[int] = set()
    stack = [
        program.rules[r.name] for r in form.rules if (r.tier or r.opens) and r.name in program.rules
    ]
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


def _gates(form: Form) -> dict[str, frozenset[str]]:
    """For each input question outside repeats, the input questions its relevance reads."""
    key = (form.id, form.version)
    cached = _GATES.get(key)
    if cached is not None and cached[0] is form:
        return cached[1]
    program = form.program
    gates: dict[str, frozenset[str]] = {}
    for name, f in form.fields.items():
        rel = program.fields.get(name, {}).get("rel")
        if not f.is_input or f.repeats or rel is None:
            continue
        found: set[str] = set()
        seen = {rel}
        stack = [rel]
        while stack:
            for read in program.nodes[stack.pop()].reads:
                if read in seen:
                    continue
                seen.add(read)
                upstream = program.nodes[read]
                g = form.fields.get(upstream.owner)
                if upstream.aspect == "val" and g is not None and g.is_input and not g.repeats:
                    found.add(upstream.owner)  # an answer: what it reads is not this one's gate
                    continue
                stack.append(read)
        found.discard(name)
        gates[name] = frozenset(found)
    _GATES[key] = (form, gates)
    return gates


def _open(session: Session) -> set[str]:
    """The input questions without an answer that are shown, or that an open one may show."""
    gates = _gates(session.form)
    unanswered = [name for name in gates if session.answer(name) is None]
    found = {name for name in unanswered if session.relevant(name)}
    waiting = [name for name in unanswered if name not in found]
    grew = True
    while grew and waiting:
        grew = False
        for name in list(waiting):
            if gates[name] & found:
                found.add(name)
                waiting.remove(name)
                grew = True
    return found


def undecided(session: Session) -> tuple[str, ...]:
    """The deciding questions (:func:`tier_questions`) that have no answer and are shown now or
    may still be shown: hidden only behind a question that is itself open."""
    deciding = tier_questions(session.form)
    if not deciding:
        return ()
    found = _open(session)
    return tuple(name for name in deciding if name in found)

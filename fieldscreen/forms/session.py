"""A form being filled in: typed answers in, derived state out, re-evaluated incrementally.

A field instance is addressed by a :class:`Node`: the field's name and, inside repeats, the
0-based index of each enclosing repeat instance (outermost first). ``"age"`` may be given for
``Node("age")``.

Values of fields that are not relevant count as empty in every expression and in the output;
the answer itself is kept, so that it comes back if the field becomes relevant again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from fieldscreen.forms import attachments as media
from fieldscreen.forms import compat
from fieldscreen.forms.changes import Changes, FieldError, Node, PathLike, as_node
from fieldscreen.forms.errors import (
    AnswerError,
    FormDataError,
    FormVersionError,
    OverrideError,
    ReleaseError,
)
from fieldscreen.forms.functions import raw_to_xpath, to_bool, to_string
from fieldscreen.forms.model import MEDIA_KINDS, TIERS, Choice, Field, Form, Page, language_key
from fieldscreen.forms.program import render_label
from fieldscreen.forms.risk import DeadlineDue, Override, Release, Risk, most_urgent
from fieldscreen.forms.runtime import MAX_REPEATS, Runtime, normalise
from fieldscreen.forms.values import coerce, decode, encode, tag, to_json, untag

#: How many questions a chain of triggers may set one after another (a loop stops there).
_MAX_TRIGGER_DEPTH = 20

__all__ = ["Changes", "FieldError", "Node", "Session"]

STATE_FORMAT = 1
DEFAULT_REQUIRED = {"en": "This answer is required.", "es": "Esta respuesta es obligatoria."}
NOT_OFFERED = {
    "en": "This option is no longer offered after an earlier answer changed; choose again.",
    "es": "Esta opción ya no se ofrece porque cambió una respuesta anterior; elija de nuevo.",
}
DEFAULT_CONSTRAINT = {"en": "This answer is not valid.", "es": "Esta respuesta no es válida."}


class Session(Runtime):
    """The answers to one form and everything derived from them.

    Create with :meth:`start` or :meth:`restore`; never share one between threads.
    """

    #: The version the saved state was carried over from (:mod:`fieldscreen.forms.migrate`).
    migrated_from: str = ""
    #: What migrations set aside (``Dropped.to_json`` entries); kept in the state, never shown
    #: anywhere but to the specialist.
    dropped: tuple[dict[str, Any], ...] = ()

    # ------------------------------------------------------------------ creation

    @classmethod
    def start(
        cls,
        form: Form,
        lang: str = "en",
        context: Mapping[str, Any] | None = None,
        case_values: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> Session:
        """A new session: context and case values filled in, defaults applied, all evaluated.

        Args:
            form: the loaded form.
            lang: language of messages and labels (``en`` or ``es``).
            context: the session context; hidden ``ctx_<key>`` fields take ``context[key]``.
            case_values: values from earlier forms of the case, for ``from_case`` fields.
            clock: returns "now" (for ``today()``, ``now()``); the system clock by default.
        """
        session = cls(form, lang, context or {}, case_values or {}, clock)
        for f in form.fields.values():
            if f.kind == "repeat" and not f.repeat_count and not f.repeats:
                session.counts[(f.name, ())] = 0
        session._fill_hidden(())
        session._apply_literal_defaults(None)
        session._recompute_all()
        session._apply_expression_defaults(None)
        session._stamp_raised()
        return session

    @classmethod
    def restore(
        cls,
        form: Form,
        state: Mapping[str, Any],
        *,
        clock: Callable[[], datetime] | None = None,
        migrate: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    ) -> Session:
        """A session from :meth:`to_state`; refuses another form version unless ``migrate``.

        ``migrate`` receives the saved state and returns one for this form's version (for
        example ``lambda s: carry_over(s, form).state``).
        """
        saved = state.get("form", {}) if isinstance(state, Mapping) else {}
        form_id = str(saved.get("id", "")) if isinstance(saved, Mapping) else ""
        version = str(saved.get("version", "")) if isinstance(saved, Mapping) else ""
        if form_id != form.id or version != form.version:
            if migrate is None:
                raise FormVersionError(form_id or "?", version or "?", form.version)
            state = migrate(state)
            if state.get("form", {}).get("version") != form.version:
                raise FormVersionError(form.id, version, form.version)
        try:
            session = cls(
                form,
                str(state["lang"]),
                dict(state.get("context", {})),
                dict(state.get("case_values", {})),
                clock,
            )
            session.seed = str(state.get("seed") or session.seed)
            session.attachments = media.decode_all(state.get("attachments"))
            for name, index, value in state["answers"]:
                f = form.fields[name]
                session.answers[name][tuple(index)] = decode(f, value)
            if not session._referenced() <= set(session.attachments):
                raise ValueError("a media answer without its attachment")
            for name, prefix, count in state["counts"]:
                session.counts[(name, tuple(prefix))] = int(count)
            once = {}
            for name, index, value in state.get("once", []):
                once[(name, tuple(index))] = untag(value)
            for name, moment in state.get("raised_at", {}).items():
                session.raised_at[str(name)] = datetime.fromisoformat(moment)
            session.migrated_from = str(state.get("migrated_from") or "")
            session.dropped = tuple(dict(d) for d in state.get("dropped") or ())
            override = state.get("override")
            if override:
                session.override = Override(**override)
            for release in state.get("releases", []):
                session.releases[str(release["name"])] = Release(**release)
        except (KeyError, TypeError, ValueError, AnswerError) as error:
            raise FormDataError(
                "form-state-invalid", form_id=form.id, detail=type(error).__name__
            ) from None
        for (name, index), value in once.items():
            node = session.program.node(name, "val")
            if node is not None:
                session.values[node.id][index] = value
        session._recompute_all()
        session._stamp_raised()
        return session

    def to_state(self) -> dict[str, Any]:
        """Plain JSON-able data from which :meth:`restore` rebuilds this session exactly."""
        answers = [
            [name, list(index), encode(self.form.fields[name], value)]
            for name, by_index in self.answers.items()
            for index, value in sorted(by_index.items())
        ]
        counts = [[name, list(prefix), n] for (name, prefix), n in sorted(self.counts.items())]
        once = []
        for f in self.form.fields.values():
            if "once(" in f.calculation:
                node = self.program.node(f.name, "val")
                if node is not None:
                    for index, value in sorted(self.values[node.id].items()):
                        if value is not None:
                            once.append([f.name, list(index), tag(value)])
        state: dict[str, Any] = {
            "format": STATE_FORMAT,
            "form": {"id": self.form.id, "version": self.form.version},
            "lang": self.lang,
            "seed": self.seed,
            "context": dict(self.context),
            "case_values": dict(self.case_values),
            "answers": answers,
            "counts": counts,
            "once": once,
            "override": self.override.to_json() if self.override else None,
            "releases": [r.to_json() for r in self.releases.values()],
            "raised_at": {name: moment.isoformat() for name, moment in self.raised_at.items()},
            "kinds": {
                name: self.form.fields[name].kind
                for name, by_index in self.answers.items()
                if by_index
            },
        }
        kept = self._referenced()
        if kept:
            state["attachments"] = media.encode_all(
                {n: d for n, d in self.attachments.items() if n in kept}
            )
        if self.migrated_from:
            state["migrated_from"] = self.migrated_from
        if self.dropped:
            state["dropped"] = [dict(d) for d in self.dropped]
        return state

    # ------------------------------------------------------------------ changing answers

    def _check_instance(self, node: Node) -> Field:
        f = self.form.fields.get(node.name)
        if f is None:
            raise AnswerError(node.name, "field")
        if len(node.at) != len(f.repeats) or node.at not in self.instances(node.name, node.at[:0]):
            raise AnswerError(str(node), "instance")
        return f

    def set_answer(self, path: PathLike, value: Any, *, held_elsewhere: int = 0) -> Changes:
        """Set (or with ``None`` clear) one answer; returns what that changed.

        A media question takes an :class:`~fieldscreen.forms.attachments.Attachment` (its
        answer becomes the attachment's file name) or the name of one already attached;
        ``held_elsewhere`` counts the bytes the screening's other forms already hold, for the
        size limit.
        """
        node = as_node(path)
        f = self._check_instance(node)
        if not (f.is_input or f.kind == "hidden"):
            raise AnswerError(node.name, "computed")
        if f.kind in MEDIA_KINDS:
            value = self._attach(node, value, held_elsewhere)
        changes = Changes(tier_before=self._tier, tier=self._tier)
        self._now = self._clock()
        before = self.answers[node.name].get(node.at)
        self._store(node, coerce(f, value), changes)
        if self.answers[node.name].get(node.at) != before:
            self._fire_triggers(node, changes, 0)
        if f.kind in MEDIA_KINDS:  # a replaced or cleared file is not kept
            kept = self._referenced()
            self.attachments = {n: d for n, d in self.attachments.items() if n in kept}
        if changes.rules:  # the tier and the raised times can only move when a rule did
            self._stamp_raised()
            changes.tier = self._tier
        return changes

    def _fire_triggers(self, source: Node, changes: Changes, depth: int) -> None:
        """Set the questions whose ``trigger`` names ``source``, which just changed, to their
        ``calculation`` (or clear them), as ODK's setvalue on a value change; a question set
        this way fires its own triggers in turn, a bounded number of times."""
        if depth > _MAX_TRIGGER_DEPTH:
            return
        for target in self.program.triggered.get(source.name, ()):
            f = self.form.fields[target]
            prefix = source.at[: min(len(f.repeats), len(source.at))]
            for index in self._enumerate(f.repeats, prefix):
                evaluate = self.program.triggers.get(target)
                value = normalise(evaluate(self._ctx(index))) if evaluate else None
                try:
                    stored = coerce(f, value)
                except AnswerError:
                    stored = None  # a value that does not fit the question leaves it empty
                before = self.answers[target].get(index)
                self._store(Node(target, index), stored, changes)
                if self.answers[target].get(index) != before:
                    self._fire_triggers(Node(target, index), changes, depth + 1)

    def _attach(self, node: Node, value: Any, held_elsewhere: int) -> Any:
        """A media answer: an Attachment kept under its stored name, or a name already kept."""
        if isinstance(value, media.Attachment):
            data = bytes(value.data)
            accept = self.form.fields[node.name].accept
            if accept == "osm" and not media.is_osm_file(value.original_name, data):
                raise AnswerError(node.name, "osm")
            name = media.stored_name(node.name, node.at, value.original_name, data)
            before = self.answers[node.name].get(node.at)
            held = sum(len(d) for n, d in self.attachments.items() if n not in (before, name))
            media.check_size(len(data), held + held_elsewhere)
            self.attachments[name] = data
            return name
        if value is not None and value != "" and value not in self.attachments:
            raise AnswerError(node.name, "attachment")
        return value

    def _referenced(self) -> set[str]:
        """The file names media answers name (the attachments the state keeps)."""
        return {
            value
            for f in self.form.fields.values()
            if f.kind in MEDIA_KINDS
            for value in self.answers[f.name].values()
            if isinstance(value, str)
        }

    def attached(self) -> dict[str, bytes]:
        """The files the answers hold, by file name."""
        kept = self._referenced()
        return {n: d for n, d in self.attachments.items() if n in kept}

    def attached_bytes(self) -> int:
        """How many bytes of files the answers hold."""
        kept = self._referenced()
        return sum(len(d) for n, d in self.attachments.items() if n in kept)

    def add_repeat(self, name: str, prefix: tuple[int, ...] = ()) -> tuple[int, Changes]:
        """Add an instance to repeat ``name`` (under ``prefix`` when nested); returns its index."""
        f = self.form.fields.get(name)
        if f is None or f.kind != "repeat":
            raise AnswerError(name, "repeat")
        if f.repeat_count:
            raise AnswerError(name, "counted")
        key = (name, prefix)
        if key not in self.counts and prefix not in self._enumerate(f.repeats, ()):
            raise AnswerError(name, "instance")
        changes = Changes(tier_before=self.computed_tier())
        before = [dict(v) for v in self.values]
        position = self.counts.get(key, 0)
        if position >= MAX_REPEATS:
            raise AnswerError(name, "too_many")
        self.counts[key] = position + 1
        self._new_instance(name, (*prefix, position))
        changes.evaluated += self._recompute_all()
        self._apply_expression_defaults((name, (*prefix, position)))
        self._diff(before, changes)
        self._stamp_raised()
        changes.tier = self._tier
        return position, changes

    def remove_repeat(self, name: str, index: tuple[int, ...]) -> Changes:
        """Remove the repeat instance ``index`` (its full index); later ones move up."""
        f = self.form.fields.get(name)
        if f is None or f.kind != "repeat" or f.repeat_count:
            raise AnswerError(name, "repeat")
        prefix, position = index[:-1], index[-1]
        count = self.counts.get((name, prefix), 0)
        if not 0 <= position < count:
            raise AnswerError(name, "instance")
        changes = Changes(tier_before=self.computed_tier())
        before = [dict(v) for v in self.values]
        depth = len(prefix)

        def shift(store: dict[tuple[int, ...], Any]) -> None:
            moved = {}
            for key in list(store):
                if len(key) > depth and key[:depth] == prefix and key[depth] >= position:
                    value = store.pop(key)
                    if key[depth] > position:
                        moved[(*key[:depth], key[depth] - 1, *key[depth + 1 :])] = value
            store.update(moved)

        for chain_name, chain in self._chains.items():
            if len(chain) > depth and chain[depth] == name:
                shift(self.answers[chain_name])
        for node in self.program.nodes:
            if len(node.repeats) > depth and node.repeats[depth] == name:
                shift(self.values[node.id])
        moved_counts = {}
        for key in list(self.counts):
            rep, pre = key
            chain = self._chains[rep]
            if len(pre) > depth and pre[:depth] == prefix and chain[depth] == name:
                n = self.counts.pop(key)
                if pre[depth] > position:
                    moved_counts[(rep, (*pre[:depth], pre[depth] - 1, *pre[depth + 1 :]))] = n
                elif pre[depth] < position:
                    moved_counts[key] = n
        self.counts.update(moved_counts)
        self.counts[(name, prefix)] = count - 1
        changes.evaluated += self._recompute_all()
        self._diff(before, changes)
        self._stamp_raised()
        changes.tier = self._tier
        return changes

    def reevaluate_all(self) -> int:
        """Re-evaluate every expression from scratch (the baseline of the benchmark)."""
        return self._recompute_all()

    # ------------------------------------------------------------------ reading

    def field(self, path: PathLike) -> Field:
        return self.form.fields[as_node(path).name]

    def value(self, path: PathLike) -> Any:
        """The effective value (``None`` when empty or not relevant)."""
        node = as_node(path)
        aspects = self.program.fields[node.name]
        if "val" not in aspects:
            return None
        return self.values[aspects["val"]].get(node.at)

    def answer(self, path: PathLike) -> Any:
        """The stored answer, even when the field is not relevant now."""
        node = as_node(path)
        return self.answers[node.name].get(node.at)

    def relevant(self, path: PathLike) -> bool:
        node = as_node(path)
        return bool(self.values[self.program.fields[node.name]["rel"]].get(node.at, False))

    def required(self, path: PathLike) -> bool:
        node = as_node(path)
        f = self.form.fields[node.name]
        if f.required == "true()":
            return True
        req = self.program.fields[node.name].get("req")
        return bool(req is not None and self.values[req].get(node.at))

    def read_only(self, path: PathLike) -> bool:
        node = as_node(path)
        f = self.form.fields[node.name]
        if f.kind in {"calculate", "note"} or f.calculation or f.read_only == "true()":
            return True
        ro = self.program.fields[node.name].get("ro")
        return bool(ro is not None and self.values[ro].get(node.at))

    def choices(self, path: PathLike) -> tuple[Choice, ...]:
        """The choices shown now (after the choice filter), in the order shown."""
        node = as_node(path)
        ordered = self.ordered_choices(node)
        visible = self.program.fields[node.name].get("choices")
        if visible is None:
            return ordered
        names = set(self.values[visible].get(node.at, ()))
        return tuple(c for c in ordered if c.name in names)

    def ordered_choices(self, path: PathLike) -> tuple[Choice, ...]:
        """All the choices of a question in the order shown: the list's order, or, with
        ``parameters: randomize=true``, an order shuffled for this record -- the same each
        time the record is opened (it derives from the record's seed, or from ``seed=``),
        and another for another record, as ODK does with a seed."""
        node = as_node(path)
        f = self.form.fields[node.name]
        if not compat.randomized(f.parameters):
            return f.choices
        seed_field = compat.randomize_seed_field(f.parameters)
        if seed_field in self.form.fields:
            at = node.at[: len(self.form.fields[seed_field].repeats)]
            seed = to_string(raw_to_xpath(self.value(Node(seed_field, at))))
        else:
            seed = str(f.parameters.get("seed", "") or "").strip() or self.seed
        shuffled = list(f.choices)
        random.Random(f"{seed}|{f.name}|{node.at}").shuffle(shuffled)  # noqa: S311 - an order
        return tuple(shuffled)

    def repeat_count(self, name: str, prefix: tuple[int, ...] = ()) -> int:
        return self.counts.get((name, prefix), 0)

    def label(self, path: PathLike, lang: str | None = None) -> str:
        return self._text(as_node(path), "label", lang)

    def hint(self, path: PathLike, lang: str | None = None) -> str:
        return self._text(as_node(path), "hint", lang)

    def _text(self, node: Node, which: str, lang: str | None) -> str:
        f = self.form.fields[node.name]
        text = str(getattr(f, which).get(language_key(lang) if lang else self.lang))
        label = self.program.fields[node.name].get("label")
        if label is None or "${" not in text:
            return text
        shown = dict(
            zip(
                self.program.label_refs[node.name],
                self.values[label].get(node.at, ()),
                strict=False,
            )
        )
        return render_label(text, shown)

    def errors(self, path: PathLike, lang: str | None = None) -> list[FieldError]:
        """Required and constraint problems of one field instance, in ``lang``."""
        node = as_node(path)
        f = self.form.fields[node.name]
        lang = language_key(lang) if lang else self.lang
        if not f.is_input or not self.relevant(node):
            return []
        value = self.value(node)
        if value is None or value == ():
            if self.required(node):
                message = f.required_message.get(lang) or DEFAULT_REQUIRED.get(lang, "")
                return [FieldError(node, "required", message or DEFAULT_REQUIRED["en"])]
            return []
        if f.choice_filter and f.kind.startswith("select"):
            offered = {c.name for c in self.choices(node)}
            chosen = value if isinstance(value, tuple) else (value,)
            if any(item not in offered for item in chosen):
                return [FieldError(node, "constraint", NOT_OFFERED.get(lang, NOT_OFFERED["en"]))]
        con = self.program.fields[node.name].get("con")
        if con is not None and not self.values[con].get(node.at, True):
            message = f.constraint_message.get(lang) or DEFAULT_CONSTRAINT.get(lang, "")
            return [FieldError(node, "constraint", message or DEFAULT_CONSTRAINT["en"])]
        return []

    def validate_for_finalise(self, lang: str | None = None) -> list[FieldError]:
        """Every problem that must be fixed before the screening can be finalised."""
        found: list[FieldError] = []
        for f in self.form.fields.values():
            if f.is_input:
                for index in self.instances(f.name, ()):
                    found.extend(self.errors(Node(f.name, index), lang))
        return found

    # ------------------------------------------------------------------ pages

    @property
    def pages(self) -> tuple[Page, ...]:
        return self.form.pages

    def page_relevant(self, page: int) -> bool:
        current = self.form.pages[page]
        if current.group and not self.relevant(current.group):
            return False
        if current.group and self.form.fields[current.group].kind == "repeat":
            return True
        return any(
            self.relevant(Node(n)) for n in current.fields if not self.form.fields[n].repeats
        )

    def next_page(self, page: int) -> int | None:
        """The next page that is relevant after ``page`` (``-1`` for the first), or ``None``."""
        for candidate in range(page + 1, len(self.form.pages)):
            if self.page_relevant(candidate):
                return candidate
        return None

    def previous_page(self, page: int) -> int | None:
        for candidate in range(page - 1, -1, -1):
            if self.page_relevant(candidate):
                return candidate
        return None

    # ------------------------------------------------------------------ risk

    def raised(self) -> tuple[str, ...]:
        """The names of the rules whose ``when`` is true now, in sheet order."""
        return tuple(
            r.name for r in self.form.rules if self.values[self.program.rules[r.name]].get(())
        )

    def computed_tier(self) -> str:
        """The most urgent tier among the raised rules (``T4`` when none), before any override."""
        return self._tier

    def risk(self, lang: str | None = None) -> Risk:
        """Flags, concerns, tier, referrals, deadlines (for ``ctx_jurisdiction``), messages."""
        lang = language_key(lang) if lang else self.lang
        raised = set(self.raised())
        rules = [r for r in self.form.rules if r.name in raised]
        computed = most_urgent(r.tier for r in rules if r.tier)
        jurisdiction = self.jurisdiction()
        due: dict[str, DeadlineDue] = {}
        for rule in rules:
            for name in rule.deadlines:
                entries = [d for d in self.form.deadlines if d.name == name]
                exact = [d for d in entries if d.jurisdiction == jurisdiction and jurisdiction]
                for d in exact or [d for d in entries if d.jurisdiction == "*"]:
                    prior = due.get(d.name)
                    names = (*prior.rules, rule.name) if prior else (rule.name,)
                    since = self.raised_at.get(rule.name)
                    when = since + timedelta(hours=d.hours) if since else None
                    if prior and prior.due and (when is None or prior.due < when):
                        when = prior.due
                    due[d.name] = DeadlineDue(
                        d.name,
                        d.jurisdiction,
                        d.hours,
                        d.label.get(lang),
                        d.basis,
                        names,
                        when,
                        d.notifies,
                    )
        urgency: dict[str, str] = {}
        for rule in rules:
            for service in rule.referrals:
                level = rule.tier or "T3"
                urgency[service] = most_urgent((level, urgency.get(service, "T4")))
        return Risk(
            form_id=self.form.id,
            flags=tuple(r.name for r in rules),
            concerns=tuple(dict.fromkeys(c for r in rules for c in r.concerns)),
            computed_tier=computed,
            tier=self.override.tier if self.override else computed,
            referrals=tuple(dict.fromkeys(s for r in rules for s in r.referrals)),
            deadlines=tuple(sorted(due.values(), key=lambda d: (d.hours, d.name))),
            opens=tuple(dict.fromkeys(o for r in rules for o in r.opens)),
            messages=tuple((r.name, r.message.get(lang)) for r in rules if r.message.get(lang)),
            override=self.override,
            withholds=tuple(dict.fromkeys(w for r in rules for w in r.withholds)),
            declines=tuple(dict.fromkeys(d for r in rules for d in r.declines)),
            releases=tuple(self.releases.values()),
            urgency=tuple(urgency.items()),
        )

    def jurisdiction(self) -> str:
        """The jurisdiction of the deadlines: the context's, else the ``ctx_jurisdiction`` value."""
        code = self.context.get("jurisdiction")
        if not code and "ctx_jurisdiction" in self.form.fields:
            code = self.value("ctx_jurisdiction")
        return str(code or "").upper()

    def _stamp_raised(self) -> None:
        """Refresh the tier; record when each rule was raised, forget rules no longer raised."""
        now = self._now
        raised = set(self.raised())
        self._tier = most_urgent(r.tier for r in self.form.rules if r.name in raised and r.tier)
        for name in raised - self.raised_at.keys():
            self.raised_at[name] = now
        for name in self.raised_at.keys() - raised:
            del self.raised_at[name]

    def override_tier(self, tier: str, reason: str, supervisor: str) -> Override:
        """Set the tier by hand; needs a reason and the supervisor who signed it off."""
        if tier not in TIERS:
            raise OverrideError("tier")
        if not reason.strip():
            raise OverrideError("reason")
        staff = str(self.context.get("staff", "") or "").strip()
        if not supervisor.strip() or (staff and supervisor.strip() == staff):
            raise OverrideError("supervisor")
        self.override = Override(tier, self.computed_tier(), reason.strip(), supervisor.strip())
        return self.override

    def clear_override(self) -> None:
        self.override = None

    def release(self, name: str, reason: str, supervisor: str) -> Release:
        """Lift a rule's ``withholds`` (a recipient) or ``declines`` (a service type) for
        ``name``; needs a reason and a supervisor other than the screener. Kept in the state.

        Raises:
            ReleaseError: ``name`` is not withheld or declined by any rule of this form, or the
                reason or the supervisor is missing.
        """
        known = {n for r in self.form.rules for n in (*r.withholds, *r.declines)}
        if name not in known:
            raise ReleaseError("name")
        if not reason.strip():
            raise ReleaseError("reason")
        staff = str(self.context.get("staff", "") or "").strip()
        if not supervisor.strip() or (staff and supervisor.strip() == staff):
            raise ReleaseError("supervisor")
        self.releases[name] = Release(name, reason.strip(), supervisor.strip())
        return self.releases[name]

    def clear_release(self, name: str) -> None:
        self.releases.pop(name, None)

    # ------------------------------------------------------------------ output

    def values_json(self, *, include_irrelevant: bool = False) -> dict[str, Any]:
        """Every field's effective value as JSON (repeats as lists of objects)."""
        return self._values_under(self.form.top, (), include_irrelevant)

    def _values_under(
        self, names: Sequence[str], index: tuple[int, ...], everything: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            f = self.form.fields[name]
            if f.kind == "group":
                out.update(self._values_under(f.children, index, everything))
            elif f.kind == "repeat":
                count = self.counts.get((name, index), 0)
                out[name] = [
                    self._values_under(f.children, (*index, i), everything) for i in range(count)
                ]
            elif f.kind != "note":
                value = self.value(Node(name, index))
                out[name] = to_json(value)
        return out

    def entities_json(self) -> list[dict[str, Any]]:
        """The entities this screening creates or updates (the form's ``entities`` sheet), one
        per declaration, or per entry of the repeat it belongs to: list, id, label and the
        ``save_to`` properties, as an ODK server would create them from the submission; for a
        declaration that updates (``entity_id``), also ``create``, ``update`` and the
        ``baseVersion`` of the entity it updates, for the server to apply."""
        out: list[dict[str, Any]] = []
        for entity in self.form.entities:
            for index in self.instances(entity.id_field, ()):
                creates = to_bool(self.value(Node(entity.create_field, index)))
                updates = bool(entity.update_field) and to_bool(
                    self.value(Node(entity.update_field, index))
                )
                if not (creates or updates):
                    continue
                item: dict[str, Any] = {
                    "list": entity.dataset,
                    "id": to_json(self.value(Node(entity.id_field, index))),
                    "label": to_json(self.value(Node(entity.label_field, index))),
                    "properties": {
                        prop: to_json(
                            self.value(Node(name, index[: len(self.form.fields[name].repeats)]))
                        )
                        for prop, name in entity.properties.items()
                    },
                }
                if entity.update_field:
                    version = self.value(Node(entity.base_version_field, index))
                    item |= {"create": creates, "update": updates, "baseVersion": to_json(version)}
                out.append(item)
        return out

    def relevance_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.form.fields.values():
            instances = self.instances(f.name, ())
            if not f.repeats:
                out[f.name] = self.relevant(f.name)
            else:
                out[f.name] = [self.relevant(Node(f.name, i)) for i in instances]
        return out

    def _marked(self, test: Callable[[Field], bool]) -> dict[str, Any]:
        return {
            f.name: to_json(self.value(f.name))
            for f in self.form.fields.values()
            if test(f) and not f.repeats and not f.is_container
        }

    def case_card(self) -> dict[str, Any]:
        """The fields marked ``case_card``, plus the risk summary follow-up needs."""
        card = self._marked(lambda f: f.case_card)
        risk = self.risk()
        card["_risk"] = {
            "tier": risk.tier,
            "concerns": list(risk.concerns),
            "referrals": list(risk.referrals),
            "deadlines": [d.to_json() for d in risk.deadlines],
        }
        return card

    def aggregate_record(self) -> dict[str, Any]:
        """The non-identifying aggregate record: ``aggregate`` category -> value."""
        record: dict[str, Any] = {}
        for f in self.form.fields.values():
            if f.aggregate and not f.repeats and f.sensitivity == "low":
                record[f.aggregate] = to_json(self.value(f.name))
        risk = self.risk()
        record.setdefault("tier", risk.tier)
        record.setdefault("concern", list(risk.concerns))
        return record

"""``fieldscreen forms validate | preview | run | convert``: the form designer's tools.

* ``validate FILE...`` -- loads each form; errors as ``FILE:sheet:row:column: message``.
* ``preview FILE [--lang L]`` -- the form as indented text, with relevance and rules.
* ``run FILE --answers ANSWERS.json [--lang L] [--jurisdiction XX] [--context KEY=VALUE]
  [--json]`` -- runs the form headless and prints every computed value, flag, tier, referral
  and deadline (one JSON object with ``--json``), for a designer's own CI.
* ``convert IN OUT`` -- between ``.xlsx`` and the Markdown tables the built-in forms are kept in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fieldscreen.forms import attachments as media
from fieldscreen.forms.errors import AnswerError, FormDataError, FormError, designer_text
from fieldscreen.forms.loader import load_form
from fieldscreen.forms.model import MEDIA_KINDS, Field, Form, language_key
from fieldscreen.forms.risk import combine_case
from fieldscreen.forms.session import FieldError, Node, Session
from fieldscreen.forms.sheets import find_list, read_list

__all__ = ["add_arguments", "apply_answers", "preview_text", "run", "run_result"]

#: What --lang takes: a code, or the language as the workbook's columns name it.
LANG_HELP = "language: a code (en, es) or as the workbook names it ('Español (es)', Spanish)"

TIER_NAMES = {
    "T0": "act now",
    "T1": "within 24 h",
    "T2": "within 72 h",
    "T3": "within 7 days",
    "T4": "no current risk",
}
#: The words of the commands' plain-text output, in English and Spanish.
WORDS = {
    "en": {
        "ok": "{file}: ok ({id} version {version}, {fields} fields, {rules} rules)",
        "warning": "{file}: warning: {text}",
        "version": "{id} version {version}",
        "tier": "tier: {tier} ({name})",
        "flags": "flags", "concerns": "concerns", "referrals": "referrals", "opens": "opens",
        "deadline": "deadline: {name} within {hours} h: {label}",
        "error": "error: {field} ({kind}): {message}",
        **TIER_NAMES,
        # forms preview: the words it adds (the workbook's own names, types and columns are
        # shown as written)
        "title": "{title}  [{id} version {version}]", "yes": "yes", "case_card": "case card",
        "aggregate": "aggregate {name}", "choices_from": "({count} choices from {list})",
        "rules": "rules:", "rule": "  {name}{tier}: when {when}",
        "deadlines_named": "deadlines (those the rules name):", "deadlines": "deadlines:",
    },
    "es": {
        "ok": "{file}: correcto ({id} versión {version}, {fields} campos, {rules} reglas)",
        "warning": "{file}: aviso: {text}",
        "version": "{id} versión {version}",
        "tier": "nivel: {tier} ({name})",
        "flags": "alertas", "concerns": "preocupaciones", "referrals": "derivaciones",
        "opens": "abre",
        "deadline": "plazo: {name} en {hours} h: {label}",
        "error": "error: {field} ({kind}): {message}",
        "T0": "actuar ya", "T1": "en 24 h", "T2": "en 72 h", "T3": "en 7 días",
        "T4": "sin riesgo actual",
        "title": "{title}  [{id} versión {version}]", "yes": "sí", "case_card": "ficha del caso",
        "aggregate": "agregado {name}", "choices_from": "({count} opciones de {list})",
        "rules": "reglas:", "rule": "  {name}{tier}: cuando {when}",
        "deadlines_named": "plazos (los que nombran las reglas):", "deadlines": "plazos:",
    },
}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="forms_command", metavar="ACTION", required=True)
    validate = sub.add_parser("validate", help="check XLSForms; errors as FILE:sheet:row:column")
    validate.add_argument("files", nargs="+", metavar="FILE", help=".xlsx or .md form")
    validate.add_argument("--json", action="store_true", help="print the results as JSON")
    preview = sub.add_parser("preview", help="show a form as indented text with its rules")
    preview.add_argument("file", metavar="FILE")
    preview.add_argument("--lang", dest="form_lang", default="en", help=LANG_HELP)
    run_parser = sub.add_parser("run", help="run a form headless on a file of answers")
    run_parser.add_argument("file", metavar="FILE")
    run_parser.add_argument(
        "--answers",
        required=True,
        metavar="ANSWERS.json",
        help='{"name": value}; a photo, recording or file question\'s answer is the path of a '
        "file, from the answers file's folder",
    )
    run_parser.add_argument("--lang", dest="form_lang", default="en", help=LANG_HELP)
    run_parser.add_argument("--jurisdiction", metavar="XX", help="ISO code for the deadlines")
    run_parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a session context value for ctx_KEY fields (repeatable); device=ID and "
        "staff=NAME fill the deviceid and username questions",
    )
    run_parser.add_argument(
        "--release",
        action="append",
        default=[],
        metavar="NAME",
        help="lift a recipient or service type a rule withholds or declines, as a supervisor's "
        "release would (repeatable; for testing the rules)",
    )
    run_parser.add_argument(
        "--now",
        metavar="ISO",
        help="the moment today() and now() return (for repeatable runs); without an offset, "
        "the laptop's clock time",
    )
    run_parser.add_argument("--json", action="store_true", help="print one JSON object")
    convert = sub.add_parser("convert", help="convert between .xlsx and .md")
    convert.add_argument("source", metavar="IN")
    convert.add_argument("target", metavar="OUT")


def run(args: argparse.Namespace) -> int:
    command = args.forms_command
    if command == "validate":
        return _validate(args)
    if command == "preview":
        print(preview_text(load_form(args.file), args.form_lang), end="")
        return 0
    if command == "run":
        return _run(args)
    from fieldscreen.forms.convert import convert

    convert(Path(args.source), Path(args.target))
    print(f"wrote {args.target}", file=sys.stderr)
    return 0


def _messages_language(args: argparse.Namespace) -> str:
    """The language of the app's messages: ``fieldscreen --lang``, else the system's."""
    lang = getattr(args, "lang", None)
    if lang:
        return str(lang)
    return "es" if os.environ.get("LANG", "").startswith("es") else "en"


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    results = []
    lang = _messages_language(args)
    for file in args.files:
        try:
            form = load_form(file)
        except FormError as error:
            failed += 1
            shown = error.message(lang)
            results.append({"file": file, "ok": False, "error": shown})
            if not args.json:
                print(shown, file=sys.stderr)
            continue
        results.append(
            {"file": file, "ok": True, "id": form.id, "version": form.version,
             "fields": len(form.fields), "rules": len(form.rules),
             "warnings": [designer_text(w, lang) or w for w in form.warnings]}
        )  # fmt: skip
        if not args.json:
            words = WORDS.get(lang, WORDS["en"])
            print(
                words["ok"].format(
                    file=file,
                    id=form.id,
                    version=form.version,
                    fields=len(form.fields),
                    rules=len(form.rules),
                )
            )
            for warning in form.warnings:
                print(
                    words["warning"].format(file=file, text=designer_text(warning, lang) or warning)
                )
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    return 1 if failed else 0


# ----------------------------------------------------------------------------- run


def _read_answers(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise FormDataError(
            "form-answers-unreadable", path=path, detail=type(error).__name__
        ) from None
    if not isinstance(data, dict):
        raise FormDataError("form-answers-unreadable", path=path, detail="not a JSON object")
    return data


def apply_answers(
    session: Session, answers: Mapping[str, Any], files: Path | None = None
) -> list[FieldError]:
    """Give ``answers`` (``{"name": value}``, repeats as lists of objects) to ``session``.

    With ``files`` (the answers file's folder), the answer to a photo, recording or file
    question is the path of a file, absolute or from that folder, attached as the question's
    Choose file button attaches it (read into memory, up to the same size limits).

    Returns a ``type`` error for each value that does not fit its field (the value is left out).
    """
    form = session.form
    unknown = sorted(set(_names(answers)) - set(form.fields))
    if unknown:
        raise FormError(
            f"the answers name {unknown[0]!r}, which is not a field of this form",
            file=form.source,
        )
    problems: list[FieldError] = []
    _apply(session, form.top, answers, (), problems, files=files)
    return problems


def _names(answers: Mapping[str, Any]) -> list[str]:
    names = []
    for key, value in answers.items():
        names.append(key)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                names.extend(_names(item))
    return names


def _apply(
    session: Session,
    names: tuple[str, ...],
    answers: Mapping[str, Any],
    index: tuple[int, ...],
    problems: list[FieldError],
    *,
    files: Path | None = None,
) -> None:
    form = session.form
    for name in names:
        f: Field = form.fields[name]
        if f.kind == "group":
            _apply(session, f.children, answers, index, problems, files=files)
        elif f.kind == "repeat":
            items = answers.get(name)
            if items is None:
                continue
            if not isinstance(items, list):
                raise FormError(f"the answers for repeat {name!r} must be a list of objects")
            for position, item in enumerate(items):
                if not f.repeat_count:
                    session.add_repeat(name, index)
                elif position >= session.repeat_count(name, index):
                    raise FormError(
                        f"the answers hold more entries for {name!r} than its repeat_count gives"
                    )
                _apply(session, f.children, item, (*index, position), problems, files=files)
        elif name in answers:
            if not (f.is_input or f.kind == "hidden"):
                raise FormError(
                    f"the answers give a value for {name!r}, which the form computes itself",
                    file=form.source,
                )
            try:
                value = answers[name]
                if files is not None and f.kind in MEDIA_KINDS and isinstance(value, str) and value:
                    value = _attachment(name, files / value)
                session.set_answer(Node(name, index), value)
            except (AnswerError, media.AttachmentError) as error:
                problems.append(FieldError(Node(name, index), "type", error.message(session.lang)))


def _attachment(name: str, path: Path) -> media.Attachment:
    """The file at ``path`` as its media question's Choose file button attaches it: refused
    when it is not a file, or larger than a file may be, before it is read."""
    if not path.is_file():
        raise AnswerError(name, "attachment-path")
    media.check_size(path.stat().st_size, 0)
    return media.Attachment(path.name, path.read_bytes())


def _service_types(form: Form) -> list[dict[str, str]]:
    """The rows of ``service_types.csv`` beside the form or in its ``lists/`` folder."""
    if "service_types" in form.lists:
        return [dict(row) for row in form.lists["service_types"]]
    found = find_list(Path(form.source), "service_types.csv")
    return [c.row() for c in read_list(found)] if found else []


def run_result(session: Session, problems: list[FieldError] | None = None) -> dict[str, Any]:
    """The JSON object ``forms run --json`` prints.

    Besides the form's own result it splits the referrals as :func:`combine_case` does for a
    case made of this one form: ``suggested``, ``needs_consent`` (no ``share_<recipient> = yes``
    in the answers), ``withheld`` (a raised rule ``withholds`` the recipient) and ``declined``
    (the child refused the service in this form).
    """
    risk = session.risk()
    values = session.values_json()
    case = combine_case(
        [risk], consent=values, service_types=_service_types(session.form), risk_tiers=[]
    )
    errors = [e.to_json() for e in problems or []]
    errors += [e.to_json() for e in session.validate_for_finalise()]
    return {
        "form": {"id": session.form.id, "version": session.form.version},
        "values": values,
        "relevant": session.relevance_json(),
        "errors": errors,
        "flags": list(risk.flags),
        "concerns": list(risk.concerns),
        "tier": risk.tier,
        "referrals": list(risk.referrals),
        "deadlines": [d.to_json() for d in risk.deadlines],
        "opens": list(risk.opens),
        "messages": [{"rule": r, "text": t} for r, t in risk.messages],
        "suggested": list(case.suggested),
        "needs_consent": list(case.needs_consent),
        "withheld": list(case.withheld),
        "declined": list(case.declined),
        "withheld_recipients": list(case.withheld_recipients),
        "entities": session.entities_json(),
    }


def _run(args: argparse.Namespace) -> int:
    form = load_form(args.file)
    answers = _read_answers(args.answers)
    context: dict[str, Any] = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FormError(f"--context takes KEY=VALUE, not {item!r}")
        context[key.removeprefix("ctx_")] = value
    if args.jurisdiction:
        context["jurisdiction"] = args.jurisdiction.upper()
    clock = None
    if args.now:
        try:
            moment = datetime.fromisoformat(args.now)
        except ValueError:
            raise FormError("--now takes an ISO date-time such as 2026-03-15T10:00") from None
        moment = moment.astimezone()  # without an offset: the laptop's clock time
        clock = lambda: moment  # noqa: E731
    session = Session.start(form, args.form_lang, context, {}, clock=clock)
    problems = apply_answers(session, answers, Path(args.answers).parent)
    for name in args.release:
        session.release(name, "forms run --release (a test of the rules)", "forms-run")
    result = run_result(session, problems)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    words = WORDS.get(session.lang, WORDS["en"])  # the language of the form's own messages
    print(words["version"].format(id=form.id, version=form.version))
    print(words["tier"].format(tier=result["tier"], name=words[result["tier"]]))
    for key in ("flags", "concerns", "referrals", "opens"):
        print(f"{words[key]}: {', '.join(result[key]) or '-'}")
    for due in result["deadlines"]:
        print(
            words["deadline"].format(
                name=due["name"], hours=f"{due['hours']:g}", label=due["label"]
            )
        )
    for error in result["errors"]:
        print(words["error"].format(**error))
    return 0


# ----------------------------------------------------------------------------- preview


def preview_text(form: Form, lang: str = "en") -> str:
    """The form as indented text: fields with their logic, then rules and deadlines.

    The words the preview adds are in ``lang`` (English unless it is Spanish); the workbook's
    own names, types, columns and expressions are shown as written."""
    words = WORDS["es" if language_key(lang) == "es" else "en"]
    lines = [words["title"].format(title=form.title(lang), id=form.id, version=form.version), ""]

    def _yes_or_expr(text: str) -> str:
        return words["yes"] if text == "true()" else text

    def show(names: tuple[str, ...], depth: int) -> None:
        pad = "  " * depth
        for name in names:
            f = form.fields[name]
            label = f.label.get(lang)
            head = f"{pad}{f.kind} {name}"
            lines.append(f"{head}: {label}" if label else head)
            details = [
                ("relevant", f.relevant),
                ("required", _yes_or_expr(f.required)),
                ("constraint", f.constraint),
                ("calculation", f.calculation),
                ("default", f.default),
                ("read_only", _yes_or_expr(f.read_only)),
                ("choice_filter", f.choice_filter),
                ("repeat_count", f.repeat_count),
                ("appearance", f.appearance),
            ]  # fmt: skip
            for key, value in details:
                if value:
                    lines.append(f"{pad}    {key}: {value}")
            marks = [f.sensitivity]
            if f.case_card:
                marks.append(words["case_card"])
            if f.aggregate:
                marks.append(words["aggregate"].format(name=f.aggregate))
            if not f.is_container:
                lines.append(f"{pad}    [{', '.join(marks)}]")
            if f.choices and len(f.choices) <= 30:
                lines.extend(f"{pad}    - {c.name}: {c.label.get(lang)}" for c in f.choices)
            elif f.choices:
                shown = words["choices_from"].format(count=len(f.choices), list=f.list_name)
                lines.append(f"{pad}    {shown}")
            if f.is_container:
                show(f.children, depth + 1)

    show(form.top, 0)
    if form.rules:
        lines += ["", words["rules"]]
        for rule in form.rules:
            tier = f" {rule.tier} ({words[rule.tier]})" if rule.tier else ""
            lines.append(words["rule"].format(name=rule.name, tier=tier, when=rule.when))
            for key in ("concerns", "referrals", "deadlines", "opens", "withholds", "declines"):
                values = getattr(rule, key)
                if values:
                    lines.append(f"      {key}: {' '.join(values)}")
            message = rule.message.get(lang)
            if message:
                lines.append(f"      message: {message}")
    named = {n for rule in form.rules for n in rule.deadlines}
    shown = [d for d in form.deadlines if d.name in named or not named]
    if shown:
        lines += ["", words["deadlines_named"] if named else words["deadlines"]]
        for d in shown:
            lines.append(f"  {d.name} [{d.jurisdiction}] {d.hours:g} h: {d.label.get(lang)}")
            if d.basis:
                lines.append(f"      basis: {d.basis}")
            if d.notifies:
                lines.append(f"      notifies: {' '.join(d.notifies)}")
    return "\n".join(lines) + "\n"

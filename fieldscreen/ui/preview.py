"""A small sample screening that satisfies :class:`fieldscreen.ui.ports.FormsPort`.

The app runs it, and says so, when the build ships no built-in forms (``app.py``); the GUI
self-test, the screenshots and the GUI tests drive the screens with it. It is *not* the
product's engine: the sample form is a short stand-in for the built-in forms (consent, an intake
page with a gateway, and the trafficking module it opens). ``app.py`` wires the real engine
through the same protocol. (The in-memory vault the tests and screenshots use is a test double
and lives outside the package, in ``tests/support/memory_vault.py``.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fieldscreen.ui.ports import (
    TIERS,
    Alert,
    Choice,
    Deadline,
    FieldView,
    PageView,
    Referral,
    ScreeningResult,
    Update,
)

__all__ = ["SampleForms", "SampleScreening"]

T = dict[str, str]  # {"en": ..., "es": ...}


def _t(en: str, es: str) -> T:
    return {"en": en, "es": es}


YES_NO = (("yes", _t("Yes", "Sí")), ("no", _t("No", "No")))
RECIPIENTS = (
    ("legal", _t("Legal aid", "Asistencia legal")),
    ("health", _t("Health services", "Servicios de salud")),
    ("family", _t("Family tracing", "Búsqueda familiar")),
    ("shelter", _t("Shelter staff", "Personal del albergue")),
)


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str
    label: T
    hint: T | None = None
    choices: tuple[tuple[str, T], ...] = ()
    required: bool = False
    relevant: Callable[[Mapping[str, Any]], bool] | None = None
    appearance: str = ""
    pfa: T | None = None
    children: tuple[_Field, ...] = ()

    def view(self, lang: str) -> FieldView:
        return FieldView(
            name=self.name,
            kind=self.kind,
            label=self.label[lang],
            hint=self.hint[lang] if self.hint else "",
            choices=tuple(Choice(n, lab[lang]) for n, lab in self.choices),
            required=self.required,
            appearance=self.appearance,
            pfa=self.pfa[lang] if self.pfa else "",
            children=tuple(c.view(lang) for c in self.children),
        )


@dataclass(frozen=True)
class _Page:
    name: str
    form_id: str
    title: T
    fields: tuple[_Field, ...]


@dataclass(frozen=True)
class _Rule:
    name: str
    when: Callable[[Mapping[str, Any]], bool]
    tier: str
    concerns: tuple[str, ...]
    referrals: tuple[str, ...]
    deadline_hours: int | None
    deadline: T | None
    message: T
    opens: str = ""
    #: The questions ``when`` reads (they decide the tier until answered).
    reads: tuple[str, ...] = ()


def _yes(name: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda a: a.get(name) == "yes"


PAGES: tuple[_Page, ...] = (
    _Page(
        "consent",
        "fs_consent",
        _t("Consent and assent", "Consentimiento y asentimiento"),
        (
            _Field(
                "consent_intro",
                "note",
                _t(
                    "Explain who you are, why you ask, and that the child may stop at any time.",
                    "Explique quién es, por qué pregunta y que puede parar en cualquier momento.",
                ),
                pfa=_t(
                    "Sit at the child's level, speak slowly, offer water.",
                    "Siéntese a la altura del niño o niña, hable despacio, ofrezca agua.",
                ),
            ),
            _Field(
                "assent",
                "select_one",
                _t("Does the child agree to talk with you?", "¿Acepta hablar con usted?"),
                choices=YES_NO,
                required=True,
            ),
            _Field(
                "share",
                "select_multiple",
                _t(
                    "Who may we share this screening with?",
                    "¿Con quién podemos compartir este tamizaje?",
                ),
                hint=_t(
                    "Read each one aloud; tick only those the child agrees to.",
                    "Lea cada opción en voz alta; marque solo las que acepte.",
                ),
                choices=RECIPIENTS,
                relevant=_yes("assent"),
            ),
        ),
    ),
    _Page(
        "intake",
        "fs_intake",
        _t("Initial screening", "Tamizaje inicial"),
        (
            _Field(
                "alias",
                "text",
                _t("First name or alias", "Nombre o alias"),
                required=True,
            ),
            _Field("age", "integer", _t("Age in years", "Edad en años"), required=True),
            _Field(
                "arrival",
                "date",
                _t("Date of arrival at this site", "Fecha de llegada a este lugar"),
            ),
            _Field(
                "travelling_alone",
                "select_one",
                _t("Is the child travelling alone?", "¿Viaja solo o sola?"),
                choices=YES_NO,
                required=True,
            ),
            _Field(
                "companions",
                "repeat",
                _t("Adults travelling with the child", "Personas adultas que viajan con él o ella"),
                relevant=lambda a: a.get("travelling_alone") == "no",
                children=(
                    _Field("companion_name", "text", _t("Name", "Nombre")),
                    _Field("companion_relation", "text", _t("Relationship", "Parentesco")),
                ),
            ),
            _Field(
                "feared_nearby",
                "select_one",
                _t(
                    "Is someone the child fears here or nearby right now?",
                    "¿Hay aquí o cerca, en este momento, alguien a quien la niña o el niño teme?",
                ),
                choices=YES_NO,
                required=True,
                pfa=_t(
                    "If the child freezes, pause. Say: you are safe in this room.",
                    "Si se paraliza, haga una pausa. Diga: aquí estás a salvo.",
                ),
            ),
            _Field(
                "made_to_work",
                "select_one",
                _t(
                    "On the journey, was the child made to work or to do things they did not "
                    "want to?",
                    "En el camino, ¿obligaron a la niña o al niño a trabajar o a hacer cosas que "
                    "no quería?",
                ),
                choices=YES_NO,
                required=True,
            ),
            _Field("notes", "multiline", _t("Interviewer notes", "Notas de quien entrevista")),
        ),
    ),
    _Page(
        "trafficking",
        "fs_trafficking",
        _t("Trafficking indicators", "Indicadores de trata"),
        (
            _Field(
                "owes_debt",
                "select_one",
                _t(
                    "Does the child say they owe money for the journey?",
                    "¿Dice que debe dinero por el viaje?",
                ),
                choices=YES_NO,
                required=True,
            ),
            _Field(
                "debt_amount",
                "decimal",
                _t("Amount owed (US dollars)", "Monto que debe (dólares)"),
                relevant=_yes("owes_debt"),
            ),
            _Field(
                "control",
                "select_multiple",
                _t("Signs of control", "Señales de control"),
                choices=(
                    ("documents", _t("Documents taken", "Le quitaron sus documentos")),
                    ("threats", _t("Threats to family", "Amenazas a la familia")),
                    ("locked", _t("Kept locked in", "Le impidieron salir")),
                ),
            ),
            _Field(
                "last_contact",
                "time",
                _t(
                    "Time of last contact with the people who moved them",
                    "Hora del último contacto con quienes lo trasladaron",
                ),
            ),
            _Field(
                "understood",
                "acknowledge",
                _t(
                    "I told the child what happens next and who will contact them.",
                    "Le expliqué qué pasará ahora y quién lo contactará.",
                ),
                required=True,
            ),
        ),
    ),
)

RULES: tuple[_Rule, ...] = (
    _Rule(
        "T0_FEARED_PERSON_NEARBY",
        _yes("feared_nearby"),
        "T0",
        ("violence",),
        ("shelter",),
        0,
        _t("Safety plan in place", "Plan de seguridad activado"),
        _t(
            "Do not leave the child alone. Move them to a safe room now and call the site's "
            "protection lead. Do not confront the person.",
            "No deje a solas a la niña o al niño. Llévelo ahora a un cuarto seguro y llame a la "
            "persona responsable de protección. No confronte a esa persona.",
        ),
        reads=("feared_nearby",),
    ),
    _Rule(
        "T1_UNACCOMPANIED",
        _yes("travelling_alone"),
        "T1",
        ("separation",),
        ("family",),
        24,
        _t(
            "Report the unaccompanied child to the child-protection authority",
            "Notificar a la autoridad de protección de la niñez",
        ),
        _t("Start family tracing today.", "Inicie hoy la búsqueda familiar."),
        reads=("travelling_alone",),
    ),
    _Rule(
        "G_TRAFFICKING",
        _yes("made_to_work"),
        "T1",
        ("trafficking",),
        ("legal",),
        24,
        _t("Trafficking referral to legal aid", "Referencia por trata a asistencia legal"),
        _t(
            "The trafficking module has been added.",
            "Se añadió el módulo de trata.",
        ),
        opens="trafficking",
        reads=("made_to_work",),
    ),
    _Rule(
        "T1_DEBT_BONDAGE",
        lambda a: a.get("owes_debt") == "yes" or bool(a.get("control")),
        "T1",
        ("trafficking",),
        ("legal", "health"),
        None,
        None,
        _t("Refer for legal and health support.", "Refiera a apoyo legal y de salud."),
        reads=("owes_debt", "control"),
    ),
)

CONCERNS: dict[str, T] = {
    "violence": _t("Violence or threat", "Violencia o amenaza"),
    "separation": _t("Separated or unaccompanied", "Separado o no acompañado"),
    "trafficking": _t("Trafficking indicators", "Indicios de trata"),
}

#: The site's service directory: service type -> (label, provider, contact, recipient).
DIRECTORY: dict[str, tuple[T, str, str, str]] = {
    "shelter": (
        _t("Safe room and shelter security", "Cuarto seguro y seguridad"),
        "Casa del Migrante",
        "ext. 101",
        "shelter",
    ),
    "family": (
        _t("Family tracing", "Búsqueda familiar"),
        "Restoring Family Links",
        "+52 656 000 0000",
        "family",
    ),
    "legal": (
        _t("Legal aid", "Asistencia legal"),
        "Clínica Jurídica Fronteriza",
        "+52 656 000 0001",
        "legal",
    ),
    "health": (
        _t("Health clinic", "Clínica de salud"),
        "Centro de Salud Norte",
        "+52 656 000 0002",
        "health",
    ),
}


def _empty(value: Any) -> bool:
    return value is None or value in ("", []) or value is False


class SampleScreening:
    """A screening over :data:`PAGES` and :data:`RULES` (see the module docstring)."""

    form_id = "fs_sample"
    form_version = "1"

    def __init__(
        self,
        answers: Mapping[str, Any] | None = None,
        started: datetime | None = None,
    ) -> None:
        self._answers: dict[str, Any] = copy.deepcopy(dict(answers or {}))
        self._started = started or datetime.now(UTC)
        self._raised: dict[str, datetime] = {}
        self._refresh_raised()

    def _open_pages(self) -> list[_Page]:
        opened = {r.opens for r in RULES if r.opens and r.when(self._answers)}
        return [p for p in PAGES if p.form_id != "fs_trafficking" or "trafficking" in opened]

    def _fields(self) -> dict[str, _Field]:
        return {f.name: f for p in self._open_pages() for f in p.fields}

    def pages(self, lang: str) -> Sequence[PageView]:
        return [
            PageView(p.name, p.title[lang], p.form_id, tuple(f.view(lang) for f in p.fields))
            for p in self._open_pages()
        ]

    def value(self, name: str) -> Any:
        return copy.deepcopy(self._answers.get(name))

    def _refresh_raised(self) -> None:
        now = datetime.now(UTC)
        for rule in RULES:
            if rule.when(self._answers):
                self._raised.setdefault(rule.name, now)
            else:
                self._raised.pop(rule.name, None)

    def _tier(self) -> str:
        tiers = [r.tier for r in RULES if r.name in self._raised]
        return min(tiers, key=TIERS.index) if tiers else "T4"

    def current(self, lang: str, opened: tuple[str, ...] = ()) -> Update:
        fields = self._fields()
        relevant = {
            name: (f.relevant is None or f.relevant(self._answers)) for name, f in fields.items()
        }
        errors: dict[str, str] = {}
        age = self._answers.get("age")
        if isinstance(age, int) and not 0 <= age <= 17:
            errors["age"] = (
                "La edad debe estar entre 0 y 17."
                if lang == "es"
                else "Age must be between 0 and 17."
            )
        alerts = tuple(
            Alert(r.name, r.tier, r.message[lang]) for r in RULES if r.name in self._raised
        )
        deciding = {name for r in RULES if r.tier for name in r.reads}
        open_questions = sum(
            1
            for name in deciding
            if name in fields and relevant[name] and _empty(self._answers.get(name))
        )
        return Update(relevant, errors, self._tier(), alerts, opened, open_questions)

    def set_answer(self, name: str, value: Any, lang: str) -> Update:
        before = {p.name for p in self._open_pages()}
        if _empty(value):
            self._answers.pop(name, None)
        else:
            self._answers[name] = copy.deepcopy(value)
        self._refresh_raised()
        opened = tuple(p.title[lang] for p in self._open_pages() if p.name not in before)
        return self.current(lang, opened)

    def missing_required(self, page: str, lang: str) -> Mapping[str, str]:
        update = self.current(lang)
        missing: dict[str, str] = {}
        for p in self._open_pages():
            if p.name != page:
                continue
            for f in p.fields:
                if (
                    f.required
                    and update.relevant.get(f.name, True)
                    and _empty(self._answers.get(f.name))
                ):
                    missing[f.name] = (
                        "Falta esta respuesta." if lang == "es" else ("This answer is needed.")
                    )
            missing.update(
                {k: v for k, v in update.errors.items() if k in {f.name for f in p.fields}}
            )
        return missing

    def to_state(self) -> dict[str, Any]:
        return {
            "answers": copy.deepcopy(self._answers),
            "started": self._started.isoformat(),
        }

    def case_card(self) -> dict[str, Any]:
        return {k: self._answers[k] for k in ("alias", "age") if k in self._answers}

    # What the engine does and the sample form does not: nothing kept, nothing suggested.
    def aggregate(self, day: date) -> None:
        return None

    def follow_up_cadence(self) -> None:
        return None

    def set_aside(self, lang: str) -> tuple[()]:
        return ()

    def fill_from_suggestions(self, name: str, lang: str) -> None:
        return None

    def tier_override(self) -> None:
        return None

    def override_tier(self, tier: str, reason: str, supervisor: str) -> bool:
        return False

    def release_referral(self, service: str, reason: str, supervisor: str) -> bool:
        return False

    def result(self, lang: str) -> ScreeningResult:
        raised = [r for r in RULES if r.name in self._raised]
        concerns = sorted({c for r in raised for c in r.concerns})
        shared = set(self._answers.get("share") or ())
        deadlines = tuple(
            Deadline(r.deadline[lang], self._raised[r.name] + timedelta(hours=r.deadline_hours))
            for r in raised
            if r.deadline is not None and r.deadline_hours is not None
        )
        types = sorted({s for r in raised for s in r.referrals})
        referrals = tuple(
            Referral(
                t,
                DIRECTORY[t][0][lang],
                DIRECTORY[t][1],
                DIRECTORY[t][2],
                DIRECTORY[t][3] in shared,
            )
            for t in types
        )
        return ScreeningResult(
            tier=self._tier(),
            concerns=tuple(CONCERNS[c][lang] for c in concerns),
            deadlines=tuple(sorted(deadlines, key=lambda d: d.due)),
            referrals=referrals,
            alerts=tuple(Alert(r.name, r.tier, r.message[lang]) for r in raised),
        )


class SampleForms:
    """:class:`~fieldscreen.ui.ports.FormsPort` over the sample screening: one version, no
    context, nothing to load ahead, no stop reasons of its own."""

    context: Mapping[str, Any] | None = None

    def warm(self) -> None:
        return None

    def update_context(self, values: Mapping[str, Any]) -> None:
        return None

    def migration(self, state: Mapping[str, Any], lang: str) -> None:
        return None

    def stop_reasons(self, lang: str) -> list[tuple[str, str]]:
        return []

    def start(self, lang: str) -> SampleScreening:
        return SampleScreening()

    def restore(self, state: Mapping[str, Any]) -> SampleScreening:
        return SampleScreening(
            state.get("answers", {}),
            datetime.fromisoformat(str(state["started"])),
        )

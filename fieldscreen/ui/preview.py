"""An in-memory vault and a small sample screening that satisfy :mod:`fieldscreen.ui.ports`.

They let the screens be rendered and driven without a vault file or the form engine: the
screenshots, the GUI self-test and the GUI tests use them. They are *not* the product's store or
engine: nothing here is encrypted or written to disk, and the sample form is a short stand-in
for the built-in forms (consent, an intake page with a gateway, and the trafficking module it
opens). ``app.py`` wires the real vault and engine through the same protocols.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fieldscreen.errors import KnownError
from fieldscreen.followup import record_done
from fieldscreen.ui.ports import (
    ACT_NOW,
    TIERS,
    Alert,
    CaseSummary,
    Choice,
    Deadline,
    DraftSummary,
    FieldView,
    PageView,
    Referral,
    ScreeningResult,
    Update,
    UserInfo,
    earliest_deadline,
    login_problem,
    record_code,
)

__all__ = ["MemoryVault", "SampleForms", "SampleScreening"]

T = dict[str, str]  # {"en": ..., "es": ...}


def _t(en: str, es: str) -> T:
    return {"en": en, "es": es}


def _vault_error(code: str, **context: Any) -> KnownError:
    """The error the real vault raises for ``code`` (its package is imported only when a
    refusal is met, so that rendering the screens does not load it)."""
    from fieldscreen.vault.errors import UnlockFailed, VaultError

    return UnlockFailed() if code == "vault-unlock-failed" else VaultError(code, **context)


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
                    "¿Hay alguien a quien teme aquí o cerca en este momento?",
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
                    "En el camino, ¿lo obligaron a trabajar o a hacer cosas que no quería?",
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
                    ("documents", _t("Documents taken", "Le quitaron documentos")),
                    ("threats", _t("Threats to family", "Amenazas a la familia")),
                    ("locked", _t("Kept locked in", "Lo tuvieron encerrado")),
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
            "No deje solo al niño o niña. Llévelo ahora a un cuarto seguro y llame a la persona "
            "responsable de protección. No confronte a esa persona.",
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
    """:class:`~fieldscreen.ui.ports.FormsPort` over the sample screening."""

    def start(self, lang: str) -> SampleScreening:
        return SampleScreening()

    def restore(self, state: Mapping[str, Any]) -> SampleScreening:
        return SampleScreening(
            state.get("answers", {}),
            datetime.fromisoformat(str(state["started"])),
        )


def _digest(salt: bytes, passphrase: str) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=salt, n=2**10, r=8, p=1)


class MemoryVault:
    """:class:`~fieldscreen.ui.ports.VaultPort` in memory (see the module docstring).

    ``delay`` seconds are slept in every write, so tests can see that the "saved" indicator
    waits for the write to return.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, tuple[str, bytes, bytes]] = {}
        self._failures: dict[str, int] = {}
        self._drafts: dict[str, tuple[dict[str, Any], datetime]] = {}
        self._cases: dict[str, CaseSummary] = {}
        self._unlocked: str | None = None
        self.delay = delay
        self.writes = 0
        self.finalised: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}
        #: ``(aggregate, day, site)`` of the finalised screenings (the coordinator report's).
        self.kept_aggregates: list[tuple[dict[str, Any], str, str]] = []
        #: App-level audit events (``record_event``).
        self.events: list[tuple[str, dict[str, Any]]] = []

    @classmethod
    def with_users(cls, users: Sequence[tuple[str, str, str]]) -> MemoryVault:
        """A store holding ``(name, role, passphrase)`` accounts, locked."""
        vault = cls()
        first, *rest = users
        vault.create_user(*first)
        vault.unlock(first[0], first[2])
        for name, role, passphrase in rest:
            vault.create_user(name, role, passphrase, confirm=first[2])
        vault.lock()
        return vault

    # accounts
    def is_set_up(self) -> bool:
        return bool(self._users)

    def users(self) -> Sequence[UserInfo]:
        return [UserInfo(n, r) for n, (r, _, _) in sorted(self._users.items())]

    def create_user(self, name: str, role: str, passphrase: str, confirm: str = "") -> None:
        if self._users and not (self._unlocked and self.verify(self._unlocked, confirm)):
            raise _vault_error("vault-unlock-failed")
        if login_problem(name) is not None:  # the vault's own rule
            raise _vault_error("vault-login-invalid")
        salt = os.urandom(16)
        with self._lock:
            self._users[name] = (role, salt, _digest(salt, passphrase))

    def remove_user(self, name: str, confirm: str) -> Mapping[str, Any]:
        if not (self._unlocked and self.verify(self._unlocked, confirm)):
            raise _vault_error("vault-unlock-failed")
        if name not in self._users:
            raise _vault_error("vault-user-unknown")
        admins = [n for n, (r, _, _) in self._users.items() if r == "admin"]
        if name == self._unlocked or admins == [name]:
            raise _vault_error("vault-last-admin")
        with self._lock:
            del self._users[name]
        return self.rotate_keys(confirm)

    def rotate_keys(self, confirm: str) -> Mapping[str, Any]:
        if not (self._unlocked and self.verify(self._unlocked, confirm)):
            raise _vault_error("vault-unlock-failed")
        return {"data_keys": len(self._drafts) + len(self._cases), "must_be_added_again": []}

    def verify(self, name: str, passphrase: str) -> bool:
        entry = self._users.get(name)
        if entry is None:
            return False
        return hmac.compare_digest(entry[2], _digest(entry[1], passphrase))

    def unlock(self, name: str, passphrase: str) -> UserInfo:
        if not self.verify(name, passphrase):
            self._failures[name] = self._failures.get(name, 0) + 1
            raise _vault_error("vault-unlock-failed")
        self._failures[name] = 0
        self._unlocked = name
        return UserInfo(name, self._users[name][0])

    def failed_attempts(self, name: str) -> int:
        return self._failures.get(name, 0)

    def integrity_alert(self) -> KnownError | None:
        return None  # nothing outside this process can change the memory store

    def lock(self) -> None:
        self._unlocked = None

    def _require_unlocked(self) -> None:
        if self._unlocked is None:
            raise _vault_error("vault-locked")

    # records
    def new_draft(self, form_id: str, form_version: str, state: Mapping[str, Any]) -> str:
        self._require_unlocked()
        record_id = uuid.uuid4().hex
        with self._lock:
            self._drafts[record_id] = (copy.deepcopy(dict(state)), datetime.now(UTC))
            self.writes += 1
        return record_id

    def save_draft(self, record_id: str, state: Mapping[str, Any]) -> None:
        self._require_unlocked()
        if self.delay:
            threading.Event().wait(self.delay)
        with self._lock:
            if record_id not in self._drafts:
                raise _vault_error("vault-record-state", state="finalised")
            self._drafts[record_id] = (copy.deepcopy(dict(state)), datetime.now(UTC))
            self.writes += 1

    def load_draft(self, record_id: str) -> Mapping[str, Any]:
        self._require_unlocked()
        return copy.deepcopy(self._drafts[record_id][0])

    def drafts(self) -> Sequence[DraftSummary]:
        self._require_unlocked()
        return [
            DraftSummary(rid, record_code(rid), when)
            for rid, (_, when) in sorted(self._drafts.items(), key=lambda i: i[1][1])
        ]

    def finalise(
        self,
        record_id: str,
        record: Mapping[str, Any],
        case_card: Mapping[str, Any],
        aggregate: Mapping[str, Any] | None = None,
    ) -> None:
        self._require_unlocked()
        with self._lock:
            if record_id not in self._drafts:
                raise _vault_error("vault-record-state", state="finalised")
            del self._drafts[record_id]
            due = case_card.get("next_due")
            self._cases[record_id] = CaseSummary(
                record_id,
                record_code(record_id),
                str(case_card.get("alias", "")),
                str(case_card.get("tier", "T4")),
                tuple(case_card.get("concerns", ())),
                datetime.fromisoformat(due) if due else None,
                "finalised",
                datetime.now(UTC),
                *earliest_deadline(case_card),
            )
            self.finalised[record_id] = copy.deepcopy(dict(record))
            self.cards[record_id] = copy.deepcopy(dict(case_card))
            if aggregate is not None:
                day = datetime.now(UTC).date().isoformat()
                self.kept_aggregates.append((copy.deepcopy(dict(aggregate)), day, ""))
            self.writes += 1

    def add_case(self, case: CaseSummary) -> None:
        with self._lock:
            self._cases[case.screening_id] = case

    def cases(self) -> Sequence[CaseSummary]:
        self._require_unlocked()
        return list(self._cases.values())

    def case_card(self, record_id: str) -> Mapping[str, Any]:
        self._require_unlocked()
        if record_id not in self.cards:
            raise _vault_error("vault-record-unknown")
        return copy.deepcopy(self.cards[record_id])

    def record_follow_up(self, record_id: str, when: datetime) -> Mapping[str, Any]:
        self._require_unlocked()
        with self._lock:
            if record_id not in self.cards:
                raise _vault_error("vault-record-unknown")
            card = record_done(self.cards[record_id], when)
            self.cards[record_id] = card
            due = card.get("next_due")
            case = self._cases[record_id]
            self._cases[record_id] = case._replace(
                next_due=datetime.fromisoformat(due) if due else None
            )
            self.writes += 1
        return copy.deepcopy(card)

    def pending(self) -> int:
        return len(self.finalised)

    def record_event(self, action: str, detail: Mapping[str, Any]) -> None:
        self._require_unlocked()
        with self._lock:
            self.events.append((action, dict(detail)))

    def aggregates(self) -> list[tuple[dict[str, Any], str, str]]:
        self._require_unlocked()
        with self._lock:
            return copy.deepcopy(self.kept_aggregates)

    def travel_mode(self) -> int:
        self._require_unlocked()
        with self._lock:
            sealed = 0
            for sid, case in list(self._cases.items()):
                if case.status == "finalised":
                    self._cases[sid] = CaseSummary(
                        sid, case.code, "", case.tier, (), case.next_due, "sealed", case.updated
                    )
                    sealed += 1
            return sealed

    def wipe(self) -> None:
        with self._lock:
            self._users.clear()
            self._drafts.clear()
            self._cases.clear()
            self._unlocked = None


assert ACT_NOW in TIERS

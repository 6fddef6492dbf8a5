"""Keyed pseudonymous match tokens: the same child recognised across sites, blind.

A laptop derives a few tokens from a child's normalised identifiers and the organisation's
*match secret* (it arrives in the signed provisioning file and is kept in the encrypted vault),
and sends them beside the screening's aggregate record. The server compares tokens and flags
possible matches to coordinators; it never sees a name, a date of birth or the secret. The
privacy analysis is in ``docs/privacy-matching.md``.

Tokens (each ``kind-hex``, 128 bits of HMAC-SHA256 under a key derived from the secret):

* ``nd``: every given name (normalised, in alphabetical order) and the date of birth;
* ``nac``: every given name, the age band and the country of origin;
* ``fdc``: the first given name, the date of birth and the country of origin;

so a second given name dropped or added, names given in another order, accents, case,
spacing, hyphens and a few letters written differently (``ß``/``ss``, ``ñ``/``n``) still
match, and so does an estimated age when the date of birth is unknown. A child with no given
name gives no token at all.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldscreen.crypto import derive_subkey, hmac_sha256

__all__ = [
    "MATCH_SECRET_BYTES",
    "TOKEN_KINDS",
    "Identity",
    "identity_from_state",
    "match_tokens",
    "normalise_country",
    "normalise_dob",
    "normalise_names",
    "parse_tokens",
]

MATCH_SECRET_BYTES = 32
#: Token kind -> what it is made of (docs/privacy-matching.md).
TOKEN_KINDS: Mapping[str, str] = {
    "nd": "given names + date of birth",
    "nac": "given names + age band + country of origin",
    "fdc": "first given name + date of birth + country of origin",
}
_LABEL = "fieldscreen/match-token/v1"
_TOKEN_HEX = 32
_TOKEN = re.compile(r"^(nd|nac|fdc)-[0-9a-f]{32}$")
_AGE_BANDS = frozenset({"0_5", "6_11", "12_14", "15_17"})
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_COUNTRY = re.compile(r"^[A-Za-z]{2,3}$")
#: Letters that do not decompose into a base letter and a mark.
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
    }
)


def normalise_names(text: object) -> tuple[str, ...]:
    """Given names as comparable words: case folded, accents and marks removed, a few letters
    transliterated, anything but letters a separator (hyphens, apostrophes, dots, spaces)."""
    if not isinstance(text, str):
        return ()
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATE))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    plain = plain.translate(_TRANSLITERATE)
    words = "".join(c if c.isalpha() else " " for c in plain).split()
    return tuple(words)


def normalise_dob(value: object) -> str | None:
    """A date of birth as ``YYYY-MM-DD`` (a form's date, or its tagged form), else None."""
    if isinstance(value, Mapping):
        value = value.get("date")
    if not isinstance(value, str):
        return None
    match = _DAY.match(value.strip()[:10])
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def normalise_country(value: object) -> str | None:
    """A country code in capitals (the first of several, in alphabetical order), else None."""
    codes = value if isinstance(value, list) else str(value or "").split()
    clean = sorted({c.upper() for c in codes if isinstance(c, str) and _COUNTRY.match(c)})
    return clean[0] if clean else None


@dataclass(frozen=True, slots=True)
class Identity:
    """The identifiers a token is made of, already normalised; kept only in memory."""

    given_names: tuple[str, ...]
    dob: str | None = None
    age_band: str | None = None
    country: str | None = None

    @classmethod
    def of(
        cls,
        given_names: object,
        *,
        dob: object = None,
        age_band: object = None,
        country: object = None,
    ) -> Identity:
        return cls(
            normalise_names(given_names),
            normalise_dob(dob),
            age_band if isinstance(age_band, str) and age_band in _AGE_BANDS else None,
            normalise_country(country),
        )


def _parts(identity: Identity) -> dict[str, tuple[str, ...]]:
    names = identity.given_names
    if not names:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    every = " ".join(sorted(names))
    if identity.dob:
        out["nd"] = (every, identity.dob)
    if identity.age_band and identity.country:
        out["nac"] = (every, identity.age_band, identity.country)
    if identity.dob and identity.country:
        out["fdc"] = (names[0], identity.dob, identity.country)
    return out


@functools.lru_cache(maxsize=4)
def _token_key(secret: bytes) -> bytes:
    return derive_subkey(secret, _LABEL)


def match_tokens(identity: Identity, secret: bytes) -> list[str]:
    """The child's tokens under the organisation's match secret, sorted (none without a given
    name; fewer when the date of birth, age band or country is unknown)."""
    key = _token_key(bytes(secret))
    tokens = []
    for kind, parts in _parts(identity).items():
        message = "\x1f".join((kind, *parts)).encode("utf-8")
        tokens.append(f"{kind}-{hmac_sha256(key, message)[: _TOKEN_HEX // 2].hex()}")
    return sorted(tokens)


def parse_tokens(value: object) -> list[str]:
    """The tokens of an aggregate's ``match`` list, strictly (a server refuses anything else).

    Raises:
        ValueError: not a list of at most one token per kind.
    """
    if not isinstance(value, list) or len(value) > len(TOKEN_KINDS):
        raise ValueError("match tokens are not a short list")
    if not all(isinstance(t, str) and _TOKEN.match(t) for t in value):
        raise ValueError("a match token is malformed")
    kinds = [t.split("-", 1)[0] for t in value]
    if len(set(kinds)) != len(kinds):
        raise ValueError("two match tokens of one kind")
    return sorted(value)


def _answers(state: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level answers of every form of an engine's (or one session's) saved state."""
    forms = state.get("forms")
    sessions: Iterable[Any] = forms.values() if isinstance(forms, Mapping) else [state]
    out: dict[str, Any] = {}
    for session in sessions:
        answers = session.get("answers") if isinstance(session, Mapping) else None
        for item in answers if isinstance(answers, list) else ():
            if isinstance(item, Sequence) and len(item) == 3 and item[1] == []:
                out.setdefault(str(item[0]), item[2])
    return out


def identity_from_state(state: Mapping[str, Any], age_band: object = None) -> Identity:
    """The identifiers of a screening's saved state: ``given_names``, ``dob``, the country of
    birth (else the first nationality) and the age band (the aggregate's, else the forms')."""
    answers = _answers(state)
    country = answers.get("country_of_birth") or answers.get("nationalities")
    return Identity.of(
        answers.get("given_names"),
        dob=answers.get("dob"),
        age_band=age_band if age_band in _AGE_BANDS else answers.get("age_band"),
        country=country,
    )


def match_consent(state: Mapping[str, Any]) -> bool:
    """Whether the child agreed that a specialist may be told of an earlier screening
    (the consent form's ``check_earlier_screening`` answer is yes)."""
    return _answers(state).get("check_earlier_screening") == "yes"

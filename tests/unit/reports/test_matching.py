"""Match tokens: normalisation, what matches, and a dictionary attack with and without the
organisation's secret (docs/privacy-matching.md)."""

from __future__ import annotations

import datetime as dt
import os
import random

import pytest

from fieldscreen.reports.matching import (
    TOKEN_KINDS,
    Identity,
    identity_from_state,
    match_consent,
    match_tokens,
    normalise_names,
    parse_tokens,
)

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))

#: A small attacker's dictionary: common given names of the region, dates of birth of the
#: children screened (0 to 17 years), and the countries of origin.
NAMES = [
    "María", "José", "Juan", "Ana", "Carlos", "Luis", "Jorge", "Rosa", "Daniela", "Kevin",
    "Brayan", "Yeimi", "Wilmer", "Dulce", "Esther", "Fernando", "Génesis", "Heidy", "Ixchel",
    "Jefferson", "Karla", "Lesly", "Marvin", "Nayeli", "Óscar", "Pedro", "Quetzali", "Ricardo",
    "Sofía", "Tomás",
]  # fmt: skip
COUNTRIES = ["GT", "HN", "SV", "MX", "NI", "VE", "HT", "CU"]
FULL = os.environ.get("FIELDSCREEN_FULL") == "1"


def _dates(count: int, rng: random.Random) -> list[str]:
    start = dt.date(2008, 1, 1)
    return [(start + dt.timedelta(days=rng.randrange(18 * 365))).isoformat() for _ in range(count)]


def test_small_differences_still_match() -> None:
    base = match_tokens(
        Identity.of("María José", dob="2010-03-04", age_band="15_17", country="HN"), SECRET
    )
    assert len(base) == len(TOKEN_KINDS)
    variants = [
        Identity.of("  maria   jose ", dob="2010-03-04", age_band="15_17", country="hn"),
        Identity.of("MARÍA-JOSÉ", dob="2010-03-04", age_band="15_17", country=["HN"]),
        Identity.of("José María", dob="2010-03-04", age_band="15_17", country="HN"),
        Identity.of("María", dob="2010-03-04", age_band="15_17", country="HN"),  # 2nd dropped
        Identity.of("Maria Jose", age_band="15_17", country="HN"),  # date of birth not given
    ]
    for identity in variants:
        assert set(match_tokens(identity, SECRET)) & set(base), identity


def test_transliteration_basics() -> None:
    assert normalise_names("Jürgen-Maß O'Neil") == ("jurgen", "mass", "o", "neil")
    assert normalise_names("Øystein Łukasz Ñoño") == ("oystein", "lukasz", "nono")
    assert normalise_names(None) == ()


def test_different_children_and_secrets_do_not_match() -> None:
    one = match_tokens(Identity.of("Ana", dob="2011-01-01", country="GT"), SECRET)
    other = match_tokens(Identity.of("Ana", dob="2011-01-02", country="GT"), SECRET)
    assert not set(one) & set(other)
    assert not set(one) & set(
        match_tokens(Identity.of("Ana", dob="2011-01-01", country="GT"), OTHER_SECRET)
    )
    assert match_tokens(Identity.of("", dob="2011-01-01", country="GT"), SECRET) == []


def test_tokens_parse_strictly() -> None:
    tokens = match_tokens(Identity.of("Ana", dob="2011-01-01", country="GT"), SECRET)
    assert parse_tokens(tokens) == tokens
    for bad in ("Ana", ["nd-xyz"], [*tokens, tokens[0]], ["ab-" + "0" * 32], [1]):
        with pytest.raises(ValueError):
            parse_tokens(bad)


def test_identity_and_consent_from_a_saved_state() -> None:
    state = {
        "forms": {
            "fs_consent": {
                "answers": [["age_band", [], "12_14"], ["check_earlier_screening", [], "yes"]]
            },
            "fs_intake": {
                "answers": [
                    ["given_names", [], "Ana Lucía"],
                    ["dob", [], "2013-05-06"],
                    ["nationalities", [], ["sv", "gt"]],
                    ["fm_name", [0], "someone else"],
                ]
            },
        }
    }
    identity = identity_from_state(state)
    assert identity == Identity(("ana", "lucia"), "2013-05-06", "12_14", "GT")
    assert match_consent(state)
    assert not match_consent({"forms": {}})


def _attack(tokens: set[str], guess_secret: bytes, rng: random.Random) -> int:
    """Try every (name, date of birth, country) of the dictionary under ``guess_secret``; the
    children whose token the attacker reproduced."""
    recovered = 0
    dates = _dates(150 if not FULL else 2000, rng)
    found: set[str] = set()
    for name in NAMES:
        for dob in dates:
            for country in COUNTRIES:
                identity = Identity.of(name, dob=dob, country=country)
                for token in match_tokens(identity, guess_secret):
                    if token in tokens and token not in found:
                        found.add(token)
                        recovered += 1
    return recovered


@pytest.mark.parametrize("seed", [1, 2, 3] if FULL else [1])
def test_dictionary_attack_recovers_nothing_without_the_secret(seed: int) -> None:
    """An attacker with every token the server holds and the algorithm, trying common names ×
    dates of birth × countries. With the organisation's secret unknown (guessed: a zero key, a
    key from the organisation's name, another organisation's secret) it recovers 0 children;
    the same attack on tokens made with a secret the attacker knows (as good as none) recovers
    the children in its dictionary, so the attack is real and the test can fail."""
    rng = random.Random(seed)
    dates = _dates(150, random.Random(seed))  # the attack's own dates include these
    children = [
        Identity.of(rng.choice(NAMES), dob=rng.choice(dates), country=rng.choice(COUNTRIES))
        for _ in range(40)
    ]
    held = {t for child in children for t in match_tokens(child, SECRET)}
    known = bytes(32)  # a deployment that never set a secret: every device would share this
    held_unkeyed = {t for child in children for t in match_tokens(child, known)}
    guesses = [bytes(32), b"fieldscreen".ljust(32, b"\0"), OTHER_SECRET]
    recovered_keyed = sum(_attack(held, guess, random.Random(seed)) for guess in guesses)
    recovered_unkeyed = _attack(held_unkeyed, known, random.Random(seed))
    print(f"dictionary attack, seed {seed}: keyed recovered {recovered_keyed}, "
          f"secret known recovered {recovered_unkeyed} of {len(held_unkeyed)} tokens")  # fmt: skip
    assert recovered_keyed == 0
    assert recovered_unkeyed >= len(children)  # at least one token per child reproduced

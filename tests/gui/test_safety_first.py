"""The immediate-safety block (B0) comes before the rest of consent in a built-in screening."""

from __future__ import annotations

from fieldscreen.app import _LazyEngine


def test_b0_follows_getting_ready_and_precedes_the_consent_questions() -> None:
    engine = _LazyEngine({"site": "tij1", "role": "specialist"})
    for lang in ("en", "es"):
        names = [p.name for p in engine.start(lang).pages(lang)]
        assert names[:3] == [
            "fs_consent:a1_setup",
            "fs_consent:a2_age_state",
            "fs_intake:b0_safety",
        ]
        assert names.index("fs_intake:b0_safety") < names.index("fs_consent:a5_child")
        assert names.count("fs_intake:b0_safety") == 1
        # the rest keeps its order: consent, then the intake after B0
        rest = [n for n in names if n != "fs_intake:b0_safety"]
        consent = [n for n in rest if n.startswith("fs_consent:")]
        assert rest[: len(consent)] == consent


def test_a_signed_off_override_is_kept_by_the_engine_in_the_state() -> None:
    import pytest

    from fieldscreen.forms.errors import OverrideError

    engine = _LazyEngine({"site": "tij1", "role": "specialist"})
    screening = engine.start("en")
    assert screening.tier_override() is None
    with pytest.raises(OverrideError):
        screening.override_tier("T0", "  ", "sup")  # a reason is needed
    with pytest.raises(OverrideError):
        screening.override_tier("T0", "Threatening calls", "")  # and a supervisor
    screening.override_tier("T0", "Threatening calls", "sup")
    override = screening.tier_override()
    assert (override.tier, override.supervisor) == ("T0", "sup")
    again = engine.restore(screening.to_state())
    kept = again.tier_override()
    assert kept is not None
    assert (kept.tier, kept.reason, kept.supervisor) == ("T0", "Threatening calls", "sup")

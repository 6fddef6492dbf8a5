"""The words every layer shares, listed once: the risk tiers and the field kinds.

Pure and free of imports, so the form engine, the screens, the reports, the sync simulation and
the server's checks all take them from here instead of keeping a list of their own (a second
list drifts: a tier added in one place and not another is a screening counted nowhere).
"""

from __future__ import annotations

__all__ = ["ACT_NOW", "KINDS", "NO_CURRENT_RISK", "TIERS"]

#: Risk tiers, most urgent first: ``T0`` act now, ``T1`` within 24 h, ``T2`` within 72 h,
#: ``T3`` within 7 days, ``T4`` no current risk.
TIERS = ("T0", "T1", "T2", "T3", "T4")
ACT_NOW = TIERS[0]
NO_CURRENT_RISK = TIERS[-1]

#: Field kinds of a loaded form, after pyxform's aliases are resolved.
KINDS = (
    "text",
    "integer",
    "decimal",
    "date",
    "datetime",
    "time",
    "select_one",
    "select_multiple",
    "rank",
    "image",
    "audio",
    "video",
    "file",
    "note",
    "calculate",
    "acknowledge",
    "hidden",
    "group",
    "repeat",
)

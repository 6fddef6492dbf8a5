"""The sample service directories: one fictional site per jurisdiction, in the documented format."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.content.builtin import list_names, sheets
from tests.content.scenarios import FORM_IDS, ROOT

SAMPLES = sorted((ROOT / "resources" / "samples").glob("service-directory-*.json"))
BILINGUAL = ("en", "es")
TOP = {
    "format",
    "format_version",
    "sample_data",
    "notice",
    "directory_id",
    "version",
    "site",
    "services",
}
SERVICE = {
    "id",
    "name",
    "provider_kind",
    "service_types",
    "contact",
    "hours",
    "languages",
    "ages",
    "notes",
}


def _bilingual(value: Any, where: str) -> None:
    assert isinstance(value, dict), where
    assert set(value) == set(BILINGUAL), where
    assert all(isinstance(value[k], str) and value[k].strip() for k in BILINGUAL), where


def test_one_sample_site_in_each_jurisdiction() -> None:
    countries = {json.loads(p.read_text(encoding="utf-8"))["site"]["jurisdiction"] for p in SAMPLES}
    assert countries == {"MX", "GT", "HN", "SV", "US"}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_directory_follows_the_format(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) == TOP
    assert doc["format"] == "fieldscreen-service-directory"
    assert doc["format_version"] == 1
    assert doc["sample_data"] is True
    _bilingual(doc["notice"], "notice")
    assert doc["notice"]["en"].startswith("SAMPLE DATA")
    assert doc["notice"]["es"].startswith("DATOS DE EJEMPLO")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", doc["version"])
    languages, types = list_names("languages.csv"), list_names("service_types.csv")
    site = doc["site"]
    _bilingual(site["name"], "site.name")
    assert site["jurisdiction"] in {"MX", "GT", "HN", "SV", "US"}
    assert set(site["languages"]) <= languages
    ids = [s["id"] for s in doc["services"]]
    assert len(ids) == len(set(ids)), "service ids must be unique"
    for service in doc["services"]:
        where = f"{path.name}:{service['id']}"
        assert set(service) == SERVICE, where
        assert re.fullmatch(r"[a-z0-9-]+", service["id"]), where
        for key in ("name", "hours", "notes"):
            _bilingual(service[key], f"{where}:{key}")
        _bilingual(service["contact"]["address"], f"{where}:address")
        assert service["contact"]["email"].endswith("@example.org"), where
        assert service["contact"]["phone"].startswith("(sample)"), where
        assert service["service_types"], where
        assert set(service["service_types"]) <= types, where
        assert set(service["languages"]) <= languages, where
        assert service["provider_kind"] in {"authority", "ngo", "health", "own_agency"}, where
        assert 0 <= service["ages"]["min"] <= service["ages"]["max"] <= 17, where


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_act_now_referral_has_a_provider_at_each_sample_site(path: Path) -> None:
    """The service types that T0 rules name can be served at every sample site."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    offered = {t for s in doc["services"] for t in s["service_types"]}
    urgent = {
        ref
        for form_id in FORM_IDS
        for rule in sheets(form_id)["rules"]
        if rule.get("tier") == "T0"
        for ref in rule.get("referrals", "").split()
    }
    assert urgent <= offered, sorted(urgent - offered)

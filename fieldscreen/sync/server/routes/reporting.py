"""What staff read and do over the whole store: statistics, the coordinator report (aggregate
records only; see docs/aggregates.md), matches between screenings (docs/privacy-matching.md,
every reading audited) and an admin's retention run."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from fieldscreen.sync.server.routes.auth import Admin, Device, Server, Staff
from fieldscreen.sync.server.routes.wire import RetentionRequest, RetentionResult

__all__ = ["router"]

router = APIRouter()

_WEEK = r"^(\d{4}-W\d{2})?$"


@router.get("/admin/stats", tags=["staff"])
def stats(principal: Staff, context: Server) -> dict[str, Any]:
    return context.storage.repos.reporting.stats(principal)


@router.get("/admin/report", tags=["staff"])
def report(
    principal: Staff,
    context: Server,
    from_week: Annotated[str, Query(pattern=_WEEK)] = "",
    to_week: Annotated[str, Query(pattern=_WEEK)] = "",
    site: Annotated[list[str] | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The coordinator report over the caller's sites: suppressed counts and chart series
    built from the aggregate records only (see docs/aggregates.md). ``from_week`` and
    ``to_week`` (ISO weeks, inclusive) and ``site`` (repeat) narrow what is counted; the
    answer also lists the weeks and sites that hold records, for the app's filters."""
    from fieldscreen.reports.coordinator import (
        ReportFilter,
        coordinator_report,
        weeks_and_sites,
    )

    wanted = ReportFilter(from_week, to_week, frozenset(site or ()))
    aggregates = list(context.storage.repos.reporting.iter_aggregates(principal))
    weeks, sites = weeks_and_sites(aggregates)
    body = coordinator_report(aggregates, keep=wanted).to_json()
    return {**body, "weeks": weeks, "sites": sites, "filter": wanted.to_params()}


@router.get("/device/matches", tags=["device"])
def device_matches(principal: Device, context: Server) -> dict[str, Any]:
    """For the calling device's own screenings whose child agreed that the specialist be
    told: the earlier screenings that share a token (site, week, tier, record id). See
    docs/privacy-matching.md; audited."""
    return {"matches": context.storage.repos.matching.told_matches(principal)}


@router.get("/admin/matches", tags=["staff"])
def matches(principal: Staff, context: Server) -> dict[str, Any]:
    """Possible matches between screenings (they share a child's match token; see
    docs/privacy-matching.md): a coordinator's pairs with a screening of their sites, an
    admin's every pair. Each reading is written to the audit log; a device is refused."""
    return context.storage.repos.matching.matches(principal)


@router.post("/admin/retention", response_model=RetentionResult, tags=["staff"])
def retention(body: RetentionRequest, principal: Admin, context: Server) -> RetentionResult:
    return RetentionResult(
        destroyed=context.storage.repos.reporting.apply_retention(body.days, principal.label)
    )

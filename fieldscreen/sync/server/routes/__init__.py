"""The API's routes, one router per area, in the order the OpenAPI document lists them:
``health`` (open), ``enrolment`` (a device's first contact, the codes staff hand out),
``devices`` (a device's status, the staff's list and revocation), ``ingest`` (envelopes up,
relayed bundles), ``receipts``, ``documents`` (forms, directories and provisionings down,
publishing), ``reporting`` (statistics, the coordinator report, matches, retention) and
``handovers`` (sealed packets for partner organisations, and their acknowledgements).

Who may call a route is a dependency of its signature (:mod:`.auth`: ``Device``, ``Staff``,
``Admin``, ``Partner``); what it takes and answers are the models of :mod:`.wire`.
``api.create_app`` assembles them.
"""

from fastapi import APIRouter

from fieldscreen.sync.server.routes import (
    devices,
    documents,
    enrolment,
    handovers,
    health,
    ingest,
    receipts,
    reporting,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    enrolment.router,
    devices.router,
    ingest.router,
    receipts.router,
    documents.router,
    reporting.router,
    handovers.router,
)

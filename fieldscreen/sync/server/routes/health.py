"""The open health route: the protocol, the version and the receipt key's id."""

from fastapi import APIRouter

from fieldscreen import PROTOCOL_VERSION, __version__
from fieldscreen.sync.envelope import key_id_hex
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.routes.auth import Server
from fieldscreen.sync.server.routes.wire import Health

__all__ = ["router"]

router = APIRouter(tags=["open"])


@router.get("/health", response_model=Health)
def health(context: Server) -> Health:
    try:
        receipt_key_id: str | None = key_id_hex(context.storage.repos.keys.keys().receipt_public)
    except ServerError:  # not initialised yet: nobody can enrol anyway
        receipt_key_id = None
    return Health(
        status="ok",
        protocol=PROTOCOL_VERSION,
        version=__version__,
        receipt_key_id=receipt_key_id,
    )

from fastapi import APIRouter

from pestle.auth.dependencies import AnyUser
from pestle.events import service as events
from pestle.events.catalogue import EventType
from pestle.notifications.schemas import EventDescriptor

router = APIRouter(prefix="/notifications", tags=["Notifications"])


@router.get("/events", response_model=list[EventDescriptor])
async def list_events(_: AnyUser) -> tuple[EventType, ...]:
    """List every event code that can be subscribed to."""
    return events.catalogue()

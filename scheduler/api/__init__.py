"""The /v1/ JSON API (SPEC §2), shaped like Aurinko's Booking API.

Routers parse and authorize; services decide. One router module per area, one schema module,
one serializer module and one error module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.views.decorators.http import require_safe
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from scheduler.api import (
    account,
    availability,
    bookings,
    calendars,
    errors,
    feeds,
    groups,
    profiles,
    routers,
    webhooks,
)


class UtcEncoder(NinjaJSONEncoder):
    """Instants leave in UTC with `Z` and whole seconds (SPEC: "the service answers in UTC"),
    whatever offset the client sent them with."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime) and o.utcoffset() is not None:
            o = o.astimezone(UTC).replace(microsecond=0)
        return super().default(o)


class UtcRenderer(JSONRenderer):
    encoder_class = UtcEncoder


api = NinjaAPI(
    title="Booking API",
    version="1.0.0",
    urls_namespace="v1",
    description="Self-hosted booking service with Aurinko Booking API-shaped endpoints.",
    renderer=UtcRenderer(),
    # The OpenAPI document and its page are read-only: other methods are 405, not 200.
    docs_decorator=require_safe,
)
errors.install(api)
# The modules above have added their operations to the routers.
AREAS = (profiles, availability, bookings, calendars, groups, feeds, webhooks, account)
api.add_router("/book/account", routers.account)
api.add_router("/book/group", routers.group)
api.add_router("/book", routers.public)

"""The API's routers. Each area's module adds its operations to them: one path may carry
operations of two areas (GET …/meeting is availability, POST …/meeting a booking), and ninja
routes a path through one router only."""

from __future__ import annotations

from ninja import Router

from scheduler.api.auth import AccountToken, AppKeyBasic, AppKeyBearer

# /v1/book/account/…: the account's own objects, with its Bearer token.
account = Router(auth=AccountToken(), tags=["Booking"])
# /v1/book/group/…: an organization's group profiles, with an app key (SPEC §8).
group = Router(auth=[AppKeyBasic(), AppKeyBearer()], tags=["GroupBooking"])
# /v1/book/{handle}/{name}/…: an active profile's public endpoints, no token.
public = Router(tags=["Availability"])

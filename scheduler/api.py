"""The /v1/ JSON API (filled in by the API issue)."""

from ninja import NinjaAPI

api = NinjaAPI(title="Booking API", version="1.0.0", urls_namespace="v1")

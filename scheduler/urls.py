"""Public pages (filled in by the public pages issue)."""

urlpatterns: list = []

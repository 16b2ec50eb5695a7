"""Smoke test: the admin index and every admin changelist answer 200 for a superuser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factory import make_account, make_booking, make_event, make_profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def some_rows():
    account = make_account()
    profile = make_profile(account)
    start = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)
    make_booking(profile, start, start + timedelta(minutes=30))
    make_event(account, start + timedelta(hours=2), start + timedelta(hours=3))


def test_admin_index_and_every_changelist(admin_client, some_rows):
    index = admin_client.get(reverse("admin:index"))
    assert index.status_code == 200
    registered = list(admin.site._registry)
    assert len(registered) >= 6  # our six models plus Django's own
    for model in registered:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert url in index.content.decode(), f"{url} is not linked from the admin index"
        response = admin_client.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"


def test_admin_requires_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

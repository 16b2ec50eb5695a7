"""Migrations: none missing, and the PostgreSQL overlap guard (on attendees since 0009)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from tests.factory import make_booking, make_profile

T0 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_no_migration_is_missing():
    out = io.StringIO()
    # Exits with status 1 when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_overlapping_live_bookings_per_database():
    """PostgreSQL refuses two live bookings of one account that overlap, whatever the code
    does; SQLite has no such constraint and relies on the serialising transaction."""
    profile = make_profile()
    make_booking(profile, T0, T0 + timedelta(minutes=30))
    # A cancelled booking and a booking that only touches are always fine.
    make_booking(profile, T0, T0 + timedelta(minutes=30), status="cancelled")
    make_booking(profile, T0 + timedelta(minutes=30), T0 + timedelta(minutes=60))

    def overlap():
        with transaction.atomic():
            make_booking(profile, T0 + timedelta(minutes=15), T0 + timedelta(minutes=45))

    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError, match="attendee_no_overlap_per_account"):
            overlap()
    else:
        overlap()
    # Another account's booking may take the same time everywhere.
    make_booking(make_profile(), T0, T0 + timedelta(minutes=30))

"""`manage.py seed_demo`: a demo host with two profiles, a few bookings and an admin login.

Idempotent: a second run updates the same rows instead of adding new ones, except that it
issues a fresh API token and sets a fresh admin password, both printed, because neither is
stored in clear anywhere.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from scheduler.models import Account, ApiToken, Booking, Profile
from scheduler.services import availability, bookings
from scheduler.services.errors import SlotUnavailable

DEMO_HANDLE = "demo"
ADMIN_USERNAME = "admin"

PROFILES: dict[str, dict[str, Any]] = {
    "intro": {
        "subject": "Intro call with {{name}}",
        "description": "A short first conversation.\nJoin: {{openMeetingUrl}}",
        "location": "Video call",
        "duration_minutes": 30,
        "availability_step": 30,
        "start_conference": True,
    },
    "consult": {
        "subject": "Consultation: {{topic}}",
        "description": "Company: {{company:}}\nWhat we will cover: {{topic}}",
        "location": "Video call",
        "duration_minutes": 60,
        "availability_step": 30,
        "buffer_between_minutes": 15,
        "start_conference": True,
    },
}

# (profile, index into its free slots, invitee, substitution data)
DEMO_BOOKINGS = [
    ("intro", 2, ("Grace Hopper", "grace@example.com"), {}),
    ("intro", 9, ("Alan Turing", "alan@example.com"), {}),
    ("consult", 12, ("Ada Lovelace", "ada@example.com"), {"topic": "Engines", "company": ""}),
]


class Command(BaseCommand):
    help = "Create (or refresh) demo data: host @demo, two profiles, bookings, an admin login."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            admin_user, password = self._admin()
            account = self._account(admin_user)
            profiles = {name: self._profile(account, name, data) for name, data in PROFILES.items()}
        created = self._bookings(account, profiles)
        _, raw = ApiToken.issue(account, "demo")

        self.stdout.write(f"Demo page:      {settings.SITE_URL}/{DEMO_HANDLE}/intro/")
        self.stdout.write(f"                {settings.SITE_URL}/{DEMO_HANDLE}/consult/")
        self.stdout.write(f"Admin:          {settings.SITE_URL}/admin/")
        self.stdout.write(f"Admin login:    {ADMIN_USERNAME} / {password}")
        self.stdout.write(f"API token:      {raw}")
        if created:
            self.stdout.write(f"Demo bookings:  {created} made")
        else:
            self.stdout.write("Demo bookings:  none made (the demo host already has bookings)")

    def _admin(self) -> tuple[Any, str]:
        # Nothing is stored in clear, so the login is printed on every run: the password comes
        # from DEMO_ADMIN_PASSWORD or is freshly generated.
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        return user, password

    def _account(self, owner: Any) -> Account:
        account, _ = Account.objects.get_or_create(
            handle=DEMO_HANDLE,
            defaults={
                "name": "Demo Host",
                "email": "demo-host@example.com",
                "timezone": "Europe/London",
                "owner": owner,
            },
        )
        account.primary_calendar()
        return account

    def _profile(self, account: Account, name: str, data: dict[str, Any]) -> Profile:
        profile, _ = Profile.objects.update_or_create(account=account, name=name, defaults=data)
        return profile

    def _bookings(self, account: Account, profiles: dict[str, Profile]) -> int:
        """Demo bookings are made once, through the booking service like any other booking."""
        if Booking.objects.filter(account=account).exists():
            return 0
        created = 0
        for profile_name, index, (name, email), data in DEMO_BOOKINGS:
            profile = profiles[profile_name]
            # Start a day out so the bookings are comfortably in the future.
            slots = availability.compute(profile).slots
            slots = [s for s in slots if s[0] >= slots[0][0] + timedelta(days=1)] if slots else []
            if len(slots) <= index:
                continue
            start, end = slots[index]
            try:
                bookings.book(
                    profile, start=start, end=end, name=name, email=email, substitution_data=data
                )
            except SlotUnavailable:
                continue
            created += 1
        return created

"""`manage.py createaccount EMAIL --handle H --name N --timezone TZ`: a host and its token."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from scheduler.models import Account, ApiToken, Organization


class Command(BaseCommand):
    help = "Create a booking account (host) and print a new API token for it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The host's email address: the organizer of bookings.")
        parser.add_argument("--handle", required=True, help="Slug used in public links.")
        parser.add_argument("--name", default="", help="Display name (default: the handle).")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Europe/Paris.")
        parser.add_argument("--token-name", default="cli", help="A label for the new token.")
        parser.add_argument("--org", default="", help="Handle of the organization to join.")

    def handle(self, *args: Any, **options: Any) -> None:
        org = None
        if options["org"]:
            org = Organization.objects.filter(handle=options["org"]).first()
            if org is None:
                raise CommandError(f"--org {options['org']!r}: no organization has this handle")
        account = Account(
            email=options["email"],
            handle=options["handle"],
            name=options["name"] or options["handle"],
            timezone=options["timezone"],
            organization=org,
        )
        try:
            account.full_clean()
        except ValidationError as exc:
            raise CommandError(_describe(exc, options)) from exc
        with transaction.atomic():
            account.save()
            _, raw = ApiToken.issue(account, options["token_name"])
        member = f", member of @{org.handle}" if org else ""
        self.stdout.write(f"Created account @{account.handle} ({account.email}){member}.")
        self.stdout.write(f"id: {account.pk}")
        self.stdout.write("API token (shown once, store it now):")
        self.stdout.write(raw)


_ARGUMENT = {"email": "EMAIL", "handle": "--handle", "name": "--name", "timezone": "--timezone"}


def _describe(exc: ValidationError, options: dict[str, Any]) -> str:
    """One line per bad argument, naming it and the value given."""
    lines = []
    for field, msgs in exc.message_dict.items():
        arg = _ARGUMENT.get(field, field)
        value = options.get(field, "")
        lines.append(f"{arg} {value!r}: {' '.join(msgs)}")
    return "\n".join(lines)

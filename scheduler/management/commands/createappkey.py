"""`manage.py createappkey HANDLE`: an app key for the organization's group API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scheduler.models import Organization
from scheduler.services import groups


class Command(BaseCommand):
    help = "Create an app key for /v1/book/group/* and print it once as clientId:secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("handle", help="The organization's handle.")
        parser.add_argument("--key-name", default="cli", help="A label for the new key.")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(handle=options["handle"]).first()
        if org is None:
            raise CommandError(f"HANDLE {options['handle']!r}: no organization has this handle")
        _, raw = groups.issue_app_key(org, options["key_name"])
        self.stdout.write(raw)

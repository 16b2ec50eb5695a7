"""`manage.py createorg HANDLE --name N --timezone TZ`: an organization for group booking."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scheduler.services import groups
from scheduler.services.errors import InvalidInput


class Command(BaseCommand):
    help = "Create an organization (its handle shares the accounts' public names)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("handle", help="Slug used in public links, e.g. acme.")
        parser.add_argument("--name", default="", help="Display name (default: the handle).")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Europe/Paris.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            org = groups.create_organization(
                options["handle"], options["name"], options["timezone"]
            )
        except InvalidInput as exc:
            arguments = {"handle": "HANDLE", "name": "--name", "timezone": "--timezone"}
            raise CommandError(
                "\n".join(
                    f"{arguments.get(field, field)} {options.get(field, '')!r}: {' '.join(msgs)}"
                    for field, msgs in exc.fields.items()
                )
            ) from exc
        self.stdout.write(f"Created organization @{org.handle} ({org.name}, {org.timezone}).")
        self.stdout.write(f"id: {org.pk}")

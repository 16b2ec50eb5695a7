"""Accounts, their tokens and calendars, booking profiles, bookings and builtin events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_slug
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.timezone import now as tz_now

from scheduler.rules import group, origins, schedule
from scheduler.rules.availability import ALLOWED_STEPS, Rules
from scheduler.rules.schedule import (
    RuleError,
    build_rules,
    is_timezone,
    normalize_availability_intervals,
    normalize_work_hours,
    validate_period,
)

MANAGE_SALT = "scheduler.booking.manage"
# The address check's link has its own token: a client shown the manage token (the public
# API answers it) must not be able to confirm a booking without the mail (SPEC §9).
VERIFY_SALT = "scheduler.booking.verify"

# Words the site's own paths use, so a handle can never shadow them.
RESERVED_HANDLES = frozenset(
    {
        "admin",
        "v1",
        "static",
        "bookings",
        "booking",
        "account",
        "accounts",
        "api",
        "docs",
        "media",
        "manage",
        "login",
        "logout",
        "health",
        "favicon.ico",
        "robots.txt",
        "group",
    }
)


def handle_taken(handle: str, *, account_id: int | None = None, org_id: int | None = None) -> bool:
    """Whether another account or organization already uses `handle`: the two share one
    site-wide set of public names (SPEC §8)."""
    accounts = Account.objects.filter(handle__iexact=handle)
    orgs = Organization.objects.filter(handle__iexact=handle)
    if account_id is not None:
        accounts = accounts.exclude(pk=account_id)
    if org_id is not None:
        orgs = orgs.exclude(pk=org_id)
    return accounts.exists() or orgs.exists()


def validate_handle(value: str) -> None:
    validate_slug(value)
    if value.lower() in RESERVED_HANDLES:
        raise ValidationError(f"{value!r} is reserved for the site's own pages; choose another")


def validate_timezone(value: str) -> None:
    if not is_timezone(value):
        raise ValidationError(f"{value!r} is not an IANA time zone such as Europe/London")


def _check_rule(fn, value) -> None:
    try:
        fn(value)
    except RuleError as exc:
        raise ValidationError(str(exc)) from exc


def validate_work_hours(value) -> None:
    _check_rule(normalize_work_hours, value)


def validate_availability_intervals(value) -> None:
    _check_rule(normalize_availability_intervals, value)


def validate_time_available_for(value) -> None:
    _check_rule(validate_period, value)


def validate_reminders(value) -> None:
    _check_rule(schedule.check_reminders, value)


def validate_embed_origins(value) -> None:
    try:
        origins.check_origins(value)
    except origins.OriginError as exc:
        raise ValidationError(exc.problems) from exc


def validate_step(value: int) -> None:
    if value not in ALLOWED_STEPS:
        raise ValidationError(f"{value} is not one of {', '.join(map(str, ALLOWED_STEPS))}")


def new_feed_key() -> str:
    return secrets.token_urlsafe(24)


class Organization(models.Model):
    """A team whose group profiles book several of its member accounts (SPEC §8)."""

    handle = models.CharField(max_length=64, unique=True, validators=[validate_handle])
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(default=tz_now)

    class Meta:
        ordering = ["handle"]

    def __str__(self) -> str:
        return f"{self.name} (@{self.handle})"

    def validate_unique(self, exclude=None) -> None:
        super().validate_unique(exclude)
        if self.handle and handle_taken(self.handle, org_id=self.pk):
            raise ValidationError({"handle": [f"{self.handle!r} is already taken"]})


class Account(models.Model):
    handle = models.CharField(max_length=64, unique=True, validators=[validate_handle])
    name = models.CharField(max_length=200)
    email = models.EmailField()
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="booking_accounts",
        help_text="The staff user who may manage this account in admin.",
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accounts",
        help_text="The team whose group profiles may book this host (at most one).",
    )
    # The key of the account's calendar feeds (SPEC §9); rotating it cuts off old links.
    feed_key = models.CharField(max_length=64, default=new_feed_key, editable=False)
    # Origins whose pages may frame this account's booking pages (SPEC §10 `embedOrigins`).
    embed_origins = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_embed_origins],
        help_text="Sites that may show the booking pages in an iframe (?embed=1).",
    )
    created_at = models.DateTimeField(default=tz_now)

    class Meta:
        ordering = ["handle"]

    def __str__(self) -> str:
        return f"{self.name} (@{self.handle})"

    def validate_unique(self, exclude=None) -> None:
        super().validate_unique(exclude)
        if self.handle and handle_taken(self.handle, account_id=self.pk):
            raise ValidationError({"handle": [f"{self.handle!r} is already taken"]})

    def primary_calendar(self) -> Calendar:
        """The primary calendar; a builtin one is created on first use."""
        calendar = self.calendars.filter(role=Calendar.Role.PRIMARY).first()
        if calendar is None:
            calendar, _ = Calendar.objects.get_or_create(
                account=self,
                role=Calendar.Role.PRIMARY,
                defaults={"kind": Calendar.Kind.BUILTIN, "name": "Bookings"},
            )
        return calendar


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class Credential(models.Model):
    """What an API token and an app key share: a name, only a hash of the secret, when it
    was last used, and revocation."""

    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=tz_now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()
    HASH_FIELD = ""

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @classmethod
    def _live(cls, secret: str, owner: str):
        """The live credential whose secret is `secret`, compared in constant time; its last
        use is recorded (at most once a minute: writing on every request would serialise
        readers on SQLite)."""
        if not secret or len(secret) > 200:
            return None
        digest = hash_token(secret)
        rows = cls.objects.active().select_related(owner).filter(**{cls.HASH_FIELD: digest})
        found = rows.first()
        if found is None or not hmac.compare_digest(getattr(found, cls.HASH_FIELD), digest):
            return None
        now = tz_now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            cls.objects.filter(pk=found.pk).update(last_used_at=now)
            found.last_used_at = now
        return found

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ApiToken(Credential):
    PREFIX = "bk_"
    HASH_FIELD = "token_hash"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta(Credential.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'token'})"

    @classmethod
    def issue(cls, account: Account, name: str = "") -> tuple[ApiToken, str]:
        """Create a token; the raw value is returned once and never stored."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            account=account, name=name, prefix=raw[:10], token_hash=hash_token(raw)
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        """The live token matching `raw`."""
        return cls._live(raw, "account")


class AppKey(Credential):
    """An organization's key for /v1/book/group/* (Aurinko's AppAuth): `clientId` + secret,
    only the secret's hash stored."""

    HASH_FIELD = "secret_hash"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="app_keys"
    )
    client_id = models.CharField(max_length=40, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta(Credential.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.client_id} ({self.name or 'app key'})"

    @classmethod
    def issue(cls, organization: Organization, name: str = "") -> tuple[AppKey, str]:
        """A new key; `clientId:secret` is returned once and the secret never stored."""
        client_id = "app_" + secrets.token_hex(8)
        secret = "sk_" + secrets.token_urlsafe(32)
        key = cls.objects.create(
            organization=organization,
            name=name,
            client_id=client_id,
            secret_hash=hash_token(secret),
        )
        return key, f"{client_id}:{secret}"

    @classmethod
    def authenticate(cls, secret: str, client_id: str | None = None) -> AppKey | None:
        """The live key whose secret is `secret` (and whose id is `client_id`, when given)."""
        if client_id is not None and len(client_id) > 100:
            return None
        found = cls._live(secret, "organization")
        if found is None:
            return None
        if client_id is not None and not hmac.compare_digest(found.client_id, client_id):
            return None
        return found


class Calendar(models.Model):
    class Kind(models.TextChoices):
        BUILTIN = "builtin", "Built-in"
        ICS = "ics", "ICS feed"
        CALDAV = "caldav", "CalDAV"

    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary (bookings are written here)"
        BUSY = "busy", "Busy source (read-only)"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="calendars")
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BUILTIN)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.BUSY)
    url = models.URLField(max_length=2000, blank=True)
    username = models.CharField(max_length=200, blank=True)
    password = models.CharField(max_length=500, blank=True)
    # Fetch state of ics/caldav calendars: the parsed copy lives here so that an
    # availability request never parses a feed.
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    busy_intervals = models.JSONField(default=list, blank=True, editable=False)
    # Bumped whenever a builtin calendar's own events change: the cache key of their busy copy.
    events_version = models.PositiveIntegerField(default=0, editable=False)
    busy_from = models.DateTimeField(null=True, blank=True)
    busy_until = models.DateTimeField(null=True, blank=True)
    # Set while one process reads the calendar: others wait for its copy instead of reading
    # it too. A lease, so a process that died mid-read blocks nobody past this instant.
    reading_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=tz_now)

    class Meta:
        ordering = ["account", "-role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(role="primary"),
                name="one_primary_calendar_per_account",
            ),
            models.CheckConstraint(
                condition=~Q(role="primary", kind="ics"), name="ics_calendar_is_never_primary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.get_kind_display()} [{self.role}]"

    @staticmethod
    def mask_secrets(text: str, password: str = "") -> str:
        """`text` with `password`, and any password inside a URL, masked."""
        if len(password) >= 4:  # a shorter one would mask ordinary letters everywhere
            text = text.replace(password, "***")
        return re.sub(r"(//[^/@:\s]*):[^/@\s]*@", r"\1:***@", text)

    def masked(self, text: str) -> str:
        """`text` (this calendar's URL or error) with its secrets masked."""
        return self.mask_secrets(text, self.password)


class Required(models.TextChoices):
    """Who must be free (SPEC §8): every unit, or at least one."""

    ONE = "one", "One (round robin)"
    ALL = "all", "All (collective)"


class ProfileQuerySet(models.QuerySet):
    def at(self, handle: str, name: str) -> ProfileQuerySet:
        """The profile at `/{handle}/{name}/`: a handle names an account or an organization
        (one namespace, SPEC §8)."""
        owner = Q(account__handle=handle) | Q(organization__handle=handle)
        return self.select_related("account", "organization").filter(owner, name=name)


class Profile(models.Model):
    """A booking profile: an account's own, or an organization's group profile (SPEC §8)."""

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="profiles"
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="profiles",
    )
    required = models.CharField(
        max_length=3,
        choices=Required.choices,
        default=Required.ALL,
        help_text="Group profiles: who must be free when a request does not say.",
    )
    client_org_id = models.CharField(max_length=200, blank=True)
    name = models.SlugField(max_length=100)
    duration_minutes = models.PositiveIntegerField(
        default=30,
        validators=[
            MinValueValidator(schedule.DURATION_MINUTES.lo),
            MaxValueValidator(schedule.DURATION_MINUTES.hi),
        ],
    )
    availability_step = models.PositiveIntegerField(default=30, validators=[validate_step])
    buffer_between_minutes = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(schedule.BUFFER_MINUTES.hi)]
    )
    start_after_minutes = models.PositiveIntegerField(default=60)
    time_available_for = models.CharField(
        max_length=40, default="P30D", validators=[validate_time_available_for]
    )
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=500, blank=True)
    open_meeting_url = models.URLField(max_length=1000, null=True, blank=True)
    start_conference = models.BooleanField(default=False)
    work_hours = models.JSONField(
        null=True,
        blank=True,
        validators=[validate_work_hours],
        help_text="Empty: Monday–Friday 09:00–17:00 in the account's time zone.",
    )
    availability_intervals = models.JSONField(
        null=True, blank=True, validators=[validate_availability_intervals]
    )
    max_bookings_per_day = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    active = models.BooleanField(default=True)
    context = models.TextField(blank=True)
    # Notifications (SPEC §9): reminder mails before the start, the invitee's deadlines, and
    # public bookings held until the invitee confirms their address.
    reminder_minutes = models.JSONField(default=list, blank=True, validators=[validate_reminders])
    cancel_notice_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(schedule.DEADLINE_MINUTES.hi)],
        help_text="Minutes before the start after which the invitee can no longer cancel.",
    )
    reschedule_notice_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(schedule.DEADLINE_MINUTES.hi)],
        help_text="Minutes before the start after which the invitee can no longer move it.",
    )
    require_email_verification = models.BooleanField(
        default=False,
        help_text="Public bookings wait for the invitee to confirm their address.",
    )
    created_at = models.DateTimeField(default=tz_now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProfileQuerySet.as_manager()

    class Meta:
        ordering = ["account", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="one_profile_name_per_account"
            ),
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=Q(organization__isnull=False),
                name="one_profile_name_per_organization",
            ),
            models.CheckConstraint(
                condition=Q(account__isnull=False, organization__isnull=True)
                | Q(account__isnull=True, organization__isnull=False),
                name="profile_has_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(required__in=["one", "all"]), name="profile_required_one_or_all"
            ),
            models.CheckConstraint(
                condition=Q(
                    duration_minutes__gte=schedule.DURATION_MINUTES.lo,
                    duration_minutes__lte=schedule.DURATION_MINUTES.hi,
                ),
                name="profile_duration_5_to_720",
            ),
            models.CheckConstraint(
                condition=Q(availability_step__in=ALLOWED_STEPS), name="profile_step_allowed"
            ),
            models.CheckConstraint(
                condition=Q(buffer_between_minutes__lte=schedule.BUFFER_MINUTES.hi),
                name="profile_buffer_at_most_240",
            ),
            models.CheckConstraint(
                condition=Q(start_time__isnull=True)
                | Q(end_time__isnull=True)
                | Q(end_time__gt=models.F("start_time")),
                name="profile_active_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.handle}/{self.name}"

    @property
    def is_group(self) -> bool:
        return self.organization_id is not None

    @property
    def owner(self) -> Account | Organization:
        return self.organization if self.is_group else self.account

    @property
    def handle(self) -> str:
        return self.owner.handle

    @property
    def host_name(self) -> str:
        return self.owner.name

    def clean(self) -> None:
        try:
            schedule.check_active_period(self.start_time, self.end_time, field="end_time")
        except RuleError as exc:
            raise ValidationError({"end_time": exc.errors["end_time"]}) from exc
        # Store the normalised wire form (lower-case day names, HH:MM:SS): `rules()` reads
        # only that form, and the field validators accept e.g. "Monday" or "09:00".
        try:
            if self.work_hours is not None:
                self.work_hours = normalize_work_hours(self.work_hours)
            if self.availability_intervals is not None:
                self.availability_intervals = normalize_availability_intervals(
                    self.availability_intervals
                )
        except RuleError:
            pass  # the field validators already reported it, naming the field

    @property
    def timezone(self) -> str:
        return (self.work_hours or {}).get("timezone") or self.owner.timezone

    @property
    def scheduler_link(self) -> str:
        """The public booking page's address."""
        path = reverse("profile-page", kwargs={"handle": self.handle, "name": self.name})
        return settings.SITE_URL + path

    def group_units(self) -> list[group.Unit]:
        """The group profile's units in tie-break order (SPEC §8), members ascending."""
        members: dict[int, list[int]] = {}
        for unit_id, account_id in UnitMember.objects.filter(profile=self).values_list(
            "unit_id", "account_id"
        ):
            members.setdefault(unit_id, []).append(account_id)
        units = [
            group.Unit(u.ext_id, u.required, tuple(sorted(members[u.pk])))
            for u in self.units.order_by("id")
            if members.get(u.pk)
        ]
        return group.ordered(units)

    def rules(self) -> Rules:
        return build_rules(
            account_timezone=self.owner.timezone,
            work_hours=self.work_hours,
            availability_intervals=self.availability_intervals,
            duration_minutes=self.duration_minutes,
            step_minutes=self.availability_step,
            buffer_minutes=self.buffer_between_minutes,
            start_after_minutes=self.start_after_minutes,
            time_available_for=self.time_available_for,
            active_from=self.start_time,
            active_until=self.end_time,
            max_bookings_per_day=self.max_bookings_per_day,
        )


class Unit(models.Model):
    """One unit of a group profile (SPEC §8): an attached account (`ext_id` empty, one member)
    or a group of accounts. Units are kept in attach order (their ids)."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="units")
    ext_id = models.CharField(max_length=200, blank=True)
    required = models.CharField(max_length=3, choices=Required.choices, default=Required.ALL)

    class Meta:
        ordering = ["profile", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "ext_id"],
                condition=~Q(ext_id=""),
                name="one_group_ext_id_per_profile",
            ),
        ]

    def __str__(self) -> str:
        return self.ext_id or "attached account"

    @property
    def is_group(self) -> bool:
        return bool(self.ext_id)


class UnitMember(models.Model):
    """An account in a unit; an account is in at most one unit of a profile."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="members")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="unit_members")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="unit_members")

    class Meta:
        ordering = ["unit", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "account"], name="one_unit_per_account_and_profile"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} in {self.unit}"


class BookingQuerySet(models.QuerySet):
    """Rows holding a booking's time and status: bookings, and their attendees' copies."""

    def live(self, now: datetime | None = None) -> BookingQuerySet:
        """Confirmed bookings and reservations that have not expired: they block time."""
        now = now or tz_now()
        return self.filter(
            Q(status=Booking.Status.CONFIRMED)
            | Q(status=Booking.Status.RESERVED, expires_at__gt=now)
        )

    def overlapping(self, lo: datetime, hi: datetime) -> BookingQuerySet:
        return self.filter(start__lt=hi, end__gt=lo)


class Delivery(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    NONE = "none"


def new_uid() -> str:
    return f"{uuid.uuid4()}@booking"


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class Booking(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bookings")
    profile = models.ForeignKey(
        Profile, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONFIRMED)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    substitution_data = models.JSONField(default=dict, blank=True)
    # Rendered from the profile's templates (500 characters) with values of up to 1,000 each,
    # so unbounded: never truncated, and no overflow on PostgreSQL (SPEC §11).
    subject = models.TextField(blank=True)
    description = models.TextField(blank=True)
    location = models.TextField(blank=True)
    conference_url = models.URLField(max_length=1000, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    uid = models.CharField(max_length=255, unique=True, default=new_uid, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    mail_state = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.NONE)
    mail_attempts = models.PositiveIntegerField(default=0)
    mail_error = models.TextField(blank=True)
    # Messages already accepted by the SMTP server, as "method:sequence:recipient-role", so a
    # retry after a partial failure never sends the same message twice.
    mail_sent = models.JSONField(default=list, blank=True, editable=False)
    calendar_state = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.NONE
    )
    calendar_attempts = models.PositiveIntegerField(default=0)
    calendar_error = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Group bookings (SPEC §8): the mode they were made under, and the unit chosen under
    # `one` ("account:<id>" or "group:<extId>"), which counts for that unit's turn.
    group_mode = models.CharField(max_length=3, blank=True)
    unit_key = models.CharField(max_length=220, blank=True)
    # A public booking held until the invitee confirms their address (SPEC §9).
    awaiting_verification = models.BooleanField(default=False)
    # The invitee's zone and language (SPEC §10): their pages and mails use them. Empty: the
    # profile's zone and the site's language.
    timezone = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=tz_now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["account", "status", "start"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="booking_end_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(status="reserved") | Q(expires_at__isnull=False),
                name="reservation_has_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.start:%Y-%m-%d %H:%M} {self.name or self.email}"

    def save(self, *args, **kwargs) -> None:
        """Save, and keep the attendees' copies of time and status in step: the rows that the
        no-overlap rule and every host's busy time read. The account is always an attendee
        (the organizer, first)."""
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            Attendee.objects.create(
                booking=self, account_id=self.account_id, **self._attendee_copy()
            )
            return
        fields = kwargs.get("update_fields")
        if fields is None or set(fields) & self._ATTENDEE_COPY:
            Attendee.objects.filter(booking=self).update(**self._attendee_copy())

    _ATTENDEE_COPY = frozenset({"start", "end", "status", "expires_at"})

    def _attendee_copy(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "expires_at": self.expires_at,
        }

    @property
    def group_xid(self) -> str:
        kind, _, value = self.unit_key.partition(":")
        return value if kind == "group" else ""

    def attendee_ids(self) -> list[int]:
        """Every host attending, the organizer first."""
        if self.pk is None:
            return [self.account_id]
        return list(self.attendees.order_by("position", "id").values_list("account_id", flat=True))

    # --- the invitee's links: an unguessable token, checked against the booking's secret ---

    def manage_token(self) -> str:
        """The token of the invitee's manage, cancel and reschedule links."""
        return signing.Signer(salt=MANAGE_SALT).sign(f"{self.pk}.{self.secret}")

    def verify_token(self) -> str:
        """The token of the address check's link, known only to the invitee's mailbox."""
        return signing.Signer(salt=VERIFY_SALT).sign(f"{self.pk}.{self.secret}")

    @classmethod
    def from_manage_token(cls, token: str, salt: str = MANAGE_SALT) -> Booking | None:
        """The booking a manage token names, or None when it is forged or mistyped."""
        try:
            value = signing.Signer(salt=salt).unsign(token)
        except signing.BadSignature:
            return None
        pk, _, secret = value.partition(".")
        if not pk.isdigit():
            return None
        found = cls.objects.select_related("account", "profile").filter(pk=pk).first()
        if found is None or not secrets.compare_digest(found.secret, secret):
            return None
        return found

    def _link(self, name: str) -> str:
        return settings.SITE_URL + reverse(name, kwargs={"token": self.manage_token()})

    def manage_url(self) -> str:
        return self._link("booking-manage")

    def cancel_url(self) -> str:
        return self._link("booking-cancel")

    def reschedule_url(self) -> str:
        return self._link("booking-reschedule")

    def ics_url(self) -> str:
        return self._link("booking-ics")

    def verify_url(self) -> str:
        path = reverse("booking-verify", kwargs={"token": self.verify_token()})
        return settings.SITE_URL + path

    def meeting_url(self) -> str:
        """Where the meeting happens: its own conference room, else the profile's link."""
        if self.conference_url:
            return self.conference_url
        return (self.profile.open_meeting_url or "") if self.profile else ""

    @property
    def invitee_zone(self) -> ZoneInfo:
        """The zone the invitee's pages and mails show times in."""
        if self.timezone:
            return ZoneInfo(self.timezone)
        if self.profile is not None:
            return ZoneInfo(self.profile.timezone)
        return ZoneInfo(self.account.timezone)

    def is_live(self, now: datetime | None = None) -> bool:
        now = now or tz_now()
        if self.status == self.Status.CONFIRMED:
            return True
        return self.status == self.Status.RESERVED and bool(
            self.expires_at and self.expires_at > now
        )


class Attendee(models.Model):
    """A host attending a booking: its own account's, or each host a group booking chose.
    Time and status are copies of the booking's (kept by `Booking.save`), so one account's
    busy time and the PostgreSQL no-overlap constraint read this table alone."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="attendees")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="attendances")
    position = models.PositiveIntegerField(default=0)
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Booking.Status.choices)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = BookingQuerySet.as_manager()  # the same time and status as its booking

    class Meta:
        ordering = ["booking", "position", "id"]
        indexes = [models.Index(fields=["account", "start"])]
        constraints = [
            models.UniqueConstraint(fields=["booking", "account"], name="one_attendance_per_host"),
        ]

    def __str__(self) -> str:
        return f"{self.account} at #{self.booking_id}"


class EventQuerySet(models.QuerySet):
    def busy(self) -> EventQuerySet:
        return self.filter(transparent=False, cancelled=False, end__gt=models.F("start"))

    def overlapping(self, lo: datetime, hi: datetime) -> EventQuerySet:
        return self.filter(start__lt=hi, end__gt=lo)


class Event(models.Model):
    """An event on a builtin calendar: a booking written there, or time the host blocked."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="events")
    # One event per host calendar the booking was written to (a group booking has several).
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    uid = models.CharField(max_length=255, default=new_uid)
    summary = models.TextField(blank=True)  # a booking's whole subject (SPEC §11)
    start = models.DateTimeField()
    end = models.DateTimeField()
    transparent = models.BooleanField(default=False, help_text="Free time: does not block")
    cancelled = models.BooleanField(default=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["calendar", "start"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="event_end_not_before_start"
            ),
            models.UniqueConstraint(
                fields=["calendar", "uid"], name="event_uid_unique_per_calendar"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.summary or 'Busy'} {self.start:%Y-%m-%d %H:%M}"


class PeriodicRun(models.Model):
    """When a periodic job of the background workers runs next. A worker runs a job only after
    moving `next_run_at` on with a conditional UPDATE, so it runs once per period however many
    workers and hosts there are."""

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField(default=tz_now)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (next {self.next_run_at:%Y-%m-%d %H:%M:%S})"


class Webhook(models.Model):
    """A URL told of an account's (or an organization's) bookings (SPEC §9)."""

    EVENTS = (
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
        "reservation.created",
        "reservation.confirmed",
        "reservation.released",
    )

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    # Needed to sign every message, so kept; the API shows it once, at creation.
    secret = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(default=tz_now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False, organization__isnull=True)
                | Q(account__isnull=True, organization__isnull=False),
                name="webhook_has_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.url

    @staticmethod
    def new_secret() -> str:
        return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookMessage(models.Model):
    """One event for one webhook; its `msg_id` is the `webhook-id` of every attempt."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="messages")
    msg_id = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=tz_now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event} {self.msg_id}"


class WebhookAttempt(models.Model):
    """One POST of a message: when, the HTTP status (none when it never answered), the error."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=tz_now)
    status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.message} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status or self.error}"

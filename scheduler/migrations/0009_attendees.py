"""Every booking's hosts as attendee rows (the organizer: the booking's account), and the
PostgreSQL no-overlap rule moved from bookings to attendees, so it covers each host's time in
group bookings too (SPEC §8)."""

from django.db import migrations

DROP_BOOKING = (
    "ALTER TABLE scheduler_booking DROP CONSTRAINT IF EXISTS booking_no_overlap_per_account;"
)
CREATE_BOOKING = """
ALTER TABLE scheduler_booking ADD CONSTRAINT booking_no_overlap_per_account
    EXCLUDE USING gist (account_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN ('reserved', 'confirmed'));
"""
CREATE_ATTENDEE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE scheduler_attendee ADD CONSTRAINT attendee_no_overlap_per_account
    EXCLUDE USING gist (account_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN ('reserved', 'confirmed'));
"""
DROP_ATTENDEE = (
    "ALTER TABLE scheduler_attendee DROP CONSTRAINT IF EXISTS attendee_no_overlap_per_account;"
)


def forwards(apps, schema_editor):
    Booking = apps.get_model("scheduler", "Booking")
    Attendee = apps.get_model("scheduler", "Attendee")
    rows = Booking.objects.values_list("pk", "account_id", "start", "end", "status", "expires_at")
    Attendee.objects.bulk_create(
        (
            Attendee(
                booking_id=pk,
                account_id=account_id,
                position=0,
                start=start,
                end=end,
                status=status,
                expires_at=expires_at,
            )
            for pk, account_id, start, end, status, expires_at in rows.iterator()
        ),
        batch_size=1000,
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_BOOKING)
        schema_editor.execute(CREATE_ATTENDEE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_ATTENDEE)
        schema_editor.execute(CREATE_BOOKING)
    apps.get_model("scheduler", "Attendee").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("scheduler", "0008_teams")]
    operations = [migrations.RunPython(forwards, backwards)]

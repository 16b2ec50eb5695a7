"""PostgreSQL only: an exclusion constraint so two live bookings of one account can never
overlap, whatever the application does. SQLite relies on the serialising transaction."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE scheduler_booking ADD CONSTRAINT booking_no_overlap_per_account
    EXCLUDE USING gist (account_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN ('reserved', 'confirmed'));
"""
DROP = "ALTER TABLE scheduler_booking DROP CONSTRAINT IF EXISTS booking_no_overlap_per_account;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("scheduler", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]

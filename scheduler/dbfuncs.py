"""Database functions that keep hot reads cheap."""

from __future__ import annotations

from django.db.models import Func, IntegerField


class _Epoch(Func):
    """A datetime column as whole POSIX seconds, computed by the database.

    Availability reads thousands of (start, end) pairs; letting the database hand back
    integers skips building an aware datetime per value, which was most of the request's time.
    Busy starts round down and ends round up: slots lie on whole seconds, so rounding a busy
    interval outwards never changes which slots overlap it.
    """

    output_field = IntegerField()
    arity = 1
    sqlite_template = ""
    postgres_template = ""

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template=self.sqlite_template, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template=self.postgres_template, **extra_context)


class EpochFloor(_Epoch):
    sqlite_template = "CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
    postgres_template = "FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"


class EpochCeil(_Epoch):
    # strftime('%f') is "SS.SSS"; it differs from "SS.000" exactly when there is a fraction.
    sqlite_template = (
        "(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        " + (strftime('%%%%f', %(expressions)s) <> strftime('%%%%S', %(expressions)s) || '.000'))"
    )
    postgres_template = "CEIL(EXTRACT(EPOCH FROM %(expressions)s))::bigint"


def busy_pairs(queryset) -> list[tuple[int, int]]:
    """(start, end) of each row as whole POSIX seconds, rounded outwards."""
    return list(queryset.order_by().values_list(EpochFloor("start"), EpochCeil("end")))


def busy_rows(queryset, key: str = "account_id") -> list[tuple[int, int, int]]:
    """(key, start, end) of each row, times as in `busy_pairs`."""
    return list(queryset.order_by().values_list(key, EpochFloor("start"), EpochCeil("end")))

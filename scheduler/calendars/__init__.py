"""The account's calendars: builtin, ICS feeds and CalDAV.

- `busy.account_busy`: busy intervals from every calendar and live booking; reads stored
  copies only, so it is safe inside the booking transaction (no I/O);
- `refresh.make_fresh`: reads never-read and stale external calendars, before any lock;
- `sync`: puts a booking on the primary calendar or takes it off (a retried task);
- `ical`: the one VEVENT builder, shared by invites and CalDAV.
"""

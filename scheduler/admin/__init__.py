"""Django admin for every model: accounts with their calendars and tokens, profiles with a
preview of their next slots, bookings with their delivery state, and builtin events.

Staff users who are not superusers see only the accounts they own (`Account.owner`) and what
hangs off them. Each module registers its models on import.
"""

from scheduler.admin import accounts, bookings, calendars, profiles  # noqa: F401

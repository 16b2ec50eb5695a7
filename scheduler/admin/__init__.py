"""Django admin for every model: accounts with their calendars and tokens, profiles (group
profiles with their hosts too) with a preview of their next slots, bookings with their hosts
and delivery state, builtin events, and organizations with their app keys.

Staff users who are not superusers see only the accounts they own (`Account.owner`) and what
hangs off them, bookings they attend included; organizations are for superusers. Each module
registers its models on import.
"""

from scheduler.admin import (  # noqa: F401
    accounts,
    bookings,
    calendars,
    organizations,
    profiles,
    webhooks,
)

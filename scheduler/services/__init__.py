"""Every rule and every write of the service, used by the API, the pages and admin alike.

- `availability`: free slots of a profile, the API's query window and `nextFromDate`;
- `bookings`: book, confirm, release, cancel, reschedule (one transaction each, locked);
- `profiles`: create and update booking profiles;
- `calendars`: add and remove an account's calendars;
- `feeds`: an account's bookings and free/busy feeds, and their key;
- `errors`: what these raise, for adapters to turn into their own answers.
"""

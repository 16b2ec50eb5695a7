"""The pure rules of scheduling: no Django, no I/O (the import-linter contract forbids both).

- `availability`: free slots (SPEC §3), with one entry point, `free_slots`;
- `schedule`: the one validator of weekly hours, date overrides and the profile limits;
- `variables`: `{{variables}}` in subject, description and location (SPEC §4);
- `intervals`: the one interval merge.
"""

"""Group profiles (SPEC §8): which candidates are slots and who attends, from each host's own
availability. Pure: the caller hands in every account's free slots under the group profile's
rules (`availability.free_slots` with that account's busy time), so "`all` is the intersection
and `one` the union of the members' availabilities" holds by construction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

ONE = "one"
ALL = "all"
MODES = (ONE, ALL)


@dataclass(frozen=True)
class Unit:
    """An attached account (`ext_id` empty, one member) or a group of accounts."""

    ext_id: str
    required: str
    members: tuple[int, ...]  # ascending account ids

    @property
    def is_group(self) -> bool:
        return bool(self.ext_id)

    @property
    def key(self) -> str:
        """How a booking names the unit it chose (for round robin's count of turns)."""
        return f"group:{self.ext_id}" if self.is_group else f"account:{self.members[0]}"

    def free_members(self, free: Collection[int], allowed: Collection[int] | None = None) -> list:
        """Members free at the candidate (within `allowed`, when a request named members)."""
        members = [a for a in self.members if a in free]
        if allowed is not None and self.required == ONE:
            members = [a for a in members if a in allowed]
        return members

    def is_free(self, free: Collection[int], allowed: Collection[int] | None = None) -> bool:
        if self.is_group and self.required == ALL:
            return all(a in free for a in self.members)
        return bool(self.free_members(free, allowed))


def ordered(units: Iterable[Unit]) -> list[Unit]:
    """Attached accounts by id, then groups in attach order (the order given)."""
    units = list(units)
    attached = sorted((u for u in units if not u.is_group), key=lambda u: u.members[0])
    return attached + [u for u in units if u.is_group]


@dataclass(frozen=True)
class Item:
    """One slot of a group profile: who is free then."""

    start: datetime
    end: datetime
    account_ids: tuple[int, ...]
    group_xids: tuple[str, ...]


def _item(start: datetime, end: datetime, units: Sequence[Unit], free: Collection[int], mode: str):
    free_units = [u for u in units if u.is_free(free)]
    if not free_units or (mode == ALL and len(free_units) < len(units)):
        return None
    accounts = sorted({a for u in free_units for a in u.free_members(free)})
    groups = tuple(u.ext_id for u in free_units if u.is_group)
    return Item(start, end, tuple(accounts), groups)


def items(
    candidates: Sequence[tuple[datetime, datetime]],
    units: Sequence[Unit],
    free_by_account: Mapping[int, Collection[datetime] | Sequence[bool]],
    mode: str,
) -> list[Item]:
    """The slots among `candidates` (the profile's slots with nobody busy) under `mode`:
    with `all` every unit is free, with `one` at least one is. `free_by_account` holds, for
    each account, the starts of its own free slots under the same rules, or one flag per
    candidate (True: free)."""
    if not units:
        return []
    accounts = sorted({a for u in units for a in u.members})
    flags = [_flags(candidates, free_by_account.get(a, ())) for a in accounts]
    # Many candidates share who is free: decide each combination once.
    decided: dict[tuple[bool, ...], tuple | None] = {}
    out = []
    for index, (start, end) in enumerate(candidates):
        key = tuple(f[index] for f in flags)
        if key not in decided:
            free = {a for a, ok in zip(accounts, key, strict=True) if ok}
            found = _item(start, end, units, free, mode)
            decided[key] = None if found is None else (found.account_ids, found.group_xids)
        who = decided[key]
        if who is not None:
            out.append(Item(start, end, *who))
    return out


def _flags(candidates: Sequence, free: Collection[datetime] | Sequence[bool]) -> Sequence[bool]:
    if len(free) == len(candidates) and all(isinstance(f, bool) for f in free):
        return free  # type: ignore[return-value]
    free = set(free)
    return [start in free for start, _ in candidates]


@dataclass(frozen=True)
class Choice:
    """Who attends (in order: the first is the organizer) and the unit chosen under `one`."""

    account_ids: tuple[int, ...]
    unit_key: str


def _fewest(options: Sequence, count) -> object:
    # min() keeps the first of equals, and options come in tie-break order.
    return min(options, key=count)


def _attend(unit: Unit, free: Collection[int], allowed, member_turns: Mapping[int, int]) -> list:
    if unit.is_group and unit.required == ALL:
        return list(unit.members)
    members = unit.free_members(free, allowed)
    return [_fewest(members, lambda a: member_turns.get(a, 0))]


def choose(
    units: Sequence[Unit],
    free: Collection[int],
    mode: str,
    *,
    unit_turns: Mapping[str, int] | None = None,
    member_turns: Mapping[int, int] | None = None,
    accounts: Collection[int] | None = None,
    groups: Collection[str] | None = None,
) -> Choice | None:
    """Who attends a booking at a candidate where the accounts `free` are free, or None when
    the candidate is not a slot for this choice.

    `units` come in tie-break order (`ordered`). Under `all` every unit attends; under `one`
    the free unit with the fewest `unit_turns` does. A `one` group sends its free member with
    the fewest `member_turns` (ties: lowest id). `accounts` and `groups` (a request's
    `accountIds` and `groupXids`) narrow the choice: under `one` to the units they name (a
    member names its group), and within a `one` group to the members named.
    """
    unit_turns = unit_turns or {}
    member_turns = member_turns or {}
    named_accounts = set(accounts or ())
    named_groups = set(groups or ())
    narrowing = bool(named_accounts or named_groups)

    def allowed_members(unit: Unit):
        named = [a for a in unit.members if a in named_accounts]
        return named if (unit.is_group and named) else None

    if not units:
        return None
    if mode == ALL:
        attendees: list[int] = []
        for unit in units:
            allowed = allowed_members(unit)
            if not unit.is_free(free, allowed):
                return None
            attendees.extend(a for a in _attend(unit, free, allowed, member_turns))
        return Choice(tuple(dict.fromkeys(attendees)), "")
    options = []
    for unit in units:
        named = (
            unit.ext_id in named_groups or any(a in named_accounts for a in unit.members)
            if unit.is_group
            else unit.members[0] in named_accounts
        )
        if narrowing and not named:
            continue
        if unit.is_free(free, allowed_members(unit)):
            options.append(unit)
    if not options:
        return None
    unit = _fewest(options, lambda u: unit_turns.get(u.key, 0))
    attendees = _attend(unit, free, allowed_members(unit), member_turns)
    return Choice(tuple(attendees), unit.key)

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
    bit = {a: 1 << i for i, a in enumerate(accounts)}
    # Who is free at each candidate, one bit per account.
    masks = [0] * len(candidates)
    for account in accounts:
        b = bit[account]
        for index, ok in enumerate(_flags(candidates, free_by_account.get(account, ()))):
            if ok:
                masks[index] |= b
    unit_masks = [
        (u, sum(bit[a] for a in u.members), u.is_group and u.required == ALL, u.is_group)
        for u in units
    ]

    def decide(mask: int) -> tuple | None:
        # On bits: a unit is free as `Unit.is_free` says, and its free members (all of an
        # `all` group, the free ones otherwise) are `mask & unit_mask`; the item names the
        # free accounts of the free units, ascending, and the free groups in attach order.
        free_units = []
        who = 0
        for unit, unit_mask, needs_all, is_group in unit_masks:
            hit = mask & unit_mask
            if hit == unit_mask if needs_all else hit:
                free_units.append(unit.ext_id if is_group else "")
                who |= hit
            elif mode == ALL:
                return None
        if not free_units:
            return None
        ids = tuple(a for a in accounts if who & bit[a])
        return ids, tuple(x for x in free_units if x)

    # Many candidates share who is free: decide each combination once.
    decided: dict[int, tuple | None] = {}
    out = []
    for (start, end), mask in zip(candidates, masks, strict=True):
        if mask not in decided:
            decided[mask] = decide(mask)
        who = decided[mask]
        if who is not None:
            out.append(Item(start, end, *who))
    return out


def _flags(candidates: Sequence, free: Collection[datetime] | Sequence[bool]) -> Sequence[bool]:
    if (
        isinstance(free, list)
        and len(free) == len(candidates)
        and (not free or isinstance(free[0], bool))
    ):
        return free
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

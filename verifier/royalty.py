"""Royalty rules: pricing, recoupment, splits, the true-up; and a payee's month replayed
from the log. Pure functions over integers and exact decimals: no Django, no floats.

The registry books with these rules (``royalties.rules`` re-exports them) and the
offline verifier recomputes statements with them, so the two cannot drift apart.
Amounts are integer minor units of one currency.

The one rounding rule, applied in `to_minor_units` and nowhere else: an exact amount of
minor units is rounded half up (x.5 goes to x+1) to a whole minor unit. A work's price is
summed exactly from its parts and rounded once. Splitting rounds nothing: a price is
allocated in whole units between the platform's fee and the payees in one pass, by
largest remainder, and a tie goes to the payees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "BPS",
    "LINE_FIELDS",
    "Distribution",
    "Line",
    "LoggedSplit",
    "Rates",
    "Recorded",
    "Recoupment",
    "Replay",
    "RoyaltyTerms",
    "Voided",
    "allocate",
    "distribute",
    "pension_health",
    "price_work",
    "recoup",
    "replay",
    "set_aside",
    "to_minor_units",
    "true_up",
]

BPS = 10_000


def to_minor_units(amount: Decimal) -> int:
    """The only place where a fraction of a minor unit is rounded."""
    if amount < 0:
        raise ValueError("amounts are never negative here")
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Rates:
    """A license's royalty terms, as signed in the license document."""

    per_work: int = 0
    per_second: Decimal = Decimal(0)
    revenue_share_bps: int = 0

    def __post_init__(self) -> None:
        if self.per_work < 0 or self.per_second < 0 or not 0 <= self.revenue_share_bps <= BPS:
            raise ValueError("rates must be non-negative; a share is 0..10000 bps")


def price_work(rates: Rates, *, duration_ms: int, declared_revenue: int = 0) -> int:
    """Royalty for one work: per work + per second of audio + share of declared revenue."""
    if duration_ms < 0 or declared_revenue < 0:
        raise ValueError("durations and revenue are never negative")
    exact = (
        Decimal(rates.per_work)
        + rates.per_second * Decimal(duration_ms) / Decimal(1000)
        + Decimal(declared_revenue) * Decimal(rates.revenue_share_bps) / Decimal(BPS)
    )
    return to_minor_units(exact)


def pension_health(price: int, bps: int) -> int:
    """A union agreement's pension and health contribution on a work's price: ``bps`` of
    it, charged to the brand on top of the price (the payees' split of the price is not
    touched) and credited to the union's fund. Worked out work by work, as the price is."""
    if price < 0 or not 0 <= bps <= BPS:
        raise ValueError("a price is never negative; a rate is 0..10000 bps")
    return to_minor_units(Decimal(price) * Decimal(bps) / Decimal(BPS))


def set_aside(share: int, bps: int) -> int:
    """What of a minor performer's share is set aside in a blocked trust account (as
    California's Coogan law asks, 15% of gross earnings): ``bps`` of the share, worked out
    on each amount's share on its own, so that taking an amount back returns exactly its
    part."""
    if share < 0 or not 0 <= bps <= BPS:
        raise ValueError("a share is never negative; a rate is 0..10000 bps")
    return to_minor_units(Decimal(share) * Decimal(bps) / Decimal(BPS))


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to `weights` exactly (largest remainder method).

    Every part is the floor of its exact share; the minor units left over go one each to
    the parts with the largest remainders (ties to the earlier part), so the parts always
    sum to `amount`: no minor unit is created or lost.
    """
    if amount < 0:
        raise ValueError("cannot allocate a negative amount")
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative with a positive total")
    total = sum(weights)
    floors = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


@dataclass(frozen=True)
class Recoupment:
    """How one royalty meets the unrecouped advance (the minimum guarantee)."""

    from_advance: int  # covered by what the brand paid upfront
    owed_by_brand: int  # invoiced to the brand
    advance_left: int


def recoup(royalty: int, advance_left: int) -> Recoupment:
    """Royalties first use up the advance the brand paid; only then does the brand owe more.

    The payee earns the whole royalty either way; recoupment only decides who pays it.
    """
    if royalty < 0 or advance_left < 0:
        raise ValueError("never negative")
    used = min(royalty, advance_left)
    return Recoupment(
        from_advance=used, owed_by_brand=royalty - used, advance_left=advance_left - used
    )


@dataclass(frozen=True)
class Distribution:
    fee: int
    payees: list[int]

    @property
    def total(self) -> int:
        return self.fee + sum(self.payees)


def distribute(royalty: int, *, fee_bps: int, split_bps: Sequence[int]) -> Distribution:
    """A royalty allocated between the platform's fee (``fee_bps`` of it) and the payees
    (the rest, weighted in bps summing to 10000), in one largest-remainder pass: every
    part is its exact share give or take one unit, the parts add up to the royalty, and
    where the platform and a payee tie for a unit, the payee gets it."""
    if sum(split_bps) != BPS:
        raise ValueError("payee splits must sum to 10000 bps (100%)")
    if not 0 <= fee_bps <= BPS:
        raise ValueError("fee is 0..10000 bps")
    # Payees first: allocate() gives ties to the earlier part.
    parts = allocate(royalty, [bps * (BPS - fee_bps) for bps in split_bps] + [fee_bps * BPS])
    return Distribution(fee=parts[-1], payees=parts[:-1])


def true_up(advance_left: int) -> int:
    """At the end of a license's term, the advance not recouped is earned by the payees:
    the minimum guarantee was guaranteed. Returns the amount to release to them."""
    if advance_left < 0:
        raise ValueError("never negative")
    return advance_left


# --- a payee's month, replayed from the log ---------------------------------------------
#
# What follows is the ledger's arithmetic for works, voids and the guarantee, run over
# the log's events instead of the database: the registry's statement must come out the
# same to the minor unit. Every rule mirrors one in royalties/ (services.works_record,
# services.work_void, advance.void_work and advance.release) and says which.


@dataclass(frozen=True)
class LoggedSplit:
    """The split a work was booked with, as the log states it: the platform's fee, then
    the payees (payee id, bps) in the order the ledger allocates them; optionally, the
    payees (minors) whose share is partly set aside in trust, with the rate
    (``set_aside``), and the union fund credited a pension and health contribution on
    top of the price, with the rate booked (``pension_health``)."""

    fee_bps: int
    payees: tuple[tuple[str, int], ...]
    set_aside: tuple[tuple[str, int], ...] = ()
    pension_health: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.fee_bps <= BPS:
            raise ValueError(f"a split's fee is 0..10000 bps, not {self.fee_bps}")
        if not self.payees or sum(bps for _, bps in self.payees) != BPS:
            raise ValueError("a split's payees must add up to 10000 bps")
        if len({payee for payee, _ in self.payees}) != len(self.payees):
            raise ValueError("a split names each payee once")
        named = {payee for payee, _ in self.payees}
        if any(payee not in named or not 0 <= bps <= BPS for payee, bps in self.set_aside):
            raise ValueError("a split sets aside 0..10000 bps of its own payees' shares")
        if self.pension_health is not None and not 0 <= self.pension_health[1] <= BPS:
            raise ValueError("a pension and health rate is 0..10000 bps")

    def names(self, payee_id: str) -> bool:
        return any(payee == payee_id for payee, _ in self.payees)

    def union(self, payee_id: str) -> bool:
        """Whether ``payee_id`` is the union fund this split credits pension and health."""
        return self.pension_health is not None and self.pension_health[0] == payee_id

    def share(self, amount: int, payee_id: str) -> tuple[int, int]:
        """(the platform's fee of ``amount``, ``payee_id``'s part of it), split as the
        ledger splits each amount on its own (royalties.ledger.split_lines)."""
        split = distribute(amount, fee_bps=self.fee_bps, split_bps=[b for _, b in self.payees])
        for (payee, _), part in zip(self.payees, split.payees, strict=True):
            if payee == payee_id:
                return split.fee, part
        return split.fee, 0

    def aside(self, part: int, payee_id: str) -> int:
        """What of ``payee_id``'s ``part`` of one amount is set aside in trust."""
        for payee, bps in self.set_aside:
            if payee == payee_id:
                return set_aside(part, bps)
        return 0

    def earning(self, amount: int, payee_id: str, pension_health_bps: int = 0) -> Line:
        """What one work priced ``amount`` (or one amount split on its own) earns
        ``payee_id``: the platform's fee of it, the payee's part less what is set aside
        (``net``), the part set aside, and, for the union's fund, the contribution at
        ``pension_health_bps`` (the rate of the signed terms)."""
        fee, part = self.share(amount, payee_id)
        aside = self.aside(part, payee_id)
        net = part - aside
        if self.union(payee_id):
            net += pension_health(amount, pension_health_bps)
        return Line(gross=amount, fee=fee, net=net, set_aside=aside)


@dataclass(frozen=True)
class RoyaltyTerms:
    """What a statement needs of a license's signed document."""

    license_id: str
    currency: str
    rates: Rates
    upfront_fee: int
    minimum_guarantee: int
    term_ends: str  # the month ("YYYY-MM", UTC) of the license's last day
    # The union agreement's pension and health rate the license states (0: none).
    pension_health_bps: int = 0


@dataclass(frozen=True)
class Recorded:
    """A ``work.recorded`` event."""

    index: int
    work_id: str
    license_id: str
    duration_ms: int
    declared_revenue: int
    split: LoggedSplit
    logged_price: int | None
    logged_from_advance: int | None

    def names(self, payee_id: str) -> bool:
        """Whether the work earns ``payee_id`` anything: a share, or a union contribution."""
        return self.split.names(payee_id) or self.split.union(payee_id)


@dataclass(frozen=True)
class Voided:
    """A ``work.voided`` event."""

    index: int
    work_id: str
    license_id: str
    recorded_index: int


LINE_FIELDS = ("works", "milliseconds", "gross", "recouped", "fee", "net", "set_aside")
# Fields a statement line states only when they are not zero (older statements lack them).
OPTIONAL_LINE_FIELDS = ("set_aside",)


@dataclass
class Line:
    """A statement line's numbers for one license. ``gross``, ``recouped`` and ``fee``
    are the license's whole amounts (what every payee's statement shows); ``net`` is
    the payee's part that reaches its payable balance, and ``set_aside`` what of its
    part went to its blocked trust account instead (a minor's, Coogan)."""

    works: int = 0
    milliseconds: int = 0
    gross: int = 0
    recouped: int = 0
    fee: int = 0
    net: int = 0
    set_aside: int = 0

    def add(self, other: Line, sign: int = 1) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + sign * getattr(other, f.name))

    def values(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in LINE_FIELDS}


@dataclass
class _Work:
    recorded: Recorded
    price: int
    from_advance: int
    voided: bool = False


@dataclass
class Replay:
    """A payee's month as the log and the signed terms make it."""

    # Per license: the works, voids and advance moved back by voids that the month counts.
    lines: dict[str, Line] = field(default_factory=dict)
    # Per license: the guarantee released to the payees in the month (usually one amount).
    true_ups: dict[str, list[int]] = field(default_factory=dict)
    # Per license: the split to release a guarantee with, when the statement states none
    # (the last split the license's works were booked with).
    last_split: dict[str, LoggedSplit] = field(default_factory=dict)
    # Works whose logged price or advance differs from what the signed terms give.
    notes: list[str] = field(default_factory=list)
    # Licenses whose advance the log cannot follow (a refund or dispute took part of it).
    advance_unknown: set[str] = field(default_factory=set)


def replay(
    *,
    payee_id: str,
    month: str,
    tree_size: int,
    terms: Mapping[str, RoyaltyTerms],
    events: Iterable[Recorded | Voided],
    counted: Callable[[int], bool],
    closes: Mapping[str, int],
    advance_unknown: Iterable[str] = (),
) -> Replay:
    """Replay every license in ``terms`` through its logged works and voids (all of them
    before ``tree_size``, whatever month they belong to: the advance runs across months)
    and keep, for ``payee_id``, what falls in this statement: the events ``counted``
    says it counts, and the true-ups of the month.

    ``closes`` maps a month to the log index where it was closed (its first
    ``statement.issued`` event): the registry releases a guarantee when it closes the
    month the license's term ends in, so the replay releases it there, after every
    event logged before. This statement's own month closes at ``tree_size``.

    ``advance_unknown`` are licenses whose guarantee a refund or a dispute took part of
    back: payments are not in the log, so their works' part from the advance is taken
    as logged, and their recoupment and true-up stay the registry's word.
    """
    out = Replay(advance_unknown=set(advance_unknown))
    by_license: dict[str, list[Recorded | Voided]] = {}
    for event in events:
        if event.license_id in terms:
            by_license.setdefault(event.license_id, []).append(event)
    for license_id, lic in sorted(terms.items()):
        ordered = sorted(by_license.get(license_id, []), key=lambda e: e.index)
        closed_at = tree_size if lic.term_ends == month else closes.get(lic.term_ends)
        if closed_at is None and lic.term_ends < month:
            # Months close in order: this one closed before ours did, but stated nothing
            # (so released nothing); release where the replay ends.
            closed_at = tree_size
        _replay_license(out, lic, ordered, payee_id, month, closed_at, counted)
    return out


def _replay_license(
    out: Replay,
    lic: RoyaltyTerms,
    ordered: Sequence[Recorded | Voided],
    payee_id: str,
    month: str,
    closed_at: int | None,
    counted: Callable[[int], bool],
) -> None:
    license_id = lic.license_id
    trusted_advance = license_id not in out.advance_unknown
    # royalties.advance.usage_locked: the advance starts as the whole guarantee.
    left = lic.minimum_guarantee
    released = False
    works: dict[int, _Work] = {}
    line = out.lines.setdefault(license_id, Line())

    def release(amount: int, in_month: bool) -> None:
        # royalties.advance.release (at the close) and _release_late (advance back after).
        if amount and in_month:
            out.true_ups.setdefault(license_id, []).append(true_up(amount))

    for event in ordered:
        if not released and closed_at is not None and event.index > closed_at:
            release(left, lic.term_ends == month)
            left, released = 0, True
        if isinstance(event, Recorded):
            out.last_split[license_id] = event.split
            price = price_work(
                lic.rates, duration_ms=event.duration_ms, declared_revenue=event.declared_revenue
            )
            if event.logged_price is not None and event.logged_price != price:
                out.notes.append(
                    f"work {event.work_id} (log index {event.index}) is logged at price "
                    f"{event.logged_price}; its license's signed terms price it at {price}"
                )
            logged_rate = event.split.pension_health[1] if event.split.pension_health else 0
            if logged_rate != lic.pension_health_bps:
                out.notes.append(
                    f"work {event.work_id} (log index {event.index}) is logged with a pension "
                    f"and health rate of {logged_rate} bps; its license's signed terms state "
                    f"{lic.pension_health_bps}"
                )
            # services.works_record -> advance.draw: the advance pays first.
            from_advance = recoup(price, left).from_advance
            if not trusted_advance and event.logged_from_advance is not None:
                from_advance = min(event.logged_from_advance, price)
            elif event.logged_from_advance not in (None, from_advance):
                out.notes.append(
                    f"work {event.work_id} (log index {event.index}) is logged with "
                    f"{event.logged_from_advance} from the advance; the signed guarantee "
                    f"gives {from_advance}"
                )
            left = max(left - from_advance, 0)
            works[event.index] = _Work(event, price, from_advance)
            if counted(event.index) and event.names(payee_id):
                earned = event.split.earning(price, payee_id, lic.pension_health_bps)
                earned.works, earned.milliseconds = 1, event.duration_ms
                earned.recouped = from_advance
                line.add(earned)
            continue
        work = works.get(event.recorded_index)
        if work is None or work.recorded.work_id != event.work_id or work.voided:
            raise ValueError(
                f"the void at log index {event.index} names work {event.work_id} at "
                f"{event.recorded_index}, which the log does not hold as a live work of "
                f"{license_id}"
            )
        # services.work_void: the exact negation of the work's booking, as split then,
        # with what the advance covers of it now (later voids may have moved that).
        work.voided = True
        split = work.recorded.split
        if counted(event.index) and work.recorded.names(payee_id):
            earned = split.earning(work.price, payee_id, lic.pension_health_bps)
            earned.works, earned.milliseconds = 1, work.recorded.duration_ms
            earned.recouped = work.from_advance
            line.add(earned, -1)
        # advance.void_work: the work's part of the advance comes back, and goes to the
        # works recorded after it that the brand was billed for, oldest first.
        left += work.from_advance
        moved = 0
        if left and work.from_advance:
            for later in sorted(works):
                if not left:
                    break
                other = works[later]
                owed = other.price - other.from_advance
                if later <= event.recorded_index or other.voided or owed <= 0:
                    continue
                applied = min(owed, left)
                other.from_advance += applied
                left -= applied
                moved += applied
        # The ledger credits the moved advance to the payees of the voice's split at the
        # void; the log states the split of each work, so the latest one stands for it.
        if moved and counted(event.index) and out.last_split[license_id].names(payee_id):
            line.recouped += moved
        if released and left > 0:
            release(left, counted(event.index))
            left = 0
    if not released and closed_at is not None:
        release(left, lic.term_ends == month)

"""Statements offline: the signed shape read back strictly, a month replayed from logged
works and voids as the ledger books it, and the first differing line named."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.jcs import canonical_json, parse_json_strict
from verifier.royalty import (
    Line,
    LoggedSplit,
    Rates,
    Recorded,
    RoyaltyTerms,
    Voided,
    distribute,
    replay,
)
from verifier.statement import (
    Counted,
    Part,
    Statement,
    StatementLine,
    read_statement,
    recompute,
)

SPLIT = LoggedSplit(1000, (("1", 7000), ("2", 3000)))


def terms(minimum_guarantee: int = 0, term_ends: str = "2031-06", **rates: Any) -> RoyaltyTerms:
    return RoyaltyTerms(
        license_id="lic_a",
        currency="USD",
        rates=Rates(**({"per_work": 101} | rates)),
        upfront_fee=0,
        minimum_guarantee=minimum_guarantee,
        term_ends=term_ends,
    )


def recorded(index: int, split: LoggedSplit = SPLIT, duration_ms: int = 0) -> Recorded:
    return Recorded(index, f"w{index}", "lic_a", duration_ms, 0, split, None, None)


def statement(*lines: StatementLine, opening: int = 0, payouts: int = 0) -> Statement:
    return Statement(
        issuer="http://127.0.0.1:8000",
        issued_at="2031-02-01T01:00:00.000Z",
        payee_id="1",
        payee_kind="performer",
        month="2031-01",
        currency="USD",
        opening=opening,
        lines=lines,
        payouts=payouts,
        counted=Counted(0, 10, frozenset({3}), frozenset()),
        tree_size=12,
        root_hash=bytes(range(32)),
    )


def test_a_statement_reads_back_as_it_was_signed() -> None:
    part = Part("upfront_fee", Line(gross=1000, fee=100, net=630), SPLIT)
    line = StatementLine("lic_a", Line(2, 2000, 1202, 0, 120, 757), (part,))
    original = statement(line, opening=-5, payouts=100)
    payload = parse_json_strict(canonical_json(original.to_json()))
    assert read_statement(payload) == original
    assert payload["closing"] == str(-5 + 757 - 100)
    assert payload["lines"][0]["parts"][0]["split"]["payees"] == [["1", "7000"], ["2", "3000"]]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"schema": "timbre.license/1"}, "schema"),
        ({"month": "2031-13"}, "month"),
        ({"earnings": "1"}, "earnings"),
        ({"closing": "1"}, "closing"),
        ({"opening": 0}, "opening"),
        ({"opening": "-0"}, "opening"),
        ({"payouts": "1.5"}, "payouts"),
        ({"counted": {"from": "0", "to": "99", "excluded": [], "included": []}}, "counted.to"),
        ({"counted": {"from": "0", "to": "1", "excluded": ["-1"], "included": []}}, "excluded"),
        ({"log": {"tree_size": "12", "root_hash": "AAAA"}}, "root_hash"),
        ({"payee": {"id": "x", "kind": "performer"}}, "payee.id"),
        ({"lines": "none"}, "lines"),
    ],
)
def test_a_malformed_statement_says_what_is_wrong(change: dict[str, Any], complaint: str) -> None:
    payload = statement(StatementLine("lic_a", Line(1, 1, 101, 0, 10, 64))).to_json() | change
    with pytest.raises(ValueError, match=complaint):
        read_statement(payload)


def test_a_license_has_one_line_and_every_line_its_parts() -> None:
    twice = statement(*[StatementLine("lic_a", Line())] * 2).to_json()
    with pytest.raises(ValueError, match="one line"):
        read_statement(twice)
    no_line = statement(StatementLine("lic_a", Line())).to_json()
    del no_line["lines"][0]["parts"]
    with pytest.raises(ValueError, match="parts"):
        read_statement(no_line)


def test_a_void_gives_its_advance_to_the_works_after_it() -> None:
    # A guarantee of 500 covers works 0-3 (101 each) and 96 of work 4; voiding work 1
    # frees 101, which pays the 5 work 4 still owed, then 96 of work 5.
    events: list[Recorded | Voided] = [recorded(i) for i in range(6)]
    events.append(Voided(6, "w1", "lic_a", 1))
    month = replay(
        payee_id="1",
        month="2031-01",
        tree_size=7,
        terms={"lic_a": terms(500)},
        events=events,
        counted=lambda _: True,
        closes={},
    )
    # distribute(101) gives the platform 10, payee 1 64 (it wins the tie) and payee 2 27.
    assert distribute(101, fee_bps=1000, split_bps=[7000, 3000]).payees == [64, 27]
    assert month.lines["lic_a"] == Line(5, 0, 505, 500 - 101 + 101, 50, 5 * 64)
    assert not month.true_ups


def test_the_guarantee_left_at_the_close_of_the_terms_last_month_is_released() -> None:
    events: list[Recorded | Voided] = [recorded(0), recorded(1), Voided(2, "w0", "lic_a", 0)]

    def month(term_ends: str, closes: dict[str, int]) -> Any:
        return replay(
            payee_id="2",
            month="2031-01",
            tree_size=3,
            terms={"lic_a": terms(1000, term_ends)},
            events=events,
            counted=lambda _: True,
            closes=closes,
        )

    assert month("2031-01", {}).true_ups == {"lic_a": [1000 - 101]}
    assert month("2031-02", {}).true_ups == {}
    # Released at December's close (before these works could have been logged): not
    # this month's.
    assert month("2030-12", {"2030-12": 0}).true_ups == {}


def test_only_what_the_statement_counts_is_on_its_lines() -> None:
    events: list[Recorded | Voided] = [recorded(0), recorded(1), recorded(2)]
    counted = Counted(1, 3, frozenset({2}), frozenset({0}))
    month = replay(
        payee_id="1",
        month="2031-01",
        tree_size=3,
        terms={"lic_a": terms()},
        events=events,
        counted=counted.counts,
        closes={},
    )
    assert month.lines["lic_a"].works == 2


def test_the_first_line_that_differs_is_named_with_both_values() -> None:
    events: list[Recorded | Voided] = [recorded(0), recorded(1)]
    month = replay(
        payee_id="1",
        month="2031-01",
        tree_size=2,
        terms={"lic_a": terms(), "lic_b": replace(terms(), license_id="lic_b")},
        events=events,
        counted=lambda _: True,
        closes={},
    )
    right = StatementLine("lic_a", Line(2, 0, 202, 0, 20, 128))
    assert recompute(statement(right), month, {}).difference is None
    wrong = StatementLine("lic_a", Line(2, 0, 202, 0, 20, 129))
    difference = recompute(statement(wrong), month, {}).difference
    assert difference is not None
    assert str(difference) == (
        "line lic_a: net is 129 in the statement; the log and the signed terms give 128"
    )
    # A line the log calls for that the statement leaves out is named too.
    other = replace(events[0], license_id="lic_b", index=5, work_id="w5")
    month_b = replay(
        payee_id="1",
        month="2031-01",
        tree_size=6,
        terms={"lic_a": terms(), "lic_b": replace(terms(), license_id="lic_b")},
        events=[*events, other],
        counted=lambda _: True,
        closes={},
    )
    missing = recompute(statement(right), month_b, {}).difference
    assert missing is not None and (missing.license_id, missing.field) == ("lic_b", "works")


splits = st.lists(st.integers(1, 10_000), min_size=1, max_size=4).filter(
    lambda bps: sum(bps) <= 10_000
)


@given(
    prices=st.lists(st.integers(0, 10**7), min_size=1, max_size=20),
    shares=splits,
    fee_bps=st.integers(0, 10_000),
)
def test_every_payees_net_and_the_fee_add_up_to_the_gross(
    prices: list[int], shares: list[int], fee_bps: int
) -> None:
    shares = [*shares[:-1], shares[-1] + 10_000 - sum(shares)]
    split = LoggedSplit(fee_bps, tuple((str(i), bps) for i, bps in enumerate(shares)))
    events: list[Recorded | Voided] = [
        replace(recorded(i, split), duration_ms=price) for i, price in enumerate(prices)
    ]
    lic = terms(per_work=0, per_second=Decimal(1000))
    nets = []
    for payee, _ in split.payees:
        month = replay(
            payee_id=payee,
            month="2031-01",
            tree_size=len(events),
            terms={"lic_a": lic},
            events=events,
            counted=lambda _: True,
            closes={},
        )
        line = month.lines["lic_a"]
        nets.append(line.net)
    assert line.gross == sum(prices)
    assert sum(nets) + line.fee == line.gross


# --- union pension and health, a minor's set-aside ------------------------------------

MINOR = LoggedSplit(1000, (("1", 7000), ("2", 3000)), set_aside=(("1", 1500),))
UNION = LoggedSplit(1000, (("1", 7000), ("2", 3000)), pension_health=("9", 1100))


def test_a_minors_set_aside_and_a_funds_contributions_are_replayed_work_by_work() -> None:
    lic = replace(terms(), pension_health_bps=1100)
    events = [
        Recorded(0, "w0", "lic_a", 0, 0, replace(MINOR, pension_health=("9", 1100)), None, None),
        Recorded(1, "w1", "lic_a", 0, 0, replace(MINOR, pension_health=("9", 1100)), None, None),
        Voided(2, "w1", "lic_a", 1),
    ]

    def month(payee: str) -> Line:
        return replay(
            payee_id=payee,
            month="2031-01",
            tree_size=3,
            terms={"lic_a": lic},
            events=events,
            counted=lambda i: True,
            closes={},
        ).lines["lic_a"]

    # 101: the platform 10, payee 1 gets 64 (of 91, 70%) of which 15% (9.6 -> 10) is
    # set aside; the fund 11% of the full price (11.11 -> 11), on top.
    assert month("1") == Line(1, 0, 101, 0, 10, 54, 10)
    assert month("2") == Line(1, 0, 101, 0, 10, 27, 0)
    assert month("9") == Line(1, 0, 101, 0, 10, 11, 0)


def test_a_set_aside_line_reads_back_and_a_wrong_one_is_named() -> None:
    line = StatementLine("lic_a", Line(1, 0, 101, 0, 10, 54, 10))
    payload = parse_json_strict(canonical_json(statement(line).to_json()))
    assert payload["lines"][0]["set_aside"] == "10"
    assert read_statement(payload).lines[0].amounts.set_aside == 10
    # A line without a set-aside states none (statements signed before it existed).
    plain = parse_json_strict(canonical_json(statement(StatementLine("lic_a", Line())).to_json()))
    assert "set_aside" not in plain["lines"][0]
    replayed = replay(
        payee_id="1",
        month="2031-01",
        tree_size=12,
        terms={"lic_a": terms()},
        events=[recorded(0, MINOR)],
        counted=lambda i: True,
        closes={},
    )
    wrong = statement(StatementLine("lic_a", Line(1, 0, 101, 0, 10, 64, 0)))
    difference = recompute(wrong, replayed, {"lic_a": terms()}).difference
    assert difference is not None and difference.field == "net"
    assert recompute(statement(line), replayed, {"lic_a": terms()}).difference is None


def test_a_work_logged_with_another_pension_and_health_rate_than_signed_is_noted() -> None:
    replayed = replay(
        payee_id="9",
        month="2031-01",
        tree_size=12,
        terms={"lic_a": replace(terms(), pension_health_bps=1000)},
        events=[recorded(0, UNION)],
        counted=lambda i: True,
        closes={},
    )
    assert any("pension and health rate of 1100 bps" in note for note in replayed.notes)
    # The fund is credited at the signed rate: 10% of 101, 10.1 -> 10.
    assert replayed.lines["lic_a"].net == 10

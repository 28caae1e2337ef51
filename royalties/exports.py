"""Statement exports: CSV (streamed, constant memory) and PDF. Both carry the same lines
and totals as the page, to the minor unit."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import Q
from fpdf import FPDF

from core.months import bounds
from royalties.models import Work
from royalties.statements import StatementData


class Echo:
    """A file that hands back what is written: csv.writer then yields lines to stream."""

    def write(self, value: str) -> str:
        return value


def csv_rows(data: StatementData) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(["statement", data.payee.name, f"{data.month:%Y-%m}", data.currency])
    yield writer.writerow(["opening", data.opening])
    yield writer.writerow(["license_id", "works", "seconds", "gross", "recouped", "fee", "amount"])
    for line in data.lines:
        yield writer.writerow(
            [
                line["license_id"],
                line["works"],
                line["seconds"],
                line["gross"],
                line["recouped"],
                line["fee"],
                line["amount"],
            ]
        )
    yield writer.writerow(["earnings", data.earnings])
    if data.set_aside:
        yield writer.writerow(["set aside in trust (Coogan)", data.set_aside])
    yield writer.writerow(["payouts", data.payouts])
    yield writer.writerow(["closing", data.closing])
    yield writer.writerow([])
    yield writer.writerow(["work_id", "license_id", "recorded_at", "duration_ms", "gross", "event"])
    start, end = bounds(data.month)
    license_ids = [line["license_id"] for line in data.lines if line["license_id"]]
    recorded = Q(recorded_at__gte=start, recorded_at__lt=end)
    voided = Q(voided_at__gte=start, voided_at__lt=end)
    works = (
        Work.objects.filter(license__license_id__in=license_ids)
        .filter(recorded | voided)
        .order_by("pk")
        .values_list(
            "work_id", "license__license_id", "recorded_at", "voided_at", "duration_ms", "price"
        )
    )
    # iterator(): rows stream from the database cursor; nothing is held but the current chunk.
    for work_id, license_id, recorded_at, voided_at, duration, price in works.iterator(
        chunk_size=2000
    ):
        if start <= recorded_at < end:
            yield writer.writerow(
                [work_id, license_id, recorded_at.isoformat(), duration, price, "recorded"]
            )
        if voided_at is not None and start <= voided_at < end:
            yield writer.writerow(
                [work_id, license_id, voided_at.isoformat(), -duration, -price, "voided"]
            )


def _money(amount: int, currency: str) -> str:
    return f"{amount:,} {currency}"


def pdf_bytes(data: StatementData) -> bytes:
    pdf = FPDF()
    pdf.set_title(f"Timbre statement {data.payee.name} {data.month:%Y-%m}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Timbre royalty statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 7, f"Payee: {data.payee.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        7,
        f"Period: {data.month:%Y-%m}   Currency: {data.currency} (minor units)",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.cell(
        0,
        7,
        f"Opening balance: {_money(data.opening, data.currency)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    headers = ["License", "Works", "Seconds", "Gross", "Recouped", "Fee", "Amount"]
    widths = [58, 16, 20, 24, 24, 20, 28]
    pdf.set_font("Helvetica", "B", 9)
    for h, w in zip(headers, widths, strict=True):
        pdf.cell(w, 7, h, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in data.lines:
        values = [
            line["license_id"] or "(minimum guarantee)",
            line["works"],
            line["seconds"],
            line["gross"],
            line["recouped"],
            line["fee"],
            line["amount"],
        ]
        for v, w in zip(values, widths, strict=True):
            pdf.cell(w, 7, str(v), border=1)
        pdf.ln()
    pdf.ln(3)
    pdf.set_font("Helvetica", size=11)
    for label, value in (
        ("Earnings", data.earnings),
        ("Payouts", data.payouts),
        ("Closing balance", data.closing),
    ):
        pdf.cell(0, 7, f"{label}: {_money(value, data.currency)}", new_x="LMARGIN", new_y="NEXT")
    if data.set_aside:
        pdf.cell(
            0,
            7,
            f"Set aside in trust (Coogan), not in the balance: "
            f"{_money(data.set_aside, data.currency)}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def summary(data: StatementData) -> dict[str, Any]:
    return {
        "opening": data.opening,
        "earnings": data.earnings,
        "payouts": data.payouts,
        "closing": data.closing,
    }

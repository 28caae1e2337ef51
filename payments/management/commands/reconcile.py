from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.parsing import parse_month
from payments.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Compare the ledger's cash with the payment provider's balance transactions for a "
        "month; list every mismatch and exit 1 if there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="The month, as YYYY-MM.")

    def handle(self, *args: Any, **options: Any) -> None:
        month = parse_month(options["period"])
        if month is None:
            raise CommandError(f"--period: {options['period']!r} is not a month (YYYY-MM)")
        result = reconcile(month=month)
        self.stdout.write(
            f"{month:%Y-%m} ({result.backend}): {result.matched} matched, "
            f"{len(result.mismatches)} mismatched"
        )
        for key, value in sorted(result.totals.items()):
            self.stdout.write(f"  {key}: {value}")
        for m in result.mismatches:
            self.stdout.write(
                f"MISMATCH {m['source']}: {m['problem']} "
                f"(stripe {m.get('stripe')}, ledger {m.get('ledger')})"
            )
        if result.mismatches:
            raise SystemExit(1)

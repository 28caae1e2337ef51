from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from transparency.audit import audit_log


class Command(BaseCommand):
    help = "Recompute every leaf hash, subtree and root from the stored log and compare."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_log()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"log_audit: ok, {report.size} entries"))
            return
        for problem in report.problems[:50]:
            self.stderr.write(problem)
        raise CommandError(
            f"log_audit: FAILED; first bad index {report.first_bad_index} "
            f"({len(report.problems)} problems)"
        )

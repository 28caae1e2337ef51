"""Ledger entries get a kind and a source instead of being typed by their key's prefix;
a license's usage remembers the used advance a refund charged to its brand.

Existing entries are typed from their keys, once, here. Refunds, chargebacks and won
disputes are typed as the fee's; payments' next migration retypes those of usage
invoices (it knows which they were). Keys stay as they were: a retried Stripe event must
still find what it booked.
"""

from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Substr

# Key prefixes as they were written; see royalties.ledger.entry_key.
_BY_PREFIX = {
    "works": "works",
    "void": "work_void",
    "advance": "advance",
    "trueup": "true_up",
    "fee": "fee",
    "unapplied": "fee_unapplied",
    "refund": "fee_refund",
    "dispute": "fee_chargeback",
    "dispute-won": "fee_restored",
    "invoice-paid": "invoice_payment",
    "processing": "processing_fee",
    "payout": "payout",
}

_TRIGGER = "royalties_entry_append_only"


def _set_trigger(schema_editor, enabled: bool) -> None:
    # The ledger refuses UPDATE on PostgreSQL; typing old entries is the one exception.
    if schema_editor.connection.vendor == "postgresql":
        action = "ENABLE" if enabled else "DISABLE"
        schema_editor.execute(f"ALTER TABLE royalties_journalentry {action} TRIGGER {_TRIGGER}")


def type_entries(apps, schema_editor):
    # A few set-based UPDATEs, one per kind of key: the journal is locked while its
    # trigger is off, so this must be quick however long the ledger is.
    entry_model = apps.get_model("royalties", "JournalEntry")
    _set_trigger(schema_editor, False)
    try:
        for prefix, kind in _BY_PREFIX.items():
            entry_model.objects.filter(idempotency_key__startswith=f"{prefix}:").update(
                kind=kind, source=Substr("idempotency_key", len(prefix) + 2, 180)
            )
        # Payout reversals, as keyed now (payout:N:reversal:ID) and before (payout:N:reversed:T).
        entry_model.objects.filter(kind="payout").filter(
            Q(source__contains=":reversal:") | Q(source__contains=":reversed:")
        ).update(kind="payout_reversal")
        untyped = list(entry_model.objects.filter(kind="").values_list("idempotency_key", flat=True)[:5])
        if untyped:
            raise RuntimeError(f"cannot type ledger entries {untyped!r}")
    finally:
        _set_trigger(schema_editor, True)


class Migration(migrations.Migration):
    dependencies = [("royalties", "0007_idempotency_to_core")]

    operations = [
        migrations.AddField(
            model_name="journalentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("works", "Works recorded"),
                    ("work_void", "Work voided"),
                    ("advance", "Minimum guarantee prepaid"),
                    ("advance_reapplied", "Advance applied to later works after a void"),
                    ("advance_to_brand", "Used advance given back to the brand charged for it"),
                    ("true_up", "Minimum guarantee true-up"),
                    ("fee", "Upfront fee"),
                    ("fee_unapplied", "Payment not applied: the brand's credit"),
                    ("fee_refund", "Fee refunded"),
                    ("fee_chargeback", "Fee disputed"),
                    ("fee_restored", "Fee dispute won"),
                    ("invoice_payment", "Usage invoice paid"),
                    ("invoice_refund", "Usage invoice refunded"),
                    ("invoice_chargeback", "Usage invoice disputed"),
                    ("invoice_restored", "Usage invoice dispute won"),
                    ("processing_fee", "Payment processing fee"),
                    ("payout", "Payout"),
                    ("payout_reversal", "Payout reversed"),
                ],
                default="",
                max_length=20,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="journalentry",
            name="source",
            field=models.CharField(
                default="", help_text="What the entry is about, by our ids.", max_length=180
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="journalentry",
            name="split",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(type_entries, migrations.RunPython.noop),
        migrations.AddField(
            model_name="licenseusage",
            name="advance_charged",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(fields=["kind", "source"], name="royalties_j_kind_d3a946_idx"),
        ),
    ]

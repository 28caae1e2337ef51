"""Cash movements lose their kind: the ledger entry they belong to has one now. Before it
goes, it tells which refunds, chargebacks and won disputes were of usage invoices (the
ledger's migration typed them all as the fee's)."""

from django.db import migrations, models

_INVOICE_KINDS = {
    "fee_refund": "invoice_refund",
    "fee_chargeback": "invoice_chargeback",
    "fee_restored": "invoice_restored",
}
_TRIGGER = "royalties_entry_append_only"


def retype_invoice_reversals(apps, schema_editor):
    movement_model = apps.get_model("payments", "CashMovement")
    entry_model = apps.get_model("royalties", "JournalEntry")
    on_invoices = movement_model.objects.filter(
        kind__in=["invoice_reversed", "invoice_restored"]
    ).values_list("entry_id", flat=True)
    entries = entry_model.objects.filter(pk__in=list(on_invoices), kind__in=list(_INVOICE_KINDS))
    if not entries.exists():
        return
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:  # the ledger refuses UPDATE; typing old entries is the one exception
        schema_editor.execute(f"ALTER TABLE royalties_journalentry DISABLE TRIGGER {_TRIGGER}")
    try:
        for entry in entries:
            entry_model.objects.filter(pk=entry.pk).update(kind=_INVOICE_KINDS[entry.kind])
    finally:
        if postgres:
            schema_editor.execute(f"ALTER TABLE royalties_journalentry ENABLE TRIGGER {_TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("royalties", "0008_typed_entries"),
    ]

    operations = [
        migrations.RunPython(retype_invoice_reversals, migrations.RunPython.noop),
        migrations.RemoveField(model_name="cashmovement", name="kind"),
        migrations.AddField(
            model_name="feepayment",
            name="dispute_advance_charged",
            field=models.BigIntegerField(
                default=0, help_text="Used advance the open dispute charged to the brand."
            ),
        ),
    ]

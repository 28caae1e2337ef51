"""On PostgreSQL the database itself keeps the ledger honest: entries balance (checked at
commit by a deferred constraint trigger) and nothing posted is ever updated or deleted."""

from __future__ import annotations

from typing import Any

from django.db import migrations

FORWARD = """
CREATE FUNCTION royalties_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused (post a reversing entry)',
        TG_OP, TG_TABLE_NAME;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER royalties_posting_append_only BEFORE UPDATE OR DELETE ON royalties_posting
    FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER royalties_entry_append_only BEFORE UPDATE OR DELETE ON royalties_journalentry
    FOR EACH ROW EXECUTE FUNCTION royalties_append_only();

CREATE FUNCTION royalties_entry_balances() RETURNS trigger AS $$
BEGIN
    IF (SELECT COALESCE(SUM(amount), 0) FROM royalties_posting WHERE entry_id = NEW.entry_id) <> 0
    THEN
        RAISE EXCEPTION 'journal entry % does not balance', NEW.entry_id;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER royalties_posting_balanced AFTER INSERT ON royalties_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION royalties_entry_balances();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS royalties_posting_balanced ON royalties_posting;
DROP FUNCTION IF EXISTS royalties_entry_balances();
DROP TRIGGER IF EXISTS royalties_entry_append_only ON royalties_journalentry;
DROP TRIGGER IF EXISTS royalties_posting_append_only ON royalties_posting;
DROP FUNCTION IF EXISTS royalties_append_only();
"""


def forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)  # RAISE uses %: no interpolation


def backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("royalties", "0001_ledger")]
    operations = [migrations.RunPython(forward, backward)]

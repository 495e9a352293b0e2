"""On PostgreSQL, refuse TRUNCATE of the journal too.

The row-level trigger of 0003 never sees a TRUNCATE (no row is deleted one by one), so
`TRUNCATE journal_entry` (or the CASCADE of another table's TRUNCATE) emptied the journal. A
statement-level BEFORE TRUNCATE trigger refuses it with the same function. SQLite has no
TRUNCATE: its `DELETE FROM` is row by row and the hash chain (and its anchors) detect it.
Test teardown and the bench flush the database with this trigger switched off for the flush's
own transaction, which needs the table's owner (apps/journal/guard.py).
"""

from django.db import migrations

CREATE = """
DROP TRIGGER IF EXISTS journal_entry_no_truncate ON journal_entry;
CREATE TRIGGER journal_entry_no_truncate
    BEFORE TRUNCATE ON journal_entry
    FOR EACH STATEMENT EXECUTE FUNCTION journal_entry_append_only();
"""

DROP = "DROP TRIGGER IF EXISTS journal_entry_no_truncate ON journal_entry;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("journal", "0003_append_only_trigger")]

    operations = [migrations.RunPython(forwards, backwards)]

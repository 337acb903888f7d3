"""Hand-written: the database refuses to change or delete a published revision.

Signatures bind to a revision's exact text, so no UPDATE or DELETE may touch a
row of letters_revision, whatever runs it (the ORM, a shell, raw SQL). Table-wide
TRUNCATE (PostgreSQL's flush) is not a row edit and still works.
"""

from django.db import migrations

MESSAGE = "letters_revision rows are immutable"

POSTGRESQL_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION letters_revision_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = '{MESSAGE}',
            ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER letters_revision_immutable
    BEFORE UPDATE OR DELETE ON letters_revision
    FOR EACH ROW EXECUTE FUNCTION letters_revision_immutable()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS letters_revision_immutable ON letters_revision",
    "DROP FUNCTION IF EXISTS letters_revision_immutable()",
]

# RAISE(ABORT) in a trigger is a constraint error: IntegrityError, as above.
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER IF NOT EXISTS letters_revision_no_update
    BEFORE UPDATE ON letters_revision
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS letters_revision_no_delete
    BEFORE DELETE ON letters_revision
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS letters_revision_no_update",
    "DROP TRIGGER IF EXISTS letters_revision_no_delete",
]

SQL = {
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_REVERSE),
    "sqlite": (SQLITE_FORWARD, SQLITE_REVERSE),
}


def _run(schema_editor, index):
    vendor = schema_editor.connection.vendor
    if vendor not in SQL:
        raise NotImplementedError(f"no revision guard for {vendor}")
    for statement in SQL[vendor][index]:
        # params=None: the SQL is sent as it is, with no placeholder parsing.
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    _run(schema_editor, 0)


def reverse(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("letters", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]

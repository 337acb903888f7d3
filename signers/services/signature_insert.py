"""A new signature and its first email written together.

On PostgreSQL one statement writes both: the signature's INSERT skips a row
that a unique constraint refuses (``ON CONFLICT DO NOTHING``, so no savepoint
is needed to survive the refusal) and the outbox row is inserted from what it
returned, so a refused signature writes no email either. The columns and
values come from the models' own fields (``pre_save`` and
``get_db_prep_save``, as the ORM's INSERT does), so a field added to either
model is written here too. Elsewhere (SQLite) the ORM writes the two rows.
"""

import secrets
from typing import Any

from django.db import IntegrityError, connection, models, transaction

from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import kick_after_commit, message_id_for, outbox_message
from signers.models import Signature
from signers.services.sending import signature_email_key


def signature_insert(signature: Signature, *, email_kind: str | None) -> bool:
    """Insert the unsaved ``signature`` and, unless ``email_kind`` is None,
    the outbox row of its first email of that kind (the dispatcher kicked
    once this commits). False, and nothing written, when a live signature of
    the letter has its email, name or look-alike name (the database's
    constraints decide, races too)."""
    if connection.vendor != "postgresql":
        return _insert_orm(signature, email_kind)
    returning = list(Signature._meta.db_returning_fields)
    quote = connection.ops.quote_name
    columns, values = _prepared(signature, exclude=set())
    sql = (
        f"INSERT INTO {quote(Signature._meta.db_table)} "  # noqa: S608 - the model's own names
        f"({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(values))}) ON CONFLICT DO NOTHING "
        f"RETURNING {', '.join(_column(f) for f in returning)}"
    )
    params: list[Any] = list(values)
    if email_kind is not None:
        message = _first_email(signature, email_kind)
        message.message_id = _random_message_id()
        key_column = _column(OutboxMessage._meta.get_field("key"))
        link_column = _column(OutboxMessage._meta.get_field("signature"))
        m_columns, m_values = _prepared(message, exclude={key_column, link_column})
        before, after = signature_email_key(
            "{}", email_kind, signature.revision_id
        ).split("{}")
        pk = "s." + _column(Signature._meta.pk)
        sql = (
            f"WITH s AS ({sql}), m AS ("  # noqa: S608 - the models' own names
            f"INSERT INTO {quote(OutboxMessage._meta.db_table)} "
            f"({', '.join([*m_columns, key_column, link_column])}) "
            f"SELECT {', '.join(['%s'] * len(m_values))}, "
            f"concat(%s::text, {pk}, %s::text), {pk} FROM s RETURNING 1) "
            f"SELECT {', '.join('s.' + _column(f) for f in returning)} FROM s"
        )
        params += [*m_values, before, after]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    for field, value in zip(returning, row, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        setattr(signature, field.attname, value)
    signature._state.adding = False
    signature._state.db = connection.alias
    if email_kind is not None:
        kick_after_commit()
    return True


def _prepared(
    instance: models.Model, *, exclude: set[str]
) -> tuple[list[str], list[Any]]:
    """The columns (quoted) and database values an INSERT of ``instance``
    writes, as the ORM prepares them (the primary key and generated columns
    left to the database)."""
    columns, values = [], []
    for field in instance._meta.concrete_fields:
        column = _column(field)
        if field.primary_key or field.generated or column in exclude:
            continue
        value = field.pre_save(instance, add=True)
        columns.append(column)
        values.append(field.get_db_prep_save(value, connection))
    return columns, values


def _column(field: "models.Field[Any, Any]") -> str:
    return connection.ops.quote_name(str(field.column))


def _first_email(signature: Signature, kind: str) -> OutboxMessage:
    """The outbox row of a signature's first email, before the signature has
    its id: the key is completed in the statement; the Message-ID, fixed here
    and stored with the row, is made from a random value, not the key."""
    return outbox_message(
        kind=kind,
        key=signature_email_key(signature.pk or 0, kind, signature.revision_id),
        to=signature.email,
        params={"revision": signature.revision_id},
        letter_id=signature.letter_id,
        signature_id=signature.pk,
    )


def _insert_orm(signature: Signature, email_kind: str | None) -> bool:
    try:
        with transaction.atomic():
            signature.save(force_insert=True)
    except IntegrityError:
        return False
    if email_kind is not None:
        # No row can have the key of a signature made in this transaction:
        # one INSERT, no read-back.
        _first_email(signature, email_kind).save(force_insert=True)
        kick_after_commit()
    return True


def _random_message_id() -> str:
    """A Message-ID in the form of the others, made before the key is known."""
    return message_id_for(f"new:{secrets.token_hex(16)}")

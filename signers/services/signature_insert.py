"""A new signature and its first email written together.

On PostgreSQL one statement writes both: the signature's INSERT skips a row
that a unique constraint refuses (``ON CONFLICT DO NOTHING``, so no savepoint
is needed to survive the refusal) and the outbox row is inserted from what it
returned, so a refused signature writes no email either. The columns and
values come from the models' own fields (``pre_save`` and
``get_db_prep_save``, as the ORM's INSERT does), so a field added to either
model is written here too. Elsewhere (SQLite) the ORM writes the two rows.
``model_from_row`` is the other way: an instance from a row read by hand.
"""

import functools
import secrets
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Field

from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import kick_after_commit, message_id_for, outbox_message
from signers.models import Signature
from signers.services.sending import signature_email_key

M = TypeVar("M", bound=models.Model)


def signature_insert(signature: Signature, *, email_kind: str | None) -> bool:
    """Insert the unsaved ``signature`` and, unless ``email_kind`` is None,
    the outbox row of its first email of that kind (the dispatcher kicked
    once this commits). False, and nothing written, when a live signature of
    the letter has its email, name or look-alike name (the database's
    constraints decide, races too)."""
    if connection.vendor != "postgresql":
        return _insert_orm(signature, email_kind)
    quote = connection.ops.quote_name
    columns, placeholders, params = _prepared(signature, skip=())
    returning = Signature._meta.db_returning_fields
    sql = (
        f"INSERT INTO {quote(Signature._meta.db_table)} ({columns}) "  # noqa: S608 - the model's own names
        f"VALUES ({placeholders}) ON CONFLICT DO NOTHING "
        f"RETURNING {', '.join(_columns(Signature, returning))}"
    )
    if email_kind is not None:
        message = _first_email(signature, email_kind)
        message.message_id = _random_message_id()
        m_columns, m_placeholders, m_params = _prepared(message, skip=_FILLED_IN)
        key, link = _columns(OutboxMessage, _FILLED_IN)
        before, after = signature_email_key(
            "{}", email_kind, signature.revision_id
        ).split("{}")
        pk = "s." + _columns(Signature, [Signature._meta.pk])[0]
        sql = (
            f"WITH s AS ({sql}), m AS ("  # noqa: S608 - the models' own names
            f"INSERT INTO {quote(OutboxMessage._meta.db_table)} "
            f"({m_columns}, {key}, {link}) SELECT {m_placeholders}, "
            f"concat(%s::text, {pk}, %s::text), {pk} FROM s RETURNING 1) "
            f"SELECT {', '.join('s.' + c for c in _columns(Signature, returning))} "
            "FROM s"
        )
        params += [*m_params, before, after]
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


# The outbox row's columns the statement fills from the new signature.
_FILLED_IN = ("key", "signature")


def _prepared(
    instance: models.Model, *, skip: Sequence[str]
) -> tuple[str, str, list[Any]]:
    """The columns an INSERT of ``instance`` writes (all but the primary key,
    generated ones and ``skip``), their placeholders and their values, as the
    ORM prepares them. A null is written into the statement rather than passed:
    the statement stays within what the driver keeps parsed (50 values), one
    text per pattern of nulls."""
    fields = _insertable(type(instance), tuple(skip))
    placeholders, values = [], []
    for field in fields:
        value = field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        if value is None:
            placeholders.append("NULL")
        else:
            placeholders.append("%s")
            values.append(value)
    columns = ", ".join(_columns(type(instance), fields))
    return columns, ", ".join(placeholders), values


@functools.cache
def _insertable(
    model: type[models.Model], skip: tuple[str, ...]
) -> list["Field[Any, Any]"]:
    return [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key or f.generated or f.name in skip)
    ]


def _columns(
    model: type[models.Model], fields: "Sequence[Field[Any, Any] | str]"
) -> tuple[str, ...]:
    """The quoted columns of ``fields`` (or of the fields so named)."""
    return _quoted(model, tuple(f if isinstance(f, str) else f.name for f in fields))


@functools.cache
def _quoted(model: type[models.Model], names: tuple[str, ...]) -> tuple[str, ...]:
    quote = connection.ops.quote_name
    by_name = {f.name: f for f in model._meta.concrete_fields}
    return tuple(quote(str(by_name[n].column)) for n in names)


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


def model_from_row(model: type[M], columns: Sequence[str], row: Sequence[Any]) -> M:
    """An instance of ``model`` from a whole row of its table read by hand
    (``SELECT *``, whatever its column order), the values converted as the
    ORM converts them."""
    order = _in_field_order(model, tuple(columns))
    values = []
    for field, at in order:
        value = row[at]
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f, _ in order], values)


@functools.cache
def _in_field_order(
    model: type[models.Model], columns: tuple[str, ...]
) -> list[tuple["Field[Any, Any]", int]]:
    """Each concrete field of ``model`` with the place of its column."""
    at = {c: i for i, c in enumerate(columns)}
    return [(f, at[str(f.column)]) for f in model._meta.concrete_fields]

import pytest

from letters import audit
from letters.audit import Action, audit_record, describe
from letters.models import AuditEvent
from tests.factories import LetterFactory, SignatureFactory, UserFactory

# Every key some event's detail has, so that each sentence is whole.
DETAIL = {
    "signature": 1, "name": "Alder Group", "fields": ["body"], "changes": {"slug": []},
    "kind": "material", "number": 2, "change_note": "New point", "count": 3,
    "asked": 3, "recipients": 3, "email": "a@example.org", "role": "viewer",
    "previous": "owner", "requested": "Alder Trust", "title": "Planning call",
    "frequency": "weekly", "moved": True, "by": "organiser",
    "looks_like_name": "Alder Groop", "scheduled": True,
}  # fmt: skip


@pytest.mark.parametrize("action", list(Action))
def test_every_audit_action_reads_as_a_translated_sentence(action, monkeypatch):
    monkeypatch.setattr(audit, "_", lambda text: f"[{text}]")
    monkeypatch.setattr(
        audit, "ngettext", lambda one, many, n: f"[{one if n == 1 else many}]"
    )

    sentence = describe(AuditEvent(action=action.value, detail=DETAIL))

    assert sentence.startswith("[")
    assert action.value not in sentence
    assert "%(" not in sentence


def test_an_action_the_log_does_not_know_shows_as_stored():
    assert describe(AuditEvent(action="something.else", detail={})) == "something.else"


def test_a_sentence_reads_without_the_detail_an_older_event_lacks():
    assert describe(AuditEvent(action=Action.SIGNATURE_WITHDRAWN, detail={})) == (
        "a signer withdrew their signature"
    )


@pytest.mark.django_db
def test_audit_record_appends_an_event_to_the_letters_log():
    letter, actor = LetterFactory(), UserFactory()

    audit_record(letter, actor, Action.LETTER_CLOSED, previous="published")
    audit_record(letter.pk, None, Action.LETTER_REOPENED)

    reopened, closed = AuditEvent.objects.filter(letter=letter)
    assert (closed.action, closed.actor, closed.detail) == (
        "letter.closed",
        actor,
        {"previous": "published"},
    )
    assert (reopened.action, reopened.actor) == ("letter.reopened", None)
    assert describe(closed) == "Closed the letter"


@pytest.mark.django_db
def test_an_event_about_a_signature_names_it():
    signature = SignatureFactory(display_name="Alder Group")

    event = audit_record(signature, None, Action.SIGNATURE_WITHDRAWN, by="signer")

    assert event.letter_id == signature.letter_id
    assert event.detail == {
        "signature": signature.pk,
        "name": "Alder Group",
        "by": "signer",
    }
    assert describe(event) == "Alder Group withdrew their signature"

import csv
import io
import re
import secrets
import string
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from coalition.outbox.dispatcher import outbox_dispatch
from coalition.outbox.models import OutboxMessage
from coalition.tokens import make_token
from letters.models import Membership
from signers.models import InvitationBatch, Prospect, Suppression
from signers.services.outreach import invitations_send, prospects_import
from tests.factories import (
    LetterFactory,
    ProspectFactory,
    UserFactory,
    circulating_letter,
)
from tests.signers.helpers import batch_messages, deliveries_dispatch, sign_form

pytestmark = pytest.mark.django_db
P = Prospect.Status


def url(name, letter, **kwargs):
    return reverse(f"signers:{name}", kwargs={"slug": letter.slug, **kwargs})


@pytest.fixture
def letter():
    return circulating_letter()


@pytest.fixture
def owner(letter):
    return letter.memberships.get().user


@pytest.fixture
def organiser(client, owner):
    client.force_login(owner)
    return client


def test_outreach_is_404_for_people_outside_the_team(client, letter):
    client.force_login(UserFactory())

    assert client.get(url("outreach", letter)).status_code == 404
    assert (
        client.post(url("outreach-invite", letter), {"everyone": "1"}).status_code
        == 404
    )


def test_outreach_needs_a_login(client, letter):
    response = client.get(url("outreach", letter))

    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_inviting_needs_a_login_and_a_post(client, letter, owner):
    invite = url("outreach-invite", letter)
    ProspectFactory(letter=letter)

    response = client.post(invite, {"everyone": "1"})
    assert response.status_code == 302
    assert "/accounts/login/" in response.url

    client.force_login(owner)
    assert client.get(invite, {"everyone": "1"}).status_code == 405
    assert not OutboxMessage.objects.exists()


def test_viewers_read_the_list_but_cannot_change_or_invite(client, letter):
    viewer = UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role="viewer")
    prospect = ProspectFactory(letter=letter)
    client.force_login(viewer)

    page = client.get(url("outreach", letter)).content.decode()

    assert prospect.organisation in page
    assert "Add a prospect" not in page
    assert client.get(url("prospect-add", letter)).status_code == 403
    assert (
        client.post(url("outreach-invite", letter), {"everyone": "1"}).status_code
        == 403
    )
    assert client.get(url("prospect-export", letter)).status_code == 200
    assert not OutboxMessage.objects.exists()


def test_outreach_page_shows_the_funnel_as_numbers_and_bars(organiser, letter):
    now = datetime(2026, 5, 1, tzinfo=UTC)
    counts = [(P.IDENTIFIED, 4), (P.INVITED, 2), (P.OPENED, 1), (P.SIGNED, 2)]
    for status, count in [*counts, (P.DECLINED, 1)]:
        ProspectFactory.create_batch(
            count,
            letter=letter,
            status=status,
            invited_at=None if status == P.IDENTIFIED else now,
        )

    response = organiser.get(url("outreach", letter))

    funnel = [(s.key, s.count, s.percent) for s in response.context["overview"].funnel]
    assert funnel == [
        ("prospects", 10, 100),
        ("invited", 6, 60),
        ("opened", 3, 30),
        ("signed", 2, 20),
        ("declined", 1, 10),
    ]
    page = response.content.decode()
    assert 'class="funnel__bar funnel__bar--invited" style="width: 60%"' in page
    assert "<caption" in page


def test_outreach_page_runs_a_fixed_number_of_queries(
    organiser, letter, django_assert_max_num_queries
):
    ProspectFactory.create_batch(30, letter=letter, owner=letter.memberships.get().user)
    with django_assert_max_num_queries(25):
        organiser.get(url("outreach", letter))
    ProspectFactory.create_batch(30, letter=letter)
    with django_assert_max_num_queries(25):
        organiser.get(url("outreach", letter))


def test_list_filters_by_status_owner_follow_up_and_search(organiser, letter, owner):
    a = ProspectFactory(letter=letter, organisation="Cyclists United", owner=owner)
    b = ProspectFactory(letter=letter, organisation="Tenants Union", status=P.INVITED)
    c = ProspectFactory(
        letter=letter,
        organisation="Parents for Parks",
        notes="met at the fair",
        next_follow_up=datetime(2020, 1, 1).date(),
    )

    def names(**params):
        page = organiser.get(url("outreach", letter), params).context["page"]
        return [p.organisation for p in page]

    assert names() == [a.organisation, c.organisation, b.organisation]
    assert names(status="invited") == [b.organisation]
    assert names(owner=str(owner.pk)) == [a.organisation]
    assert names(owner="none") == [c.organisation, b.organisation]
    assert names(q="FAIR") == [c.organisation]
    assert names(q=b.email) == [b.organisation]
    assert names(follow_up="on") == [c.organisation]


def test_organiser_adds_a_prospect_and_a_duplicate_address_is_refused(
    organiser, letter, owner
):
    data = {
        "organisation": " Friends of the Earth ",
        "contact_name": "Rosa",
        "email": "Rosa@Example.org",
        "owner": owner.pk,
        "status": "identified",
        "is_large": "on",
    }
    response = organiser.post(url("prospect-add", letter), data)

    assert response.status_code == 302
    prospect = Prospect.objects.get()
    assert prospect.organisation == "Friends of the Earth"
    assert prospect.email == "rosa@example.org"
    assert (prospect.owner, prospect.is_large) == (owner, True)

    again = organiser.post(
        url("prospect-add", letter), {**data, "email": "ROSA@example.org"}
    )
    assert again.status_code == 200
    assert "already on the list" in again.content.decode()
    assert Prospect.objects.count() == 1


def test_a_prospect_is_saved_without_the_line_breaks_typed_in_its_names(
    organiser, letter
):
    response = organiser.post(
        url("prospect-add", letter),
        {
            "organisation": "Friends of\r\nthe Earth\x07",
            "contact_name": "Rosa\u2028Parks\u202e",
            "email": "rosa@example.org",
            "status": "identified",
            "notes": "Call\r\nafter the board meets\x00",
        },
    )

    assert response.status_code == 302
    prospect = Prospect.objects.get()
    assert prospect.organisation == "Friends of the Earth"
    assert prospect.contact_name == "Rosa Parks"
    assert prospect.notes == "Call\nafter the board meets"


def test_prospect_notes_longer_than_the_import_allows_are_refused(organiser, letter):
    data = {"organisation": "Friends", "email": "f@example.org", "status": "identified"}

    response = organiser.post(
        url("prospect-add", letter), {**data, "notes": "n" * 2001}
    )

    assert response.status_code == 200
    assert "at most 2000 characters" in response.content.decode()
    assert not Prospect.objects.exists()


def test_organiser_edits_a_prospect_and_marks_it_needs_time(organiser, letter):
    prospect = ProspectFactory(letter=letter)

    response = organiser.post(
        url("prospect-edit", letter, pk=prospect.pk),
        {
            "organisation": prospect.organisation,
            "email": prospect.email,
            "status": "needs_time",
            "next_follow_up": "2026-07-01",
            "notes": "call after the board meets",
        },
    )

    assert response.status_code == 302
    prospect.refresh_from_db()
    assert prospect.status == P.NEEDS_TIME
    assert str(prospect.next_follow_up) == "2026-07-01"


def test_prospects_of_another_letter_cannot_be_edited(organiser, letter):
    other = ProspectFactory()

    assert organiser.get(url("prospect-edit", letter, pk=other.pk)).status_code == 404


# --- CSV ------------------------------------------------------------------------


def upload(client, letter, content: bytes, name="prospects.csv"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(url("prospect-import", letter), {"file": file})


def test_csv_import_previews_then_imports_every_row(organiser, letter, owner):
    ProspectFactory(letter=letter, email="already@example.org")
    boss = owner.email.upper()
    lines = [
        "\ufeffOrganization Name;First Name;Last Name;E-mail Address;Notes;Owner;X",
        f"Bike Coalition;Ana;Silva;ANA@bikes.example.org;met at fair;{boss};x",
        "Old Friends;;;already@example.org;;;",
        "Bike Coalition Again;;;ana@bikes.example.org;;;",
        ";;;;;;",
        '"Parents; Teachers";Bo;;bo@pt.example.org;"two\nlines";;',
    ]
    content = "\n".join(lines).encode()

    preview = upload(organiser, letter, content)

    assert preview.status_code == 200
    assert Prospect.objects.count() == 1  # nothing written by the preview
    p = preview.context["preview"]
    assert [(r.number, r.organisation, r.contact_name, r.email) for r in p.rows] == [
        (2, "Bike Coalition", "Ana Silva", "ana@bikes.example.org"),
        (6, "Parents; Teachers", "Bo", "bo@pt.example.org"),
    ]
    assert [(n, e) for n, e, _why in p.duplicates] == [
        (3, "already@example.org"),
        (4, "ana@bikes.example.org"),
    ]
    assert p.errors == []
    assert p.ignored_columns == ["X"]
    page = preview.content.decode()
    assert "2 rows to add" in page and "2 duplicates left out" in page

    payload = preview.context["confirm"].initial["payload"]
    done = organiser.post(url("prospect-import", letter), {"payload": payload})

    assert done.status_code == 302
    assert Prospect.objects.count() == 3
    ana = Prospect.objects.get(email="ana@bikes.example.org")
    assert (ana.owner, ana.notes) == (owner, "met at fair")


def test_csv_import_reads_comma_files_from_spreadsheets_with_plain_utf8(
    organiser, letter
):
    content = "Name,Email,Large organisation\nÉcole Verte,eco@example.org,yes\n"

    preview = upload(organiser, letter, content.encode())

    (row,) = preview.context["preview"].rows
    assert (row.organisation, row.email, row.is_large) == (
        "École Verte", "eco@example.org", True,
    )  # fmt: skip


def test_csv_import_rejects_a_malformed_file_with_row_errors_and_imports_nothing(
    organiser, letter
):
    content = (
        b"organisation,email,owner\n"
        b"Good One,good@example.org,\n"
        b",missing-org@example.org,\n"
        b"Bad Mail,not-an-email,\n"
        b"No Mail,,\n"
        b"Stranger,s@example.org,someone@else.org\n"
        b"Too,many@example.org,,extra cell\n"
    )

    preview = upload(organiser, letter, content)

    p = preview.context["preview"]
    assert [n for n, _e in p.errors] == [3, 4, 5, 6, 7]
    assert not p.can_import
    page = preview.content.decode()
    assert "Row 4:" in page and "is not an email address" in page
    assert "Import 1 prospect" not in page

    forged = prospects_import  # the service refuses too
    with pytest.raises(Exception, match="nothing was imported"):
        forged(letter=letter, data=content, actor=None)
    assert not Prospect.objects.exists()


def test_csv_import_refuses_a_file_that_is_not_text_or_has_no_email_column(
    organiser, letter
):
    # UTF-8 letters, then a byte that is not UTF-8: two encodings in one file.
    mixed = "organisation,email\nCafé,a@b.org\n".encode() + "Crème,c@d.org\n".encode(
        "cp1252"
    )
    assert "not UTF-8" in upload(organiser, letter, mixed).content.decode()

    no_email = upload(organiser, letter, b"organisation,phone\nA,123\n")
    assert "No column for: email." in no_email.content.decode()
    assert not Prospect.objects.exists()


def test_a_tampered_import_payload_imports_nothing(organiser, letter):
    response = organiser.post(url("prospect-import", letter), {"payload": "forged"})

    assert "expired" in response.content.decode()
    assert not Prospect.objects.exists()


def test_csv_import_refuses_a_nul_character_in_the_preview_with_its_line(
    organiser, letter
):
    # PostgreSQL refuses NUL in text: this file once passed the preview and
    # failed the import with a server error.
    content = (
        b"organisation,email,notes\n"
        b"Good One,good@example.org,\n"
        b"Bad One,bad@example.org,nul\x00inside\n"
    )

    preview = upload(organiser, letter, content)

    assert preview.status_code == 200
    assert not preview.context["preview"].can_import
    assert "confirm" not in preview.context
    assert "Line 3 contains a NUL character" in preview.content.decode()
    with pytest.raises(ValidationError, match="nothing was imported"):
        prospects_import(letter=letter, data=content, actor=None)
    assert not Prospect.objects.exists()


def test_csv_import_says_on_which_line_a_quote_is_never_closed(organiser, letter):
    content = (
        b"organisation,email\n"
        b'"Parents\nand Teachers",pt@example.org\n'
        b'"Bikes,bikes@example.org\n'
        b"Walkers,walk@example.org\n"
    )

    preview = upload(organiser, letter, content)

    assert not preview.context["preview"].can_import
    assert "A quote opened on line 4 is never closed" in preview.content.decode()


def test_csv_import_stops_at_the_row_limit_and_imports_nothing(
    organiser, letter, settings
):
    settings.IMPORT_MAX_ROWS = 3
    rows = "".join(f"Org {n},o{n}@example.org\n" for n in range(4))

    preview = upload(organiser, letter, f"organisation,email\n{rows}".encode())

    assert not preview.context["preview"].can_import
    assert "more than 3 rows" in preview.content.decode()
    assert not Prospect.objects.exists()


def test_csv_import_of_a_file_over_the_size_limit_says_so(organiser, letter, settings):
    settings.IMPORT_MAX_BYTES = 1000
    content = b"organisation,email\n" + b"Org,o@example.org\n" * 60

    response = upload(organiser, letter, content)

    assert response.status_code == 200
    assert "The file is larger than 1000" in response.content.decode()
    assert "preview" not in response.context


def test_csv_import_of_a_file_at_the_size_limit_previews_and_imports(
    organiser, letter, settings
):
    # Notes near their longest, of random printable characters: they hardly
    # compress, so the confirm step's field is larger than the file.
    count = 1100
    length = int(settings.IMPORT_MAX_BYTES * 0.99 / count) - 30
    alphabet = [c for c in string.printable[:94] if c not in '",']

    def noise():
        return "".join(secrets.choice(alphabet) for _ in range(length))

    rows = "".join(f"Org {n},o{n}@example.org,{noise()}\n" for n in range(count))
    content = f"organisation,email,notes\n{rows}".encode()
    assert settings.IMPORT_MAX_BYTES * 0.98 < len(content) <= settings.IMPORT_MAX_BYTES

    preview = upload(organiser, letter, content)
    payload = preview.context["confirm"].initial["payload"]
    done = organiser.post(  # as the browser sends the confirm form
        url("prospect-import", letter),
        urlencode({"payload": payload}),
        content_type="application/x-www-form-urlencoded",
    )

    assert len(payload) > len(content)
    assert done.status_code == 302
    assert Prospect.objects.count() == count


def test_csv_export_has_every_prospect_and_neutralises_formulas(organiser, letter):
    ProspectFactory(
        letter=letter, organisation='=HYPERLINK("http://x")', notes="@SUM(1)"
    )
    ProspectFactory(letter=letter, organisation="Plain", notes="+1 -2\ttab")

    response = organiser.get(url("prospect-export", letter))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["organisation", "contact_name", "email"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {'\'=HYPERLINK("http://x")', "Plain"}
    assert by_name['\'=HYPERLINK("http://x")'][7] == "'@SUM(1)"
    assert by_name["Plain"][7] == "'+1 -2\ttab"


def test_csv_import_reads_a_windows_1252_export(organiser, letter):
    windows = "organisation;email\nCafé Œuvre;a@b.org\n".encode("cp1252")

    response = upload(organiser, letter, windows)

    assert response.status_code == 200
    assert [r.organisation for r in response.context["preview"].rows] == ["Café Œuvre"]


# --- Invitations ------------------------------------------------------------------


def test_bulk_invitation_plans_one_delivery_each_and_a_double_click_adds_none(
    organiser, letter, django_capture_on_commit_callbacks
):
    prospects = ProspectFactory.create_batch(3, letter=letter)
    ProspectFactory(letter=letter, status=P.DO_NOT_CONTACT)
    ProspectFactory(letter=letter, status=P.DECLINED)

    with django_capture_on_commit_callbacks() as callbacks:
        first = organiser.post(url("outreach-invite", letter), {"everyone": "1"})
        second = organiser.post(url("outreach-invite", letter), {"everyone": "1"})

    assert first.status_code == second.status_code == 302
    assert len(callbacks) == 1  # one batch queued
    deliveries = OutboxMessage.objects.filter(kind="invitation")
    assert sorted(d.prospect_id for d in deliveries) == sorted(p.pk for p in prospects)
    assert InvitationBatch.objects.count() == 1
    messages = [
        str(m) for m in organiser.get(url("outreach", letter)).context["messages"]
    ]
    assert "Already invited: nothing new to send." in messages


def test_sending_a_batch_twice_sends_each_invitation_once_and_marks_invited(
    organiser, letter, mailoutbox
):
    prospects = ProspectFactory.create_batch(3, letter=letter)
    ids = [p.pk for p in prospects[:2]]
    organiser.post(url("outreach-invite", letter), {"selected": [str(i) for i in ids]})
    batch = InvitationBatch.objects.get()

    assert batch_messages(batch).count() == 2
    assert outbox_dispatch().sent == 2
    assert outbox_dispatch().claimed == 0  # a second run, or a duplicate task

    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in prospects[:2])
    for prospect in prospects:
        prospect.refresh_from_db()
    assert [p.status for p in prospects] == [P.INVITED, P.INVITED, P.IDENTIFIED]
    assert prospects[0].invited_at is not None
    assert prospects[0].last_contacted_at is not None
    message = mailoutbox[0]
    delivery = OutboxMessage.objects.get(to=message.to[0])
    assert message.extra_headers["Message-ID"] == delivery.message_id
    assert re.search(r"http://testserver/invite/[^/\s]+/decline/", message.body)


def test_one_invitation_from_the_row_button(organiser, letter, mailoutbox):
    prospect, other = ProspectFactory.create_batch(2, letter=letter)

    organiser.post(
        url("outreach-invite", letter), {"only": prospect.pk, "selected": [other.pk]}
    )

    (delivery,) = OutboxMessage.objects.all()
    assert delivery.prospect == prospect


def test_invitations_wait_until_the_letter_circulates_and_stop_when_signing_closes(
    organiser, owner
):
    draft = LetterFactory(owner=owner)
    ProspectFactory(letter=draft)
    response = organiser.post(
        url("outreach-invite", draft), {"everyone": "1"}, follow=True
    )
    assert (
        "Invitations can be sent while the letter is circulating"
        in response.content.decode()
    )

    closed = circulating_letter(
        owner=owner, hard_deadline=datetime(2026, 1, 1, tzinfo=UTC)
    )
    ProspectFactory(letter=closed)
    with time_machine.travel(datetime(2026, 1, 2, tzinfo=UTC)):
        organiser.post(url("outreach-invite", closed), {"everyone": "1"})
        page = organiser.get(url("outreach", closed)).content.decode()
    assert "Signing closed on" in page
    assert not OutboxMessage.objects.exists()


def test_an_invitation_is_skipped_if_the_prospect_answered_before_it_went(
    letter, mailoutbox
):
    prospect = ProspectFactory(letter=letter)
    batch = invitations_send(letter=letter, actor=None)
    Prospect.objects.filter(pk=prospect.pk).update(status=P.DO_NOT_CONTACT)

    outbox_dispatch()

    assert mailoutbox == []
    assert batch_messages(batch).get().status == OutboxMessage.Status.CANCELLED


def test_batch_progress_page_and_its_htmx_partial(organiser, letter):
    ProspectFactory.create_batch(3, letter=letter)
    batch = invitations_send(letter=letter, actor=None)
    first = batch_messages(batch).first()
    assert outbox_dispatch(batch_size=1).sent == 1

    page = organiser.get(url("outreach-batch", letter, pk=batch.pk))
    partial = organiser.get(
        url("outreach-batch", letter, pk=batch.pk) + "?compact=1",
        HTTP_HX_REQUEST="true",
    )
    outreach = organiser.get(url("outreach", letter)).content.decode()

    html = page.content.decode()
    assert "1 of 3 done" in html
    assert 'http-equiv="refresh"' in html  # works without JavaScript too
    assert first.prospect.organisation in html
    assert "js/htmx.min.js" in html
    assert partial.content.decode().lstrip().startswith("<section")
    assert 'hx-trigger="every 2s"' in partial.content.decode()
    assert "Result per recipient" in partial.content.decode()
    assert "Sending invitations" in outreach

    outbox_dispatch()
    done = organiser.get(
        url("outreach-batch", letter, pk=batch.pk), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "3 of 3 done" in done
    assert "hx-trigger" not in done  # polling stops


# --- Unsubscribe ------------------------------------------------------------------


def test_unsubscribe_link_shows_a_button_and_only_the_post_unsubscribes(client, letter):
    prospect = ProspectFactory(letter=letter, status=P.INVITED)
    invitations_send(letter=letter, actor=None)  # nothing: already invited
    batch = invitations_send(letter=letter, actor=None)
    assert batch is None
    Prospect.objects.filter(pk=prospect.pk).update(status=P.IDENTIFIED)
    batch = invitations_send(letter=letter, actor=None)
    delivery = batch_messages(batch).get()
    link = reverse(
        "signers:unsubscribe", kwargs={"token": make_token("unsubscribe", delivery.pk)}
    )

    page = client.get(link)
    assert page.status_code == 200
    assert "<button" in page.content.decode()
    assert not Suppression.objects.exists()

    done = client.post(link)
    again = client.post(link)

    assert "will get no more emails" in done.content.decode()
    assert "already unsubscribed" in again.content.decode()
    assert Suppression.objects.get().email == prospect.email.lower()
    prospect.refresh_from_db()
    assert prospect.status == P.DO_NOT_CONTACT


def test_an_invalid_unsubscribe_link_says_so(client):
    response = client.get(reverse("signers:unsubscribe", kwargs={"token": "nope"}))

    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_schedule_form_changes_the_reminders(organiser, letter):
    response = organiser.post(
        url("outreach-schedule", letter),
        {
            "soft_days_before": "7, 2,2",
            "announce_hard_deadline": "on",
            "last_call_days_before": "",
            "confirm_after_days": "1",
            "reconfirm_after_days": "4",
            "min_days_after_invitation": "3",
            "digest_hour": "9",
        },
    )

    assert response.status_code == 302
    schedule = letter.reminder_schedule
    assert schedule.soft_days_before == [7, 2]
    assert schedule.min_days_after_invitation == 3
    assert schedule.announce_hard_deadline
    assert schedule.last_call_days_before is None
    assert not schedule.digest_enabled
    assert (
        organiser.post(
            url("outreach-schedule", letter),
            {"soft_days_before": "x", "digest_hour": 1},
        ).status_code
        == 200
    )


def test_outreach_page_shows_the_reminder_plan_with_what_was_sent(
    organiser, letter, mailoutbox
):
    soft = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
    letter.soft_deadline = soft
    letter.time_zone = "Europe/Paris"
    letter.save()
    ProspectFactory(
        letter=letter, status=P.INVITED, invited_at=soft - timedelta(days=9)
    )

    with time_machine.travel(soft - timedelta(days=2), tick=False):
        deliveries_dispatch()
        response = organiser.get(url("outreach", letter))
        plan = response.context["overview"].plan

    rows = [(r.kind, r.state, r.sent) for r in plan]
    assert ("soft_reminder", "sent", 1) in rows
    assert ("soft_reminder", "next", 0) in rows or ("digest", "next", 0) in rows
    assert [r for r in rows if r[0] == "digest"] != []
    assert "Tue 9 Jun 2026, 19:00" in response.content.decode()  # Paris time


def test_invite_everyone_button_gives_way_to_a_note_once_all_are_invited(client):
    from signers.models import Prospect
    from tests.factories import ProspectFactory, UserFactory, circulating_letter

    owner = UserFactory()
    letter = circulating_letter(owner=owner)
    prospect = ProspectFactory(letter=letter)
    client.force_login(owner)
    url = f"/workspace/letters/{letter.slug}/outreach/"

    assert "Invite the 1 prospect not invited yet" in client.get(url).content.decode()

    Prospect.objects.filter(pk=prospect.pk).update(status=Prospect.Status.INVITED)
    page = client.get(url).content.decode()
    assert "not invited yet" not in page
    assert "Everyone on the list has been invited." in page


def test_a_withdrawal_takes_the_prospect_off_signed_and_out_of_the_funnel(
    organiser, letter
):
    prospect = ProspectFactory(letter=letter, organisation="Friends of the Park")
    invitee = Client()
    invitee.post(
        reverse("signers:invitation", args=[make_token("invite", prospect.pk)]),
        sign_form(letter, email=prospect.email),
    )
    signature = prospect.signatures.get()
    signed = organiser.get(url("outreach", letter))
    assert funnel_counts(signed)["signed"] == 1

    invitee.post(
        reverse("signers:withdraw", args=[make_token("withdraw", signature.pk)])
    )

    prospect.refresh_from_db()
    assert prospect.status == P.DECLINED  # no more reminders to sign, either
    after = organiser.get(url("outreach", letter))
    assert funnel_counts(after)["signed"] == 0
    assert funnel_counts(after)["declined"] == 1
    listed = organiser.get(url("outreach", letter), {"status": "signed"})
    assert "Friends of the Park" not in listed.content.decode()


def funnel_counts(response):
    return {stage.key: stage.count for stage in response.context["overview"].funnel}

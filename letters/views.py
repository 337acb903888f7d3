"""The organiser workspace: every letter URL is scoped to the user's letters.

``require_letter_role`` answers 404 for a letter the user does not organise,
whatever the URL, and 403 when their role is too low for what the URL does.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from coalition.actions import act, add_form_error
from coalition.coalitions.selectors import coalitions_to_create_in
from coalition.models import User
from coalition.tokens import TokenError, TokenExpired, make_token, read_token
from coalition.types import AuthedHttpRequest
from letters import selectors
from letters.audit import describe
from letters.diff import diff_revisions
from letters.forms import (
    LetterCreateForm,
    LetterDraftForm,
    LetterSettingsForm,
    MemberRoleForm,
    RevisionCompareForm,
    RevisionPublishForm,
    SigningFieldsForm,
    TeamInviteForm,
)
from letters.markdown import render_body, render_markdown, render_revision_body
from letters.models import Letter, Membership, Revision, TeamInvitation
from letters.permissions import require_letter_role, writing
from letters.services import revisions as revisions_services
from letters.services.letters import (
    letter_create,
    letter_update_draft,
    letter_update_settings,
)
from letters.services.lifecycle import (
    letter_close,
    letter_publish,
    letter_reopen,
    letter_start_circulating,
)
from letters.services.revisions import letter_has_live_signatures
from letters.services.team import (
    membership_change_role,
    membership_remove,
    team_invitation_accept,
    team_invitation_create,
    team_invitation_revoke,
)

Role = Membership.Role


def _context(membership: Membership, **extra: Any) -> dict[str, Any]:
    return {"letter": membership.letter, "membership": membership, **extra}


_add_error = add_form_error


_act = act


# --- Letters ------------------------------------------------------------------


@login_required
@require_safe
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    rows = selectors.letter_dashboard(user=request.user, now=timezone.now())
    return render(request, "letters/letter_dashboard.html", {"rows": rows})


@login_required
@require_safe
def after_login(request: AuthedHttpRequest) -> HttpResponse:
    """Where a login lands (LOGIN_REDIRECT_URL). A team invitation outlives
    signing up: whoever logs in with an address that has one waiting (having
    verified it, perhaps in another browser than the one that followed the
    link) is brought back to it; everyone else goes to their letters."""
    invitation = selectors.team_invitation_waiting_for(user=request.user)
    if invitation is None:
        return redirect("letters:dashboard")
    return redirect("letters:team-accept", token=make_token("team", invitation.pk))


@login_required
def create(request: AuthedHttpRequest) -> HttpResponse:
    coalitions = coalitions_to_create_in(user=request.user)
    initial = {
        "coalition": coalitions.filter(slug=request.GET.get("coalition")).first()
    }
    form = LetterCreateForm(
        request.POST or None, coalitions=coalitions, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            letter = letter_create(
                owner=request.user,
                coalition=form.cleaned_data["coalition"],
                slug=form.cleaned_data["slug"],
                time_zone=form.cleaned_data["time_zone"],
                **form.draft_fields(),
            )
        except ValidationError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("Letter created."))
            return redirect("letters:revisions", letter.slug)
    return render(request, "letters/letter_create.html", {"form": form})


@login_required
@require_safe
def detail(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug)
    letter = membership.letter
    shown = letter.current_revision or letter
    context = _context(
        membership,
        shown=shown,
        body_html=render_body(shown),
        signer_count=selectors.letter_signer_count(letter=letter),
        latest_activity=selectors.letter_latest_activity(letter=letter),
    )
    return render(request, "letters/letter_detail.html", context)


@login_required
def edit(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug, Role.EDITOR)
    letter = membership.letter
    initial = LetterDraftForm.initial_for(letter)
    form, stale = LetterDraftForm(request.POST or None, initial=initial), False
    if request.method == "POST" and form.is_valid():
        try:
            letter_update_draft(
                letter=letter,
                actor=request.user,
                base_version=form.cleaned_data["base_version"] or None,
                **form.draft_fields(),
            )
        except ValidationError as exc:
            stale = exc.code == "stale"
            if stale:  # keep their text, shown beside the saved one; next save wins
                data = request.POST.copy()
                data["base_version"] = letter.draft_version
                form = LetterDraftForm(data, initial=initial)
                form.is_valid()
            _add_error(form, exc)
        else:
            messages.success(request, _("Draft saved."))
            return redirect("letters:revisions", letter.slug)
    context = _context(membership, form=form, stale=stale)
    return render(request, "letters/letter_edit.html", context)


# The name a POST of the signing form's choices carries.
SIGNING_FORM = "signing-form"


@login_required
def settings(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """The letter's settings, and on the same page what its signing form asks
    (two forms: a POST carries one of them)."""
    membership = require_letter_role(request, slug, writing(request, Role.EDITOR))
    letter, read_only = membership.letter, not membership.can_edit
    data = request.POST if request.method == "POST" else None
    signing_posted = data is not None and SIGNING_FORM in data
    form = LetterSettingsForm(
        None if signing_posted else data, letter=letter, read_only=read_only
    )
    signing = SigningFieldsForm(
        data if signing_posted else None, letter=letter, read_only=read_only
    )
    posted = signing if signing_posted else form
    if data is not None and posted.is_valid():
        changes = (
            {"signing_fields": signing.signing_fields()}
            if signing_posted
            else form.cleaned_data
        )
        try:
            letter_update_settings(letter=letter, actor=request.user, **changes)
        except ValidationError as exc:
            _add_error(posted, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("letters:settings", letter.slug)
    context = _context(
        membership, form=form, signing_form=signing, signing_marker=SIGNING_FORM
    )
    return render(request, "letters/letter_settings.html", context)


# --- Revisions ----------------------------------------------------------------


@login_required
@require_safe
def revisions(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug)
    revision_list = list(selectors.revision_list(letter=membership.letter))
    compare = RevisionCompareForm(
        numbers=[r.number for r in revision_list],
        initial={"old": len(revision_list) - 1, "new": len(revision_list)},
    )
    context = _context(membership, revisions=revision_list, compare=compare)
    return render(request, "letters/revision_list.html", context)


@login_required
@require_safe
def revision(request: AuthedHttpRequest, slug: str, number: int) -> HttpResponse:
    membership = require_letter_role(request, slug)
    shown = get_object_or_404(
        Revision.objects.select_related("author"),
        letter=membership.letter,
        number=number,
    )
    context = _context(
        membership, revision=shown, body_html=render_revision_body(shown)
    )
    return render(request, "letters/revision_detail.html", context)


@login_required
def revision_publish(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug, Role.EDITOR)
    letter = membership.letter
    current = letter.current_revision
    form = RevisionPublishForm(
        request.POST or None,
        first=current is None,
        needs_kind=letter_has_live_signatures(letter=letter),
    )
    if request.method == "POST" and form.is_valid():
        try:
            published = revisions_services.revision_publish(
                letter=letter,
                author=request.user,
                change_note=form.cleaned_data["change_note"],
                kind=form.cleaned_data.get("kind"),
            )
        except ValidationError as exc:
            _add_error(form, exc)
        else:
            message = _("Revision %(number)d published.") % {"number": published.number}
            messages.success(request, message)
            return redirect("letters:revisions", letter.slug)
    draft = Revision(addressee=letter.addressee, points=letter.points, body=letter.body)
    changes = diff_revisions(current, draft) if current else None
    context = _context(
        membership,
        form=form,
        changes=changes,
        draft=draft,
        body_html=render_markdown(draft.body),
    )
    return render(request, "letters/revision_publish.html", context)


@login_required
@require_safe
def diff(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug)
    by_number = {r.number: r for r in selectors.revision_list(letter=membership.letter)}
    numbers = sorted(by_number)
    data = request.GET if "old" in request.GET else None
    initial = {"old": numbers[-2], "new": numbers[-1]} if len(numbers) > 1 else {}
    form = RevisionCompareForm(data or initial or None, numbers=numbers)
    old = new = None
    if form.is_bound and form.is_valid():
        old, new = (
            by_number[form.cleaned_data["old"]],
            by_number[form.cleaned_data["new"]],
        )
    changes = diff_revisions(old, new) if old and new else None
    context = _context(membership, form=form, old=old, new=new, changes=changes)
    return render(request, "letters/revision_diff.html", context)


# --- Life cycle ---------------------------------------------------------------


def _transition(
    request: AuthedHttpRequest,
    slug: str,
    service: Callable[..., Letter],
    done: str,
) -> HttpResponse:
    membership = require_letter_role(request, slug, Role.OWNER)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    _act(request, partial(service, letter=membership.letter, actor=request.user), done)
    return redirect(membership.letter)


@login_required
def start_circulating(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    done = _("The letter is circulating: invited contacts can sign.")
    return _transition(request, slug, letter_start_circulating, done)


@login_required
def publish(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    done = _("The letter is published: its public page is live.")
    return _transition(request, slug, letter_publish, done)


@login_required
def close(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    done = _("The letter is closed: no more signatures.")
    return _transition(request, slug, letter_close, done)


@login_required
def reopen(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    done = _("The letter is open for signatures again.")
    return _transition(request, slug, letter_reopen, done)


# --- Team ---------------------------------------------------------------------


@login_required
def team(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug, writing(request, Role.OWNER))
    form = TeamInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            team_invitation_create(
                letter=membership.letter, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _add_error(form, exc)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": email}
            )
            return redirect("letters:team", slug)
    context = _context(
        membership,
        form=form,
        members=selectors.team_members(letter=membership.letter),
        invitations=selectors.team_invitations_pending(letter=membership.letter),
        roles=Role.choices,
    )
    return render(request, "letters/letter_team.html", context)


@login_required
def member_role(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = require_letter_role(request, slug, Role.OWNER)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    member = get_object_or_404(Membership, letter=membership.letter, pk=pk)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        call = partial(
            membership_change_role,
            membership=member,
            actor=request.user,
            role=form.cleaned_data["role"],
        )
        _act(request, call, _("Role changed."))
    return redirect("letters:team", slug)


@login_required
def member_remove(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = require_letter_role(request, slug)
    member = get_object_or_404(Membership, letter=membership.letter, pk=pk)
    leaving = member.pk == membership.pk
    if not leaving:  # anyone may leave; only owners remove others
        require_letter_role(request, membership.letter, Role.OWNER)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    call = partial(membership_remove, membership=member, actor=request.user)
    done = _("You left the team.") if leaving else _("Removed from the team.")
    if _act(request, call, done) and leaving:
        return redirect("letters:dashboard")
    return redirect("letters:team", slug)


@login_required
def invitation_revoke(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = require_letter_role(request, slug, Role.OWNER)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    invitation = get_object_or_404(TeamInvitation, letter=membership.letter, pk=pk)
    call = partial(team_invitation_revoke, invitation=invitation, actor=request.user)
    _act(request, call, _("Invitation withdrawn."))
    return redirect("letters:team", slug)


def team_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a page with one button; only the POST joins."""
    template = "letters/team_invitation_accept.html"
    try:
        pk = read_token("team", token)
    except TokenExpired:
        return render(request, template, {"expired": True}, status=410)
    except TokenError as exc:
        raise Http404 from exc
    invitation = get_object_or_404(
        TeamInvitation.objects.select_related("letter", "invited_by"), pk=pk
    )
    if request.method == "POST":
        if not isinstance(request.user, User):
            return redirect_to_login(request.get_full_path())
        try:
            _member, joined = team_invitation_accept(
                invitation=invitation, user=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if joined:
                messages.success(request, _("Welcome to the team."))
            else:
                messages.info(request, _("You are already on this letter's team."))
            return redirect(invitation.letter)
    return render(request, template, {"invitation": invitation})


# --- Activity -----------------------------------------------------------------


@login_required
@require_safe
def activity(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug)
    events = Paginator(selectors.audit_events(letter=membership.letter), 50)
    page = events.get_page(request.GET.get("page"))
    rows = [(event, describe(event)) for event in page]
    context = _context(membership, page=page, rows=rows)
    return render(request, "letters/letter_activity.html", context)

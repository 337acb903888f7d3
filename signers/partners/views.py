"""The partner directory's pages: members of the coalition only (404 for
anyone else); organisers and owners change it, viewers read it (403)."""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from coalition.actions import act, add_form_error
from coalition.coalitions.access import CoalitionAccess, coalition_access
from coalition.spreadsheets import csv_response
from coalition.types import AuthedHttpRequest
from letters.models import Letter
from letters.permissions import membership_for
from signers.models import Agreement, Partner, PartnerContact, PartnerMatch
from signers.partners import invite, matching, merging, selectors, services
from signers.partners.forms import (
    AgreementForm,
    PartnerContactForm,
    PartnerFilterForm,
    PartnerForm,
    PartnerMergeForm,
    SuggestionFilterForm,
)


def _partner(access: CoalitionAccess, pk: int) -> Partner:
    partner = selectors.partner_detail(coalition=access.coalition, pk=pk)
    if partner is None:
        raise Http404
    return partner


@login_required
@require_safe
def partner_list(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition)
    tags = selectors.coalition_tags(coalition=access.coalition)
    holders = selectors.coalition_holders(coalition=access.coalition)
    form = PartnerFilterForm(request.GET or None, tags=tags, holders=holders)
    filters = selectors.PartnerFilters()
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        if "tag" in data:
            data["tag"] = data["tag"].pk
        filters = selectors.PartnerFilters(**data)
    partners = selectors.partner_list(coalition=access.coalition, filters=filters)
    page = Paginator(partners, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = access.context(
        form=form, page=page, query=query.urlencode(), filtered=bool(query)
    )
    return render(request, "signers/partner_list.html", context)


@login_required
def partner_create(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    holders = selectors.coalition_holders(coalition=access.coalition)
    form = PartnerForm(request.POST or None, holders=holders)
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.partner_create(
                coalition=access.coalition, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Partner added."))
            return redirect("partners:detail", coalition, partner.pk)
    return render(request, "signers/partner_form.html", access.context(form=form))


@login_required
@require_safe
def partner_detail(
    request: AuthedHttpRequest, coalition: str, partner: int
) -> HttpResponse:
    access = coalition_access(request, coalition)
    row = _partner(access, partner)
    context = access.context(
        partner=row,
        contact_form=PartnerContactForm(),
        history=selectors.partner_history(partner=row),
    )
    return render(request, "signers/partner_detail.html", context)


@login_required
def partner_edit(
    request: AuthedHttpRequest, coalition: str, partner: int
) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    row = _partner(access, partner)
    holders = selectors.coalition_holders(coalition=access.coalition)
    form = PartnerForm(
        request.POST or None, holders=holders, initial=PartnerForm.initial_for(row)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_update(
                partner=row, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Partner saved."))
            return redirect("partners:detail", coalition, row.pk)
    context = access.context(form=form, partner=row)
    return render(request, "signers/partner_form.html", context)


@login_required
def partner_delete(
    request: AuthedHttpRequest, coalition: str, partner: int
) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    row = _partner(access, partner)
    if request.method == "POST":
        services.partner_delete(partner=row, actor=request.user)
        messages.success(request, _("Partner deleted."))
        return redirect("partners:list", coalition)
    context = access.context(partner=row)
    return render(request, "signers/partner_delete.html", context)


@login_required
@require_safe
def partner_csv(request: AuthedHttpRequest, coalition: str) -> StreamingHttpResponse:
    access = coalition_access(request, coalition)
    rows = selectors.partner_csv_rows(coalition=access.coalition)
    response = csv_response(rows, f"{access.coalition.slug}-partners.csv")
    add_never_cache_headers(response)
    return response


# --- Contacts ----------------------------------------------------------------------


@login_required
@require_POST
def contact_add(
    request: AuthedHttpRequest, coalition: str, partner: int
) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    row = _partner(access, partner)
    form = PartnerContactForm(request.POST)
    if form.is_valid():
        services.partner_contact_save(
            partner=row, actor=request.user, **form.cleaned_data
        )
        messages.success(request, _("Contact added."))
    else:
        messages.error(request, _("The contact needs a name and a valid email."))
    return redirect("partners:detail", coalition, row.pk)


@login_required
def contact_edit(
    request: AuthedHttpRequest, coalition: str, partner: int, contact: int
) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    row = _partner(access, partner)
    person = get_object_or_404(PartnerContact, partner=row, pk=contact)
    initial = {f: getattr(person, f) for f in PartnerContactForm.base_fields}
    form = PartnerContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.partner_contact_save(
            partner=row, actor=request.user, contact=person, **form.cleaned_data
        )
        messages.success(request, _("Contact saved."))
        return redirect("partners:detail", coalition, row.pk)
    context = access.context(form=form, partner=row, contact=person)
    return render(request, "signers/partner_contact_form.html", context)


@login_required
@require_POST
def contact_delete(
    request: AuthedHttpRequest, coalition: str, partner: int, contact: int
) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    row = _partner(access, partner)
    person = get_object_or_404(PartnerContact, partner=row, pk=contact)
    services.partner_contact_delete(contact=person, actor=request.user)
    messages.success(request, _("Contact deleted."))
    return redirect("partners:detail", coalition, row.pk)


# --- Agreements --------------------------------------------------------------------


@login_required
def agreement_edit(
    request: AuthedHttpRequest, coalition: str, partner: int, agreement: int = 0
) -> HttpResponse:
    """Add an agreement (no ``agreement``), or change one."""
    access = coalition_access(request, coalition, edit=True)
    row = _partner(access, partner)
    existing = (
        get_object_or_404(Agreement, partner=row, pk=agreement) if agreement else None
    )
    initial = (
        {f: getattr(existing, f) for f in ("title", "text", "status", "date")}
        if existing
        else {}
    )
    form = AgreementForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.agreement_save(
                partner=row, actor=request.user, agreement=existing, **form.cleaned_data
            )
        except ValidationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Agreement saved."))
            return redirect("partners:detail", coalition, row.pk)
    context = access.context(form=form, partner=row, agreement=existing)
    return render(request, "signers/partner_agreement_form.html", context)


@login_required
@require_POST
def agreement_delete(
    request: AuthedHttpRequest, coalition: str, partner: int, agreement: int
) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    row = _partner(access, partner)
    item = get_object_or_404(Agreement, partner=row, pk=agreement)
    services.agreement_delete(agreement=item, actor=request.user)
    messages.success(request, _("Agreement deleted."))
    return redirect("partners:detail", coalition, row.pk)


@login_required
@require_safe
def agreement_file(
    request: AuthedHttpRequest, coalition: str, partner: int, agreement: int
) -> FileResponse:
    """The file, to the coalition's members only, always as a download: a
    stranger's HTML or SVG never runs in the site's origin."""
    access = coalition_access(request, coalition)
    row = _partner(access, partner)
    item = get_object_or_404(Agreement, partner=row, pk=agreement)
    if not item.file:
        raise Http404
    name = (item.file.name or "agreement").rsplit("/", 1)[-1]
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=name,
        content_type="application/octet-stream",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    add_never_cache_headers(response)
    return response


# --- Matching and merging --------------------------------------------------------


@login_required
@require_safe
def match_list(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition)
    proposals = Paginator(
        selectors.partner_matches_proposed(coalition=access.coalition), 50
    )
    page = proposals.get_page(request.GET.get("page"))
    return render(request, "signers/partner_matches.html", access.context(page=page))


@login_required
@require_POST
def match_scan(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    found = matching.partner_matches_scan(
        coalition=access.coalition, actor=request.user
    )
    messages.success(
        request,
        ngettext("%(n)d new proposal.", "%(n)d new proposals.", found) % {"n": found},
    )
    return redirect("partners:matches", coalition)


@login_required
@require_POST
def match_answer(
    request: AuthedHttpRequest, coalition: str, match: int, answer: str
) -> HttpResponse:
    access = coalition_access(request, coalition, edit=True)
    proposal = get_object_or_404(
        PartnerMatch, partner__coalition=access.coalition, pk=match
    )
    service = {
        "confirm": matching.partner_match_confirm,
        "reject": matching.partner_match_reject,
    }.get(answer)
    if service is None:
        raise Http404
    done = _("Linked.") if answer == "confirm" else _("Not this partner: noted.")
    act(request, partial(service, match=proposal, actor=request.user), done)
    return redirect("partners:matches", coalition)


@login_required
def merge(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    """Choose two partners (GET), see what would move, confirm (POST)."""
    access = coalition_access(request, coalition, edit=True)
    partners = selectors.partner_choices(coalition=access.coalition)
    form = PartnerMergeForm(request.POST or request.GET or None, partners=partners)
    preview = None
    if form.is_bound and form.is_valid():
        keep, absorb = form.cleaned_data["keep"], form.cleaned_data["absorb"]
        if request.method == "POST":
            done = _("Partners joined.")
            call = partial(
                merging.partner_merge, keep=keep, absorb=absorb, actor=request.user
            )
            if act(request, call, done):
                return redirect("partners:detail", coalition, keep.pk)
        preview = merging.partner_merge_preview(keep=keep, absorb=absorb)
    context = access.context(form=form, preview=preview)
    return render(request, "signers/partner_merge.html", context)


# --- Starting the next letter: invite from the directory -------------------------


@login_required
def invite_from_directory(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Partners of the letter's coalition who are not yet its prospects; the
    chosen ones become prospects (POST, editors)."""
    letter = get_object_or_404(Letter.objects.for_user(request.user), slug=slug)
    membership = membership_for(letter=letter, user=request.user)
    can_edit = membership is not None and membership.can_edit
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        chosen = Partner.objects.filter(
            coalition_id=letter.coalition_id, pk__in=request.POST.getlist("partner")
        )
        result = invite.prospects_from_partners(
            letter=letter, actor=request.user, partners=chosen
        )
        _report_invited(request, result)
        return redirect("signers:outreach", slug)
    tags = selectors.coalition_tags(coalition=letter.coalition)
    form = SuggestionFilterForm(request.GET or None, tags=tags)
    filters = selectors.SuggestionFilters()
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        if "tag" in data:
            data["tag"] = data["tag"].pk
        filters = selectors.SuggestionFilters(**data)
    partners = selectors.directory_suggestions(letter=letter, filters=filters)
    page = Paginator(partners, 100).get_page(request.GET.get("page"))
    context = {"letter": letter, "form": form, "page": page, "can_edit": can_edit}
    return render(request, "signers/outreach_directory.html", context)


def _report_invited(request: AuthedHttpRequest, result: invite.InviteResult) -> None:
    added = len(result.added)
    messages.success(
        request,
        ngettext(
            "%(n)d prospect added from the directory.",
            "%(n)d prospects added from the directory.",
            added,
        )
        % {"n": added},
    )
    if result.without_contact:
        names_ = ", ".join(p.name for p in result.without_contact)
        messages.warning(
            request,
            _("No contact has agreed to be contacted at: %(names)s.")
            % {"names": names_},
        )

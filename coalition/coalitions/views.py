"""The coalition pages: the user's coalitions, one coalition's letters and
members, its settings. Members only; another coalition's members get 404."""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from coalition.actions import act
from coalition.coalitions import selectors, services
from coalition.coalitions.access import coalition_access
from coalition.coalitions.audit import coalition_event_sentence
from coalition.coalitions.forms import (
    CoalitionCreateForm,
    CoalitionForm,
    CoalitionMemberAddForm,
    CoalitionMemberRoleForm,
)
from coalition.models import CoalitionMember
from coalition.types import AuthedHttpRequest


@login_required
def coalition_list(request: AuthedHttpRequest) -> HttpResponse:
    form = CoalitionCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        coalition = services.coalition_create(
            owner=request.user, name=form.cleaned_data["name"]
        )
        messages.success(request, _("Coalition created."))
        return redirect("coalitions:detail", coalition.slug)
    coalitions = selectors.coalition_list_for_user(user=request.user)
    context = {"coalitions": coalitions, "form": form}
    return render(request, "coalition/coalition_list.html", context)


@login_required
@require_safe
def coalition_detail(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition)
    letters = selectors.coalition_letters(coalition=access.coalition)
    members = selectors.coalition_members(coalition=access.coalition)
    context = access.context(letters=letters, members=members)
    return render(request, "coalition/coalition_detail.html", context)


@login_required
def coalition_settings(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition, owner=request.method == "POST")
    initial = {
        "name": access.coalition.name,
        "description": access.coalition.description,
        "is_public": access.coalition.is_public,
    }
    form = CoalitionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.coalition_update(
            coalition=access.coalition, actor=request.user, **form.cleaned_data
        )
        messages.success(request, _("Settings saved."))
        return redirect("coalitions:detail", coalition)
    return render(
        request, "coalition/coalition_settings.html", access.context(form=form)
    )


@login_required
def coalition_members(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition, owner=request.method == "POST")
    form = CoalitionMemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.coalition_member_add(
                coalition=access.coalition, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error("email", exc.messages)
        else:
            messages.success(request, _("Member added."))
            return redirect("coalitions:members", coalition)
    context = access.context(
        form=form,
        members=selectors.coalition_members(coalition=access.coalition),
        roles=CoalitionMember.Role.choices,
    )
    return render(request, "coalition/coalition_members.html", context)


@login_required
@require_POST
def coalition_member_role(
    request: AuthedHttpRequest, coalition: str, member: int
) -> HttpResponse:
    access = coalition_access(request, coalition, owner=True)
    row = get_object_or_404(CoalitionMember, coalition=access.coalition, pk=member)
    form = CoalitionMemberRoleForm(request.POST)
    if form.is_valid():
        call = partial(
            services.coalition_member_change_role,
            member=row,
            actor=request.user,
            role=form.cleaned_data["role"],
        )
        act(request, call, _("Role changed."))
    return redirect("coalitions:members", coalition)


@login_required
def coalition_member_remove(
    request: AuthedHttpRequest, coalition: str, member: int
) -> HttpResponse:
    # Viewers may leave: the access check for a POST is the service's.
    access = coalition_access(request, coalition, edit=False)
    row = get_object_or_404(CoalitionMember, coalition=access.coalition, pk=member)
    leaving = row.user_id == request.user.pk
    if not (leaving or access.member.is_owner):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    call = partial(services.coalition_member_remove, member=row, actor=request.user)
    done = _("You left the coalition.") if leaving else _("Removed from the coalition.")
    if act(request, call, done) and leaving:
        return redirect("coalitions:list")
    return redirect("coalitions:members", coalition)


@login_required
@require_safe
def coalition_activity(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    """Every change to the members, settings and partner directory."""
    access = coalition_access(request, coalition)
    events = Paginator(selectors.coalition_events(coalition=access.coalition), 50)
    page = events.get_page(request.GET.get("page"))
    rows = [(event, coalition_event_sentence(event)) for event in page]
    return render(
        request,
        "coalition/coalition_activity.html",
        access.context(page=page, rows=rows),
    )

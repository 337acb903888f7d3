"""The coalition as a network: the map with its table and downloads, the review
page (members only: anyone else gets 404), and the opt-in public page."""

import json
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from coalition.coalitions.access import coalition_access
from coalition.models import Coalition
from coalition.spreadsheets import csv_response
from coalition.types import AuthedHttpRequest
from signers.network import exports, selectors
from signers.network.forms import MapFilterForm
from signers.network.review import coalition_review

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def _partner_url(coalition: Coalition) -> Callable[[int], str]:
    """The partner page's URL for a partner id, from one reverse()."""
    try:
        sample = reverse("partners:detail", args=[coalition.slug, 0])
    except NoReverseMatch:
        return lambda pk: ""
    head, _, tail = sample.rpartition("/0/")
    return lambda pk: f"{head}/{pk}/{tail}"


def _download(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response


@require_safe
@login_required
def network_map(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition)
    network = selectors.coalition_network(coalition=access.coalition)
    form = MapFilterForm(request.GET or None, network=network)
    rows = selectors.network_table(network, **form.filters())
    context = access.context(network=network, form=form, rows=rows, active="map")
    return render(request, "signers/network_map.html", context)


@require_safe
@login_required
def network_map_data(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition)
    network = selectors.coalition_network(coalition=access.coalition)
    payload = selectors.network_map_payload(
        network, partner_url=_partner_url(access.coalition)
    )
    # Markup characters as escapes too: even a page that embedded this JSON
    # as it is could not be made to close a script element.
    content = json.dumps(payload).translate(_JSON_ESCAPES)
    response = HttpResponse(content, content_type="application/json")
    add_never_cache_headers(response)
    return response


@require_safe
@login_required
def network_export(
    request: AuthedHttpRequest, coalition: str, kind: str
) -> HttpResponseBase:
    access = coalition_access(request, coalition)
    network = selectors.coalition_network(coalition=access.coalition)
    name = f"{access.coalition.slug}-network-"
    if kind in ("nodes", "edges"):
        rows = (
            exports.network_nodes_csv_rows(network)
            if kind == "nodes"
            else exports.network_edges_csv_rows(network)
        )
        return _download(csv_response(rows, ""), f"{name}{kind}.csv")
    xml = (
        exports.network_graphml(network)
        if kind == "graphml"
        else exports.network_gexf(network)
    )
    response = HttpResponse(xml, content_type="application/xml")
    return _download(response, f"{name}{kind}")


@require_safe
@login_required
def review(request: AuthedHttpRequest, coalition: str) -> HttpResponse:
    access = coalition_access(request, coalition)
    figures = coalition_review(coalition=access.coalition)
    context = access.context(review=figures, active="review")
    return render(request, "signers/network_review.html", context)


@require_safe
def coalition_public(request: HttpRequest, slug: str) -> HttpResponse:
    coalition = get_object_or_404(Coalition, slug=slug, is_public=True)
    letters = selectors.coalition_public_letters(coalition=coalition)
    context = {"coalition": coalition, "letters": letters}
    return render(request, "signers/coalition_public.html", context)

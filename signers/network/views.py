"""The coalition as a network: the map with its table and downloads, the review
page (members only: anyone else gets 404), and the opt-in public page."""

import csv
import json
from collections.abc import Callable, Iterable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from coalition.coalitions.access import coalition_access
from coalition.models import Coalition
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


def _download(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(rows: Iterable[list[str]]) -> HttpResponse:
    writer = csv.writer(_Echo())
    return HttpResponse(
        "".join(writer.writerow(row) for row in rows),
        content_type="text/csv; charset=utf-8",
    )


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
) -> HttpResponse:
    access = coalition_access(request, coalition)
    network = selectors.coalition_network(coalition=access.coalition)
    if kind == "graphml":
        response = HttpResponse(
            exports.network_graphml(network), content_type="application/xml"
        )
    elif kind == "gexf":
        response = HttpResponse(
            exports.network_gexf(network), content_type="application/xml"
        )
    elif kind == "nodes":
        response = _csv(exports.network_nodes_csv_rows(network))
    else:
        response = _csv(exports.network_edges_csv_rows(network))
    extension = {"nodes": "nodes.csv", "edges": "edges.csv"}.get(kind, kind)
    return _download(response, f"{access.coalition.slug}-network-{extension}")


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

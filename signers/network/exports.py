"""The network map as files: GraphML and GEXF (for Gephi and other network
tools) and CSV of its nodes and edges, for the coalition's members.

Names are strangers' text. The XML writers escape markup; what they would
copy through is taken out first: control characters (invalid in XML 1.0, and
line breaks that split a CSV row), bidirectional overrides and the two
non-characters XML refuses. CSV cells also pass the formula guard.
"""

import io
from collections.abc import Iterator
from typing import Any, Final

import networkx as nx
from django.utils.translation import gettext as _

from coalition import spreadsheets
from coalition.forms import text_one_line
from signers.network.graph import Network, co_signing_edges

# Not characters in XML 1.0 (nor are lone surrogates, which UTF-8 cannot hold).
_NOT_XML: Final = dict.fromkeys([0xFFFE, 0xFFFF, *range(0xD800, 0xE000)])


def inert(value: str) -> str:
    """One line of plain text that any XML or CSV file can hold as it is."""
    return text_one_line(value).translate(_NOT_XML)


def _node_id(partner_id: int) -> str:
    return f"p{partner_id}"


def network_graph(network: Network) -> nx.Graph:
    """The co-signing graph: partners joined by the letters they signed together
    (``weight``), with every partner's figures as node attributes."""
    graph = nx.Graph()
    for partner in network.partners:
        figures = network.figures[partner.id]
        attributes: dict[str, Any] = {
            "label": inert(partner.name),
            "kind": partner.kind,
            "tags": inert("; ".join(partner.tags)),
            "letters": figures.letters,
            "degree": figures.degree,
            "cluster": figures.cluster or 0,
            "betweenness": round(figures.betweenness, 6),
            "bridge": figures.bridge,
        }
        # GraphML and GEXF have no null: an unknown reach is left out.
        if partner.reach is not None:
            attributes["reach"] = partner.reach
        graph.add_node(_node_id(partner.id), **attributes)
    graph.add_weighted_edges_from(
        (_node_id(a), _node_id(b), w)
        for a, b, w in co_signing_edges(network.memberships)
    )
    return graph


def network_graphml(network: Network) -> bytes:
    out = io.BytesIO()
    nx.write_graphml(network_graph(network), out, encoding="utf-8")
    return out.getvalue()


def network_gexf(network: Network) -> bytes:
    out = io.BytesIO()
    nx.write_gexf(network_graph(network), out, encoding="utf-8")
    return out.getvalue()


def network_nodes_csv_rows(network: Network) -> Iterator[list[str]]:
    yes, no = _("yes"), _("no")
    yield [
        _("ID"),
        _("Name"),
        _("Kind"),
        _("Issue areas"),
        _("Reach"),
        _("Letters signed"),
        _("Co-signers"),
        _("Cluster"),
        _("Betweenness"),
        _("Bridge"),
    ]
    for partner in network.partners:
        figures = network.figures[partner.id]
        row: list[object] = [
            _node_id(partner.id),
            inert(partner.name),
            partner.kind,
            inert("; ".join(partner.tags)),
            "" if partner.reach is None else partner.reach,
            figures.letters,
            figures.degree,
            figures.cluster or "",
            f"{figures.betweenness:.6f}",
            yes if figures.bridge else no,
        ]
        yield [spreadsheets.inert(v) for v in row]


def network_edges_csv_rows(network: Network) -> Iterator[list[str]]:
    yield [_("Source"), _("Target"), _("Letters in common")]
    for a, b, weight in co_signing_edges(network.memberships):
        yield [_node_id(a), _node_id(b), str(weight)]

import csv
import io
import json

import networkx as nx
import pytest
from django.urls import reverse

from coalition.models import CoalitionMember
from letters.models import Letter
from signers.models import Signature
from signers.network import selectors
from tests.factories import PartnerFactory, UserFactory
from tests.letters.public_fixtures import published_letter
from tests.signers.network_fixtures import (
    coalition_with_member,
    partner_signs,
    small_network,
)

pytestmark = pytest.mark.django_db

EXPORTS = ["network:graphml", "network:gexf", "network:nodes-csv", "network:edges-csv"]
MEMBER_URLS = ["network:map", "network:map-data", "network:review", *EXPORTS]


@pytest.fixture
def setup():
    coalition, member = coalition_with_member()
    return coalition, member, small_network(coalition)


def test_only_confirmed_linked_signatures_on_public_letters_of_the_coalition_count(
    setup,
):
    coalition, _, rows = setup
    other, _ = coalition_with_member()
    stranger = PartnerFactory(coalition=other)
    draft = published_letter(coalition=coalition, status=Letter.Status.CIRCULATING)
    partner_signs(rows["e"], draft)
    partner_signs(stranger, rows["first"])
    partner_signs(rows["d"], rows["first"], status=Signature.Status.WITHDRAWN)

    network = selectors.coalition_network(coalition=coalition)

    a, b, c, d = rows["a"].pk, rows["b"].pk, rows["c"].pk, rows["d"].pk
    first, second = rows["first"].pk, rows["second"].pk
    assert network.memberships == sorted(
        [(a, first), (b, first), (c, first), (c, second), (d, second)]
    )
    assert {p.id for p in network.partners} == {a, b, c, d, rows["e"].pk}
    assert network.figures[c].degree == 3
    assert network.figures[rows["e"].pk].letters == 0


def test_a_new_signature_changes_the_figures_and_an_edit_shows_at_once(setup):
    coalition, _, rows = setup
    assert (
        selectors.coalition_network(coalition=coalition).figures[rows["e"].pk].degree
        == 0
    )

    partner_signs(rows["e"], rows["second"])
    rows["a"].name = "Alder Trust (renamed)"
    rows["a"].save()
    network = selectors.coalition_network(coalition=coalition)

    assert network.figures[rows["e"].pk].degree == 2
    assert "Alder Trust (renamed)" in [p.name for p in network.partners]


def test_the_figures_are_cached_between_views(setup, django_assert_max_num_queries):
    coalition, _, _ = setup
    selectors.coalition_network(coalition=coalition)

    with django_assert_max_num_queries(4):
        selectors.coalition_network(coalition=coalition)


@pytest.mark.parametrize("name", MEMBER_URLS)
def test_another_coalitions_member_gets_404_everywhere(client, setup, name):
    coalition, _, _ = setup
    _, outsider = coalition_with_member()
    client.force_login(outsider)

    assert client.get(reverse(name, args=[coalition.slug])).status_code == 404


@pytest.mark.parametrize("name", MEMBER_URLS)
def test_visitors_are_sent_to_log_in(client, setup, name):
    coalition, _, _ = setup

    response = client.get(reverse(name, args=[coalition.slug]))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", MEMBER_URLS)
def test_a_viewer_may_look(client, name):
    coalition, viewer = coalition_with_member(role=CoalitionMember.Role.VIEWER)
    small_network(coalition)
    client.force_login(viewer)

    assert client.get(reverse(name, args=[coalition.slug])).status_code == 200


def test_map_page_has_the_table_filters_and_no_inline_script(client, setup):
    coalition, member, _rows = setup
    client.force_login(member)

    response = client.get(reverse("network:map", args=[coalition.slug]))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<th scope="row">') == 5
    assert 'data-source="' + reverse("network:map-data", args=[coalition.slug]) in html
    assert "<script>" not in html and "<script " in html
    assert all("src=" in tag for tag in html.split("<script")[1:])


def test_map_table_is_filtered_by_tag_kind_and_letter(client, setup):
    coalition, member, rows = setup
    client.force_login(member)
    url = reverse("network:map", args=[coalition.slug])

    by_tag = client.get(url, {"tag": "housing"}).content.decode()
    by_kind = client.get(url, {"kind": "union"}).content.decode()
    by_letter = client.get(url, {"letter": rows["second"].pk}).content.decode()

    assert by_tag.count('<th scope="row">') == 2
    assert by_kind.count('<th scope="row">') == 1 and "Dogwood Workers" in by_kind
    assert by_letter.count('<th scope="row">') == 2 and "Cedar Union" in by_letter


def test_strangers_text_is_inert_on_the_page_and_in_the_data(client, setup):
    coalition, member, rows = setup
    rows["a"].name = '<img src=x onerror="alert(1)">'
    rows["a"].save()
    client.force_login(member)

    page = client.get(reverse("network:map", args=[coalition.slug])).content.decode()
    data = client.get(reverse("network:map-data", args=[coalition.slug]))

    assert "<img src=x" not in page
    assert "&lt;img src=x" in page
    assert data["Content-Type"] == "application/json"
    names = [p["name"] for p in data.json()["partners"]]
    assert '<img src=x onerror="alert(1)">' in names
    assert b"<img" not in data.content


def test_map_data_has_partners_letters_and_who_signed_what(client, setup):
    coalition, member, _rows = setup
    client.force_login(member)

    data = client.get(reverse("network:map-data", args=[coalition.slug])).json()

    assert len(data["partners"]) == 5
    assert {letter["title"] for letter in data["letters"]} == {
        "Safe streets",
        "Clean air",
    }
    assert len(data["memberships"]) == 5
    cedar = next(p for p in data["partners"] if p["name"] == "Cedar Union")
    assert cedar["cluster"] is not None
    assert set(cedar) >= {"id", "kind", "tags", "reach", "bridge"}
    assert cedar["url"] == reverse(
        "partners:detail", args=[coalition.slug, cedar["id"]]
    )


def test_graphml_opens_in_networkx_with_the_same_nodes_and_edges(client, setup):
    coalition, member, rows = setup
    client.force_login(member)

    response = client.get(reverse("network:graphml", args=[coalition.slug]))
    graph = nx.read_graphml(io.BytesIO(response.content))

    assert response["Content-Disposition"].startswith("attachment;")
    # Five partners; ties A-B, A-C, B-C (first letter) and C-D (second).
    assert graph.number_of_nodes() == 5
    assert graph.number_of_edges() == 4
    c, d = f"p{rows['c'].pk}", f"p{rows['d'].pk}"
    assert graph.nodes[c]["label"] == "Cedar Union"
    assert graph.nodes[c]["degree"] == 3
    assert graph.edges[c, d]["weight"] == 1


def test_gexf_opens_in_networkx_with_the_same_nodes_and_edges(client, setup):
    coalition, member, _ = setup
    client.force_login(member)

    response = client.get(reverse("network:gexf", args=[coalition.slug]))
    graph = nx.read_gexf(io.BytesIO(response.content))

    assert graph.number_of_nodes() == 5
    assert graph.number_of_edges() == 4


def test_control_characters_are_taken_out_of_the_xml(client, setup):
    coalition, member, rows = setup
    rows["a"].name = "Alder\x01 Trust\x1b\u202e\x0b <&>"
    rows["a"].save()
    client.force_login(member)

    for name in ("network:graphml", "network:gexf"):
        content = client.get(reverse(name, args=[coalition.slug])).content
        graph = (nx.read_graphml if name.endswith("graphml") else nx.read_gexf)(
            io.BytesIO(content)
        )
        labels = {data["label"] for _, data in graph.nodes(data=True)}
        assert "Alder Trust <&>" in labels
        assert b"\x01" not in content and b"\x1b" not in content


def text(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_csv_cells_are_inert(client, setup):
    coalition, member, rows = setup
    rows["a"].name = '=HYPERLINK("http://evil.example")\nsecond line'
    rows["a"].save()
    client.force_login(member)

    nodes = client.get(reverse("network:nodes-csv", args=[coalition.slug]))
    edges = client.get(reverse("network:edges-csv", args=[coalition.slug]))

    table = list(csv.reader(io.StringIO(text(nodes))))
    assert len(table) == 6
    assert all(len(row) == len(table[0]) for row in table)
    names = [row[1] for row in table[1:]]
    assert '\'=HYPERLINK("http://evil.example") second line' in names
    ties = list(csv.reader(io.StringIO(text(edges))))
    assert len(ties) == 5
    assert json.dumps(ties[1:]).count("p") == 8


def test_another_coalition_cannot_be_read_through_its_slug(client, setup):
    coalition, _member, _ = setup
    other, _ = coalition_with_member()
    client.force_login(UserFactory())

    for slug in (coalition.slug, other.slug):
        assert client.get(reverse("network:map", args=[slug])).status_code == 404

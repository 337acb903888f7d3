from signers.network import graph
from signers.network.graph import LetterPoint, PartnerPoint, network_build


def partners(*ids):
    return [PartnerPoint(id=i, name=f"P{i}", kind="ngo") for i in ids]


def letters(*ids):
    return [LetterPoint(id=i, title=f"L{i}") for i in ids]


def two_groups_and_a_bridge():
    """Letters 1-3 signed by partners 1-5, letters 4-6 by partners 6-10, and
    partner 11 signed one letter on each side."""
    memberships = [(p, lt) for lt in (1, 2, 3) for p in (1, 2, 3, 4, 5)]
    memberships += [(p, lt) for lt in (4, 5, 6) for p in (6, 7, 8, 9, 10)]
    memberships += [(11, 1), (11, 4)]
    return network_build(
        partners=partners(*range(1, 13)),
        letters=letters(*range(1, 7)),
        memberships=memberships,
    )


def test_degree_counts_other_partners_who_signed_a_letter_together():
    network = network_build(
        partners=partners(1, 2, 3, 4),
        letters=letters(1, 2),
        memberships=[(1, 1), (2, 1), (2, 2), (3, 2)],
    )

    assert network.figures[1].degree == 1
    assert network.figures[2].degree == 2
    assert network.figures[2].letters == 2
    assert network.figures[4].degree == 0
    assert network.figures[4].letters == 0


def test_groups_that_sign_different_letters_fall_in_different_clusters():
    network = two_groups_and_a_bridge()

    left = {network.figures[p].cluster for p in (1, 2, 3, 4, 5)}
    right = {network.figures[p].cluster for p in (6, 7, 8, 9, 10)}
    assert len(left) == 1 and len(right) == 1
    assert left != right
    assert network.letter_clusters[1] in left
    assert network.letter_clusters[4] in right


def test_the_partner_joining_two_groups_is_the_bridge():
    network = two_groups_and_a_bridge()

    assert network.figures[11].bridge is True
    assert [p for p, f in network.figures.items() if f.bridge] == [11]
    assert network.figures[11].betweenness > network.figures[1].betweenness


def test_a_partner_without_letters_has_no_cluster_and_is_no_bridge():
    network = two_groups_and_a_bridge()

    assert network.figures[12].cluster is None
    assert network.figures[12].bridge is False
    assert network.figures[12].betweenness == 0


def test_the_same_data_gives_the_same_figures():
    assert two_groups_and_a_bridge().figures == two_groups_and_a_bridge().figures


def test_memberships_of_unknown_partners_or_letters_are_left_out():
    network = network_build(
        partners=partners(1, 2),
        letters=letters(1),
        memberships=[(1, 1), (2, 1), (99, 1), (1, 42), (1, 1)],
    )

    assert network.memberships == [(1, 1), (2, 1)]
    assert network.figures[1].degree == 1


def test_co_signing_edges_weigh_letters_in_common():
    memberships = [(1, 1), (2, 1), (1, 2), (2, 2), (3, 2)]

    assert list(graph.co_signing_edges(memberships)) == [
        (1, 2, 2),
        (1, 3, 1),
        (2, 3, 1),
    ]


def test_betweenness_is_exact_on_small_graphs_and_sampled_on_large_ones():
    small = graph.two_mode_graph([(p, 1) for p in range(1, 50)])
    large = graph.two_mode_graph(
        [(p, lt) for lt in range(1, 200) for p in range(lt * 10, lt * 10 + 40)]
    )

    assert graph.betweenness_sources(small) is None
    sources = graph.betweenness_sources(large)
    assert sources is not None
    assert graph.BETWEENNESS_MIN_SOURCES <= sources < large.number_of_nodes()


def test_partners_level_at_the_cutoff_are_all_bridges_or_none():
    # Three partners each sign letter 1 and letter 4 of two separate groups:
    # they bridge alike, and none is left out by its id.
    memberships = [(p, lt) for lt in (1, 2, 3) for p in (1, 2, 3, 4, 5)]
    memberships += [(p, lt) for lt in (4, 5, 6) for p in (6, 7, 8, 9, 10)]
    memberships += [(p, lt) for p in (11, 12, 13) for lt in (1, 4)]
    network = network_build(
        partners=partners(*range(1, 14)),
        letters=letters(*range(1, 7)),
        memberships=memberships,
    )

    assert [p for p, f in network.figures.items() if f.bridge] == [11, 12, 13]

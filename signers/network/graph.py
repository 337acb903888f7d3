"""The coalition as a network: who signs with whom, its clusters and bridges.

Pure functions over plain rows, no database: ``network_build`` takes the
partners, the letters and who signed what (a partner and a letter are joined by
a confirmed signature linked to the partner on a published or closed letter) and
works out each partner's figures. The selectors load the rows and cache the
result; the exports and the bench call the same functions.

The figures avoid the co-signing graph (partners joined when they signed a
letter together), which has an edge per pair of co-signers: a letter with 80
signers alone makes 3,160. Betweenness comes from the two-mode graph (partners
and letters as nodes, a signature as an edge: one edge per signature), where
shortest paths between partners are those of the co-signing graph with a letter
at every second step, so it ranks partners alike. Clusters come from the letter
graph (letters joined by the partners they share, weighted by how many): its
Louvain communities, each partner joining the cluster most of its letters are
in. A partner's degree is counted in the co-signing graph: how many other
partners signed a letter with it.
"""

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, combinations
from typing import Final

import networkx as nx

# Betweenness costs one breadth-first search (nodes + edges) per source: exact
# while every node fits in this budget, else estimated from as many sampled
# sources as fit (never fewer than the minimum).
BETWEENNESS_BUDGET: Final = 120_000
BETWEENNESS_MIN_SOURCES: Final = 10
# A bridge signed letters of more than one cluster and ranks in this top share
# by betweenness among the partners with any.
BRIDGE_SHARE: Final = 0.1
# Fixed seeds: the same data gives the same clusters and bridges every time.
SEED: Final = 0


@dataclass(frozen=True)
class PartnerPoint:
    id: int
    name: str
    kind: str
    tags: tuple[str, ...] = ()
    reach: int | None = None


@dataclass(frozen=True)
class LetterPoint:
    id: int
    title: str


@dataclass(frozen=True)
class PartnerFigures:
    letters: int
    # Other partners who signed at least one letter with this one.
    degree: int
    # 1 for the largest cluster, 2 for the next...; None without any letter.
    cluster: int | None
    betweenness: float
    bridge: bool


@dataclass
class Network:
    partners: list[PartnerPoint]
    letters: list[LetterPoint]
    # (partner id, letter id), each pair once, sorted.
    memberships: list[tuple[int, int]]
    figures: dict[int, PartnerFigures]
    letter_clusters: dict[int, int] = field(default_factory=dict)
    clusters: int = 0
    # Betweenness estimated from sampled sources rather than exact.
    sampled: bool = False

    @property
    def bridges(self) -> int:
        return sum(1 for f in self.figures.values() if f.bridge)


def _letter_node(letter_id: int) -> int:
    # Partners keep their ids as nodes, letters take the negative ones.
    return -letter_id


def two_mode_graph(memberships: Iterable[tuple[int, int]]) -> nx.Graph:
    """Partners (their ids) and letters (minus their ids), joined by signatures."""
    graph = nx.Graph()
    graph.add_edges_from((p, _letter_node(letter)) for p, letter in memberships)
    return graph


def network_build(
    *,
    partners: Iterable[PartnerPoint],
    letters: Iterable[LetterPoint],
    memberships: Iterable[tuple[int, int]],
) -> Network:
    """Each partner's degree, cluster, betweenness and whether it is a bridge
    (it signed letters of more than one cluster and ranks high by betweenness).

    ``memberships`` may name a partner or letter that is not in the other
    arguments: such pairs are left out. Deterministic for the same input.
    """
    partner_list = sorted(partners, key=lambda p: p.id)
    letter_list = sorted(letters, key=lambda letter: letter.id)
    partner_ids = {p.id for p in partner_list}
    letter_ids = {letter.id for letter in letter_list}
    pairs = sorted(
        {(p, lt) for p, lt in memberships if p in partner_ids and lt in letter_ids}
    )

    signers: dict[int, list[int]] = {}
    signed: dict[int, list[int]] = {}
    for p, lt in pairs:
        signers.setdefault(lt, []).append(p)
        signed.setdefault(p, []).append(lt)

    letter_cluster, count = _letter_clusters(signers, signed)
    cluster_of = {p: _majority(letter_cluster, own) for p, own in signed.items()}
    betweenness, sampled = _betweenness(two_mode_graph(pairs))
    spanning = {
        p for p, own in signed.items() if len({letter_cluster[lt] for lt in own}) > 1
    }
    bridges = spanning & _top({p: betweenness.get(p, 0.0) for p in signed})

    figures = {}
    for partner in partner_list:
        own = signed.get(partner.id, [])
        co_signers = set(chain.from_iterable(signers[lt] for lt in own))
        figures[partner.id] = PartnerFigures(
            letters=len(own),
            degree=len(co_signers - {partner.id}),
            cluster=cluster_of.get(partner.id),
            betweenness=betweenness.get(partner.id, 0.0),
            bridge=partner.id in bridges,
        )
    return Network(
        partners=partner_list,
        letters=letter_list,
        memberships=pairs,
        figures=figures,
        letter_clusters=letter_cluster,
        clusters=count,
        sampled=sampled,
    )


def letter_graph(signed: dict[int, list[int]], letters: Iterable[int]) -> nx.Graph:
    """Letters joined by the partners that signed both (``weight``: how many).
    ``signed`` lists each partner's letters in order."""
    weights: dict[tuple[int, int], int] = {}
    for own in signed.values():
        for pair in combinations(own, 2):
            weights[pair] = weights.get(pair, 0) + 1
    graph = nx.Graph()
    graph.add_nodes_from(letters)
    graph.add_weighted_edges_from((a, b, w) for (a, b), w in weights.items())
    return graph


def _letter_clusters(
    signers: dict[int, list[int]], signed: dict[int, list[int]]
) -> tuple[dict[int, int], int]:
    """Each signed letter's cluster: Louvain communities of the letter graph,
    numbered from the one with most signatures (ties: lowest letter id)."""
    graph = letter_graph(signed, sorted(signers))
    if graph.number_of_nodes() == 0:
        return {}, 0
    communities = nx.community.louvain_communities(graph, weight="weight", seed=SEED)
    communities.sort(key=lambda c: (-sum(len(signers[lt]) for lt in c), min(c)))
    numbered = {lt: i for i, c in enumerate(communities, start=1) for lt in c}
    return numbered, len(communities)


def _majority(letter_cluster: dict[int, int], own: list[int]) -> int:
    """The cluster most of these letters are in (ties: the larger cluster)."""
    counts: dict[int, int] = {}
    for lt in own:
        counts[letter_cluster[lt]] = counts.get(letter_cluster[lt], 0) + 1
    return min(counts, key=lambda c: (-counts[c], c))


def betweenness_sources(graph: nx.Graph) -> int | None:
    """How many sampled sources betweenness uses: None for all (exact)."""
    nodes = graph.number_of_nodes()
    sources = max(
        BETWEENNESS_MIN_SOURCES,
        BETWEENNESS_BUDGET // max(1, nodes + graph.number_of_edges()),
    )
    return None if sources >= nodes else sources


def _betweenness(graph: nx.Graph) -> tuple[dict[int, float], bool]:
    if graph.number_of_nodes() == 0:
        return {}, False
    sources = betweenness_sources(graph)
    values = nx.betweenness_centrality(graph, k=sources, seed=SEED, normalized=True)
    return values, sources is not None


def _top(betweenness: dict[int, float]) -> set[int]:
    """The top share by betweenness, and any partner level with the last."""
    ranked = sorted((b for b in betweenness.values() if b > 0), reverse=True)
    if not ranked:
        return set()
    cutoff = ranked[math.ceil(len(ranked) * BRIDGE_SHARE) - 1]
    return {p for p, b in betweenness.items() if b >= cutoff}


def co_signing_edges(
    memberships: Iterable[tuple[int, int]],
) -> Iterator[tuple[int, int, int]]:
    """(partner, partner, letters in common), lower id first, in order."""
    signers: dict[int, list[int]] = {}
    for p, lt in sorted(set(memberships)):
        signers.setdefault(lt, []).append(p)
    weights: dict[tuple[int, int], int] = {}
    for members in signers.values():
        for pair in combinations(members, 2):
            weights[pair] = weights.get(pair, 0) + 1
    for (a, b), weight in sorted(weights.items()):
        yield a, b, weight

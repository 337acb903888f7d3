"""How long the network map's data takes to build for a large coalition.

    python -m bench.network_map [--partners 2000] [--letters 200] [--rounds 5]
    make bench-map

Seeds a coalition of 2,000 partners and 200 published letters (10 to 80
signers each, most from the letter's own issue area) on a throwaway copy of the
configured database (SQLite by default, PostgreSQL when DATABASE_URL says so),
which it creates and drops. Then times, median of ``--rounds``:

- the map's data built cold (the database reads and ``network_build``: degree,
  Louvain clusters, betweenness), the number behind the one-second goal;
- the same from the cache (what a second view of the page costs);
- the bare baseline: networkx alone on the same graphs, already in memory (the
  two-mode graph, its projection on the letters with Louvain, and sampled
  betweenness); the ratio is the site's share on top of the library;
- for reference, networkx's own co-signing projection with Louvain on it, the
  road not taken (one round).

Prints a Markdown table. The cache is a private in-memory one, so the configured
cache (maybe Redis shared with a running site) is neither read nor cleared.
"""

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coalition.settings")

import django

django.setup()

import networkx as nx  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.support import WORDS, print_table  # noqa: E402
from coalition.models import Coalition, User  # noqa: E402
from letters.models import Letter, Revision, text_hash  # noqa: E402
from signers.models import Partner, Signature, Tag  # noqa: E402
from signers.network import graph, selectors  # noqa: E402

TAGS = ["housing", "climate", "health", "transport", "schools", "migration",
        "food", "energy", "water", "labour", "digital rights", "culture"]  # fmt: skip
KINDS = [k.value for k in Partner.Kind]


def seed(partners: int, letters: int) -> Coalition:
    """A coalition whose letters each draw most signers from one issue area,
    so that there are clusters to find, and some partners across areas."""
    rng = random.Random(20261130)
    coalition = Coalition.objects.create(name="Bench coalition", slug="bench-map")
    author = User.objects.create(email="bench-map@example.org")
    tags = Tag.objects.bulk_create(Tag(coalition=coalition, name=t) for t in TAGS)
    rows = Partner.objects.bulk_create(
        (
            Partner(
                coalition=coalition,
                name=f"{WORDS[i % 26]} Alliance {i:05d}",
                sort_name=f"{WORDS[i % 26].lower()} alliance {i:05d}",
                normalised_name=f"{WORDS[i % 26].lower()} alliance {i:05d}",
                kind=KINDS[i % len(KINDS)],
                reach=int(rng.paretovariate(1.2) * 100),
            )
            for i in range(partners)
        ),
        batch_size=1000,
    )
    area = {p.pk: rng.randrange(len(TAGS)) for p in rows}
    Partner.tags.through.objects.bulk_create(
        Partner.tags.through(partner_id=p.pk, tag_id=tags[area[p.pk]].pk) for p in rows
    )
    in_area: dict[int, list[int]] = {}
    for pk, a in area.items():
        in_area.setdefault(a, []).append(pk)
    everyone = [p.pk for p in rows]

    now = timezone.now()
    letter_rows = Letter.objects.bulk_create(
        Letter(
            coalition=coalition,
            title=f"Bench letter {n:03d}",
            slug=f"bench-map-{n:03d}",
            status=Letter.Status.PUBLISHED,
            published_at=now,
        )
        for n in range(letters)
    )
    body = "We ask the Council to act."
    revisions = Revision.objects.bulk_create(
        Revision(
            letter=letter,
            number=1,
            title=letter.title,
            body=body,
            author=author,
            sha256=text_hash(addressee="", points=[], body=body),
        )
        for letter in letter_rows
    )
    for letter, revision in zip(letter_rows, revisions, strict=True):
        letter.current_revision = revision
    Letter.objects.bulk_update(letter_rows, ["current_revision"])

    signatures: list[Signature] = []
    for letter, revision in zip(letter_rows, revisions, strict=True):
        own = in_area[rng.randrange(len(TAGS))]
        chosen: set[int] = set()
        size = min(rng.randint(10, 80), len(everyone))
        while len(chosen) < size:
            pool = own if own and rng.random() < 0.7 else everyone
            chosen.add(rng.choice(pool))
        signatures.extend(
            Signature(
                letter=letter,
                revision=revision,
                partner_id=pk,
                status=Signature.Status.CONFIRMED,
                source=Signature.Source.IMPORT,
                display_name=f"Partner {pk}",
                sort_name=f"partner {pk}",
                normalised_name=f"partner {pk}",
                email=f"p{pk}@bench.example.org",
                confirmed_at=now,
                attested=True,
            )
            for pk in sorted(chosen)
        )
    Signature.objects.bulk_create(signatures, batch_size=2000)
    return coalition


def median_seconds(
    rounds: int, fn: Callable[[], Any], before: Callable[[], Any]
) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``fn``. On a shared machine the CPU
    time is what the same work takes when it has a core to itself."""
    wall, cpu = [], []
    for _ in range(rounds):
        before()
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bare_networkx(memberships: list[tuple[int, int]], sources: int | None) -> None:
    """The library alone on the same graphs with the same settings: the
    two-mode graph, its weighted projection on the letters with Louvain, and
    sampled betweenness."""
    two_mode = nx.Graph()
    two_mode.add_edges_from((p, -letter) for p, letter in memberships)
    letters = {-letter for _, letter in memberships}
    projected = nx.bipartite.weighted_projected_graph(two_mode, letters)
    nx.community.louvain_communities(projected, weight="weight", seed=graph.SEED)
    nx.betweenness_centrality(two_mode, k=sources, seed=graph.SEED)


def projection(memberships: list[tuple[int, int]]) -> int:
    """The road not taken: the partners' co-signing graph and Louvain on it."""
    two_mode = nx.Graph()
    partners = {p for p, _ in memberships}
    two_mode.add_edges_from((p, -letter) for p, letter in memberships)
    co_signing = nx.bipartite.weighted_projected_graph(two_mode, partners)
    nx.community.louvain_communities(co_signing, seed=graph.SEED)
    return co_signing.number_of_edges()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=2_000)
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    if connection.vendor == "postgresql":
        # Beside, not over, the test suite's database of the same server.
        name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"test_{name}_map"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    vendor = connection.vendor
    private_cache = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    try:
        with override_settings(CACHES=private_cache):
            coalition = seed(args.partners, args.letters)
            network = selectors.coalition_network(coalition=coalition)
            memberships = network.memberships
            sources = graph.betweenness_sources(graph.two_mode_graph(memberships))

            def build() -> None:
                selectors.coalition_network(coalition=coalition)

            cold = median_seconds(args.rounds, build, cache.clear)
            warm = median_seconds(args.rounds, build, lambda: None)
            bare = median_seconds(
                args.rounds, lambda: bare_networkx(memberships, sources), lambda: None
            )
            started, started_cpu = time.perf_counter(), time.process_time()
            ties = projection(memberships)
            projected = (
                time.perf_counter() - started,
                time.process_time() - started_cpu,
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"\nNetwork map data: {args.partners} partners, {args.letters} letters, "
        f"{len(memberships)} signatures, {ties} co-signing ties, "
        f"{network.clusters} clusters, {network.bridges} bridges; {vendor}; "
        f"median of {args.rounds} rounds; load average {load}\n"
    )

    def line(what: str, seconds: tuple[float, float], goal: str = "") -> list[str]:
        ratio = seconds[1] / bare[1] if bare[1] else 0
        return [what, f"{seconds[0]:.3f}", f"{seconds[1]:.3f}", f"{ratio:.2f}x", goal]

    verdict = "met" if cold[1] < 1 else "not met"
    print_table(
        ["what", "wall s", "CPU s", "CPU / bare networkx", "goal"],
        [
            line("map data, cold (reads + figures)", cold, f"under 1 s: {verdict}"),
            line("map data, from the cache", warm),
            line("bare networkx, same graphs in memory", bare),
            line("networkx co-signing projection + Louvain (1 round)", projected),
        ],
    )
    print(
        "\nThe goal is read on CPU seconds: on a shared machine the wall clock "
        "also counts the time other processes held the cores.\n"
    )


if __name__ == "__main__":
    main()

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve

from bench import compare_table

pytestmark = pytest.mark.django_db

SHARE = compare_table.Line("x", "a throughput", "bare", "≥ 0.5", share=True, target=0.5)
TIME = compare_table.Line("y", "a time", "bare", "≤ 1.3x", share=False, target=1.3)


def test_ratio_is_the_median_of_per_round_ratios_not_the_ratio_of_medians():
    # The second round was slow for both sides (a busy moment): its ratio is
    # still honest, where the medians of each side would mix rounds.
    samples = [
        compare_table.Sample(site=100, base=200),
        compare_table.Sample(site=20, base=40),
        compare_table.Sample(site=30, base=300),
    ]

    assert compare_table.median_ratio(SHARE, samples) == pytest.approx(0.5)


def test_goal_direction_depends_on_the_kind_of_line():
    assert compare_table.met(SHARE, 0.6) is True
    assert compare_table.met(SHARE, 0.4) is False
    assert compare_table.met(TIME, 1.2) is True
    assert compare_table.met(TIME, 5.6) is False
    assert (
        compare_table.met(compare_table.Line("z", "", "", "", True, None), 1.0) is None
    )


def test_goals_on_the_figures_themselves_hold_beside_the_ratio():
    cold = next(line for line in compare_table.LINES if line.key == "cold")
    pdf = next(line for line in compare_table.LINES if line.key == "pdf")

    assert compare_table.met(cold, 0.06, 161, {"server ms": 9.6}) is True
    assert compare_table.met(cold, 0.06, 149, {"server ms": 9.6}) is False
    assert compare_table.met(cold, 0.06, 161, {"server ms": 12.5}) is False
    assert compare_table.met(cold, 0.06, 161, {}) is False  # not measured
    assert compare_table.met(pdf, 1.2, 9.0, {"peak MiB": 180}) is True
    assert compare_table.met(pdf, 1.2, 9.0, {"peak MiB": 210}) is False
    assert compare_table.met(pdf, 1.4, 9.0, {"peak MiB": 180}) is False


def test_the_pdf_childs_peak_is_its_own_not_its_parents():
    import subprocess
    import sys

    ballast = bytearray(300 * 1024 * 1024)  # the parent's 300 MiB
    ballast[::4096] = b"x" * len(ballast[::4096])
    program = "from bench.compare import own_peak_kib; print(own_peak_kib())"
    child = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    del ballast
    assert int(child.stdout) < 200 * 1024


def test_a_zero_measurement_gives_a_zero_ratio_not_an_error():
    assert compare_table.ratio(SHARE, compare_table.Sample(site=0, base=10)) == 0
    assert compare_table.ratio(SHARE, compare_table.Sample(site=5, base=0)) == 0


def test_table_shows_figures_baseline_ratio_goal_and_verdict():
    results = {
        "x": [
            compare_table.Sample(50, 100),
            compare_table.Sample(60, 100),
            compare_table.Sample(70, 100),
        ],
        "y": [
            compare_table.Sample(12, 10, {"peak MiB": 150}),
            compare_table.Sample(14, 10),
        ],
    }
    SHARE_RPS = compare_table.Line("x", "page", "hello", "≥ 0.5", True, 0.5, "req/s")
    TIME_S = compare_table.Line("y", "pdf", "weasyprint", "≤ 1.3x", False, 1.3, "s")

    rows = compare_table.table_rows([SHARE_RPS, TIME_S], results)

    assert rows[0] == ["page", "60 req/s", "100 req/s (hello)", "0.600", "≥ 0.5", "met"]
    assert rows[1][0] == "pdf"
    assert rows[1][1] == "13.00 s; peak MiB 150.0"
    assert rows[1][3] == "1.30x"
    assert rows[1][5] == "met"
    table = compare_table.markdown_table(rows)
    assert table.splitlines()[0].startswith("| what | site |")
    assert table.splitlines()[1] == "|---|---|---|---|---|---|"
    assert len(table.splitlines()) == 4


def test_section_replaces_its_own_markers_and_keeps_the_rest_of_the_doc():
    start, end = compare_table.START, compare_table.END
    doc = f"# Performance\n\nIntro.\n\n{start}\nold\n{end}\n\n## Later\n"

    updated = compare_table.replace_section(doc, "## Against bare baselines\n\nnew")

    assert "old" not in updated
    assert "new" in updated
    assert updated.startswith("# Performance\n\nIntro.")
    assert updated.endswith("## Later\n")
    assert (
        compare_table.replace_section(updated, "again").count(compare_table.START) == 1
    )


def test_section_is_appended_when_the_doc_has_none():
    updated = compare_table.replace_section("# Performance\n", "table")

    assert (
        updated
        == f"# Performance\n\n{compare_table.START}\ntable\n{compare_table.END}\n"
    )


def test_baseline_views_are_not_reachable_from_the_site():
    assert settings.ROOT_URLCONF == "coalition.urls"
    for path in ("/bench/hello/", "/bench/insert/"):
        with pytest.raises(Resolver404):
            resolve(path)
        assert Client().get(path).status_code == 404
        assert Client().post(path).status_code in (403, 404)


def test_bench_url_conf_serves_the_site_and_the_baselines(settings):
    settings.ROOT_URLCONF = "bench.urls"

    assert resolve("/bench/hello/").url_name == "bench-hello"
    assert resolve("/letters/some-letter/").view_name == "signers:public"
    assert Client().get("/bench/hello/").content == b"Hello, world"


def test_the_bench_settings_differ_from_the_site_only_in_url_conf():
    import importlib

    bench_settings = importlib.import_module("bench.compare_settings")
    site_settings = importlib.import_module("coalition.settings")

    assert bench_settings.ROOT_URLCONF == "bench.urls"
    assert bench_settings.MIDDLEWARE == site_settings.MIDDLEWARE
    names = {n for n in dir(site_settings) if n.isupper()} - {"ROOT_URLCONF"}
    assert all(getattr(bench_settings, n) == getattr(site_settings, n) for n in names)

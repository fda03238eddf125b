"""`songnodes next` / `songnodes path` through the console script on a hand-made graph whose answer is known
(the graph of test_gold_analytics, gold tables built by the same builders the assets run)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from songnodes_assets.lib.analytics.recommend import iter_next_tracks
from songnodes_assets.lib.analytics.tracks import build_track_analytics
from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import GOLD_NEXT_TRACKS, GOLD_TRACK_ANALYTICS

from .test_gold_analytics import BUILT, GRAPH, KEYS, write_lake

SONGNODES = Path(sys.executable).parent / "songnodes"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = write_lake(tmp_path_factory.mktemp("ask"), GRAPH, KEYS)
    con, lakehouse = connect(root), Lakehouse(root)
    lakehouse.write_single(GOLD_TRACK_ANALYTICS, [build_track_analytics(con, BUILT)])
    lakehouse.write_single(GOLD_NEXT_TRACKS, iter_next_tracks(con, BUILT))
    return root


def ask(lake, *args):
    return subprocess.run([str(SONGNODES), *args, "--lakehouse", str(lake)], capture_output=True, text=True,
                          timeout=120)


def test_next_ranks_the_frequent_compatible_successor_first_with_reasons(lake):
    res = ask(lake, "next", "S - X")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "after S - X:"
    assert lines[1].startswith("  1. F - Freq  [played")
    assert "played after it in 4 playlists by 4 DJs; 8A → 9A (adjacent)" in lines[2]
    order = [ln.split(". ", 1)[1].split("  [")[0] for ln in lines[1::2]]
    assert order.index("K - Comp") < order.index("I - Inc")  # as often played, but an incompatible key
    assert "S - X" not in order


def test_next_bpm_range_limit_and_unknown_or_ambiguous_names(lake):
    res = ask(lake, "next", "S - X", "--bpm-range", "0.5", "--limit", "2")
    assert res.returncode == 0 and "(BPM 128 ± 0.5, half/double time included)" in res.stdout, res
    deltas = [float(d) for d in re.findall(r"(?:±|\+|-)?(\d+\.\d) BPM$", res.stdout, re.M)]
    assert deltas and all(abs(d) <= 0.5 for d in deltas), res.stdout  # every listed track within ±0.5 BPM
    assert 1 <= len(re.findall(r"^ +\d+\. ", res.stdout, re.M)) <= 2
    for bad in (["--limit", "0"], ["--limit", "-1"], ["--bpm-range", "nan"], ["--bpm-range", "-2"],
                ["--bpm-range", "inf"]):
        res = ask(lake, "next", "S - X", *bad)
        assert res.returncode == 2 and "give" in res.stderr and "Traceback" not in res.stderr, bad
    res = ask(lake, "path", "Q - One", "Q - Four", "--steps", "0")
    assert res.returncode == 2 and "--steps 0: give 1 or more" in res.stderr
    unknown = ask(lake, "next", "Nobody - Nothing")
    assert unknown.returncode == 2 and "no track matches 'Nobody - Nothing'; closest:" in unknown.stderr
    ambiguous = ask(lake, "next", "Strobe")
    assert ambiguous.returncode == 2 and "matches several tracks" in ambiguous.stderr
    assert "Deadmau5 - Strobe" in ambiguous.stderr and "Other - Strobe" in ambiguous.stderr


def test_path_prints_the_chain_or_says_there_is_none(lake):
    res = ask(lake, "path", "Q - One", "Q - Four")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == "3 transition(s):" and "3. Q - Four" in res.stdout
    none = ask(lake, "path", "Q - Four", "Q - One")
    assert none.returncode == 2 and "no played path of at most 6 transitions" in none.stderr


def test_a_build_failing_a_blocking_check_is_not_published(lake, monkeypatch):
    """gold/next_tracks through Dagster: a good build is published; a build that recommends a track after itself
    fails the step with the check failed, and the previous file stays as it was."""
    import dagster as dg

    from songnodes_assets.defs.gold import analytics
    from songnodes_assets.defs.resources import LakehouseResource

    resources = {"lakehouse": LakehouseResource(root=str(lake))}
    assert dg.materialize([analytics.next_tracks], resources=resources).success
    path = Lakehouse(lake).files(GOLD_NEXT_TRACKS)[0]
    good = path.read_bytes()
    real = analytics.iter_next_tracks

    def with_a_self_loop(con, built_at, *a, **kw):
        for df in real(con, built_at, *a, **kw):
            df = df.copy()
            df.loc[df.index[0], "to_track_id"] = df.loc[df.index[0], "from_track_id"]
            yield df

    monkeypatch.setattr(analytics, "iter_next_tracks", with_a_self_loop)
    result = dg.materialize([analytics.next_tracks], resources=resources, raise_on_error=False)
    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["no_self_recommendation"] is False
    assert path.read_bytes() == good  # the previous build stays
    assert not [p for p in path.parent.iterdir() if p.name.startswith("_")]  # no staged file left behind

"""Whatever is in the files, ``load_site`` never raises: it only reports problems."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commandcenter.core.siteio import load_site

from .conftest import SiteFiles

FILES = ["maps/site.yaml", "resources/resources.yaml", "resources/gauges.yaml",
         "resources/roster.yaml", "plans/gas-l1.yaml", "plans/gas-l2.yaml",
         "drills/gas-leak.yaml", "maps/site.geojson", "maps/network.geojson"]

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
data_trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                          max_leaves=20)
yamlish = st.text(alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#,.0123456789 \n\t?%@`")),
                  max_size=200)


@pytest.fixture(scope="module")
def valid_site() -> Iterator[SiteFiles]:
    root = Path(tempfile.mkdtemp(prefix="cc-fuzz-"))
    try:
        yield SiteFiles(root / "site")
    finally:
        shutil.rmtree(root)


def _check(site: SiteFiles) -> None:
    s = load_site(site.root)
    for p in s.problems:
        text = str(p)
        assert text.startswith(f"{p.path}:{p.line}: ")
        assert p.line >= 1
    # Whatever else went wrong, nothing that loaded refers to something missing.
    for b in s.buildings.values():
        assert b.zone is None or b.zone in s.zones
    for e in s.edges.values():
        assert e.source in s.nodes and e.target in s.nodes
    for g in s.gauges.values():
        assert g.link in s.links
    for plan in s.plans.values():
        assert plan.escalates_to is None or plan.escalates_to in s.plans
    for d in s.drills.values():
        assert d.plan in s.plans and d.location in s.buildings


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(FILES), yamlish)
def test_garbage_text_never_raises(valid_site: SiteFiles, rel: str, text: str) -> None:
    original = valid_site.texts[rel]
    try:
        (valid_site.root / rel).write_text(text, encoding="utf-8")
        _check(valid_site)
    finally:
        valid_site.set(rel, original)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(FILES), data_trees)
def test_wrong_shaped_data_never_raises(valid_site: SiteFiles, rel: str, tree: object) -> None:
    original = valid_site.texts[rel]
    text = json.dumps(tree) if rel.endswith(".geojson") else \
        yaml.safe_dump({"schema_version": 1, "id": tree, "gauges": tree, "links": [tree]})
    try:
        (valid_site.root / rel).write_text(text, encoding="utf-8")
        _check(valid_site)
    finally:
        valid_site.set(rel, original)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(FILES), st.data())
def test_line_mutations_never_raise(valid_site: SiteFiles, rel: str, data: st.DataObject) -> None:
    """Delete, duplicate or garble one line of a valid file."""
    original = valid_site.texts[rel]
    lines = original.splitlines(keepends=True)
    i = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["delete", "duplicate", "garble", "truncate"]))
    if how == "delete":
        del lines[i]
    elif how == "duplicate":
        lines.insert(i, lines[i])
    elif how == "garble":
        line = lines[i]
        j = data.draw(st.integers(0, max(0, len(line) - 1)))
        lines[i] = line[:j] + data.draw(st.sampled_from(["", ":", "[", "-", "x", "9", '"']))\
            + line[j + 1:]
    else:
        lines = lines[:i]
    try:
        (valid_site.root / rel).write_text("".join(lines), encoding="utf-8")
        _check(valid_site)
    finally:
        valid_site.set(rel, original)

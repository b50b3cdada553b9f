"""The prefix-state cache's bookkeeping: longest-prefix lookup, byte budget, eviction order."""

from __future__ import annotations

import numpy as np

from workbench.core.llm.prefix_cache import PrefixStateCache, common_prefix


def toks(*parts: range) -> np.ndarray:
    return np.array([t for r in parts for t in r], dtype=np.intc)


def test_common_prefix():
    assert common_prefix(toks(range(5)), toks(range(5))) == 5
    assert common_prefix(toks(range(5)), toks(range(3), range(9, 12))) == 3
    assert common_prefix(toks(range(5)), toks()) == 0
    assert common_prefix(toks(range(3)), toks(range(8))) == 3


def test_longest_prefix_wins_and_confirmed_wins_a_tie():
    c = PrefixStateCache(1 << 20)
    c.add(toks(range(100), range(500, 520)), b"x" * 10, confirmed=False)
    short = c.add(toks(range(100)), b"y" * 10, confirmed=True)
    longer = c.add(toks(range(150)), b"z" * 10, confirmed=True)
    assert c.longest(toks(range(120), range(900, 905))) == (longer, 120)
    # The candidate and the confirmed prefix both share 100 tokens: the exact prefix is chosen.
    assert c.longest(toks(range(100), range(700, 710)))[0] is short
    assert c.longest(toks(range(800, 900))) == (None, 0)
    assert c.has_prefix_of(toks(range(160)), 150) and not c.has_prefix_of(toks(range(140)), 150)


def test_byte_budget_evicts_candidates_first_then_least_recent():
    c = PrefixStateCache(capacity_bytes=3000, max_candidates=4)
    a = c.add(toks(range(0, 100)), b"a" * 500, confirmed=True)  # 900 bytes with tokens
    b = c.add(toks(range(1000, 1100)), b"b" * 500, confirmed=True)
    cand = c.add(toks(range(2000, 2100)), b"c" * 500, confirmed=False)
    c.longest(toks(range(0, 50)))  # `a` used: `b` is now the least recent
    d = c.add(toks(range(3000, 3100)), b"d" * 500, confirmed=True)  # over budget by one entry
    assert cand not in c.entries() and {a, b, d} <= set(c.entries())
    e = c.add(toks(range(4000, 4100)), b"e" * 500, confirmed=True)
    assert b not in c.entries() and {a, d, e} <= set(c.entries())
    assert c.nbytes <= 3000
    assert c.add(toks(range(10)), b"f" * 5000, confirmed=True) is None  # bigger than the budget


def test_candidates_are_few_and_subsumed_ones_go():
    c = PrefixStateCache(1 << 20, max_candidates=2)
    first = c.add(toks(range(100)), b"1", confirmed=False)
    c.add(toks(range(100), range(100, 200)), b"2", confirmed=False)  # extends `first`
    assert first not in c.entries() and len(c) == 1
    c.add(toks(range(1000, 1100)), b"3", confirmed=False)
    c.add(toks(range(2000, 2100)), b"4", confirmed=False)
    assert len(c) == 2 and all(not e.confirmed for e in c.entries())
    assert c.longest(toks(range(50)))[1] == 0  # the oldest candidate made room


def test_a_confirmed_prefix_that_overshot_gives_way_to_the_shorter_one():
    c = PrefixStateCache(1 << 20, slack=8)
    overshot = c.add(toks(range(100), range(500, 505)), b"1", confirmed=True)
    header = c.add(toks(range(40)), b"h", confirmed=True)  # far shorter: a different template
    exact = c.add(toks(range(100)), b"2", confirmed=True)
    assert overshot not in c.entries() and {header, exact} <= set(c.entries())

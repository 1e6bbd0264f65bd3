"""kustomize_values.in_key_order: go-yaml v2's key order, taken by a plain sort where the
keys' characters make it the code-point order; the same order as the comparison always."""

from __future__ import annotations

import random
from functools import cmp_to_key

from gatekeeper.sources.kustomize_values import _compare, in_key_order

ALPHABET = "aAzZbB09_-./:@ ~`[]^\\é{}1x2"


def test_the_same_order_as_go_yaml_v2_comparison() -> None:
    rng = random.Random(17)
    plain_sorted = 0
    for _ in range(3000):
        length = rng.randint(0, 8)
        pool = ALPHABET if rng.random() < 0.5 else "abcXYZ-./:@ "
        keys = list(
            {"".join(rng.choice(pool) for _ in range(rng.randint(0, 6))) for _ in range(length)}
        )
        expected = sorted(keys, key=cmp_to_key(_compare))
        assert in_key_order(keys) == expected, keys
        plain_sorted += sorted(keys) == expected
    assert plain_sorted < 3000  # the comparison's order differs from a plain sort somewhere


def test_known_orders() -> None:
    assert in_key_order(["b", "a10", "a2", "A"]) == ["A", "a2", "a10", "b"]
    assert in_key_order(["a_b", "aB", "a-b"]) == ["a-b", "a_b", "aB"]
    assert in_key_order(["metadata", "kind", "apiVersion", "app.kubernetes.io/name"]) == [
        "apiVersion",
        "app.kubernetes.io/name",
        "kind",
        "metadata",
    ]
    assert in_key_order(["z", "Z", ":", "/"]) == ["/", ":", "Z", "z"]


def test_values_and_refusals_are_the_same_when_worked_out_again() -> None:
    """canonical remembers short scalars and key orders: a second document with the same
    texts gets the same values, a refused value is refused again, and a quoted or tagged
    text is not taken for the plain one."""
    import pytest
    import yaml

    from gatekeeper.sources.kustomize_values import Unsupported, canonical

    text = "b: 1\na10: yes\na2: '08'\nc: 0x1F\nd: ~\ne: 1.5\n"
    first = canonical(yaml.compose(text, Loader=yaml.CSafeLoader))
    again = canonical(yaml.compose(text, Loader=yaml.CSafeLoader))
    assert first == again == {"a2": "08", "a10": "yes", "b": 1, "c": 31, "d": None, "e": 1.5}
    assert list(again) == ["a2", "a10", "b", "c", "d", "e"]
    quoted = canonical(yaml.compose("c: '0x1F'\nd: '~'\n", Loader=yaml.CSafeLoader))
    assert quoted == {"c": "0x1F", "d": "~"}
    for _ in range(2):
        with pytest.raises(Unsupported):
            canonical(yaml.compose("a: !!str 1\n", Loader=yaml.CSafeLoader))
        with pytest.raises(Unsupported):
            canonical(yaml.compose("a: .inf\n", Loader=yaml.CSafeLoader))

"""kubernetes.may_spell: the cheap byte test that decides which files are parsed for a kind.

It must never say no to a file whose YAML could spell the word: written, escaped, joined
across a double-quoted line break, or in UTF-16."""

from __future__ import annotations

import codecs

from gatekeeper.sources.kubernetes import looks_like_objects, may_spell

WORDS = [b"GitRepository", b"HelmRepository"]


def test_a_word_is_found_however_yaml_may_spell_it() -> None:
    assert may_spell(b"kind: GitRepository\n", WORDS)
    assert may_spell(b'kind: "Git\\u0052epository"\n', WORDS)  # an escape
    assert may_spell(b'kind: "GitRepo\\\n  sitory"\n', WORDS)  # a joined line
    wide = codecs.BOM_UTF16_LE + "kind: HelmRepository\n".encode("utf-16-le")
    assert may_spell(wide, WORDS)
    assert looks_like_objects(b'{"api\\u0056ersion": "v1", "kind": "Pod"}')


def test_a_file_that_cannot_spell_a_word_is_passed_over() -> None:
    assert not may_spell(b"kind: ConfigMap\ndata: {a: b}\n", WORDS)
    assert not may_spell(b"run: echo a\\b\n", WORDS)  # a backslash that joins nothing
    assert not may_spell(b'kind: "GitRepo\\\n  x"\n', WORDS)
    wide = codecs.BOM_UTF16_LE + "kind: ConfigMap\n".encode("utf-16-le")
    assert not may_spell(wide, WORDS)

"""Tests of the cluster's Kubernetes version that the variant detector cannot read.

helm._cluster_tests renders a chart again at each Kubernetes version where one of its
`semverCompare` constraints or `KubeVersion.Minor` comparisons changes its answer. Helm's other
functions read the version too: `{{ if regexMatch "^v1[.](2[0-9]|30|31)[.]"
.Capabilities.KubeVersion.Version }}hostPID: true{{ end }}` takes its branch on every cluster
older than 1.32, never offline, where Helm 4 assumes a newer one (red team s13 u06). An action
that reads the version (directly, through a variable set from it, or through a named template
whose body reads it) with a function other than those the detector reads or that only pass the
value on is such a test: the chart is then rendered at every supported minor (helm.py).
"""

from __future__ import annotations

import json
import re

from gatekeeper import lazy_re

_READ = b"Capabilities.KubeVersion"
# String literals, variables and fields: what is left of an action is its functions.
_NOT_A_FUNCTION = lazy_re.compile(
    rb'"(?:[^"\\]|\\.)*"|`[^`]*`|\$[\w.]*|\.[\w.]+|(?<![\w.])-?\d[\w.]*'
)
_WORD = lazy_re.compile(rb"[A-Za-z_]\w*")
_ASSIGNED = lazy_re.compile(rb"^\{\{-?\s*(\$\w+)\s*:?=")
_DEFINE = lazy_re.compile(rb"\{\{-?\s*define\s+\"([^\"]+)\"")
# Functions that compare the version the way the detector reads (semverCompare), or that only
# pass it on, format it or combine conditions: an action calling nothing else decides nothing
# on the version that the renderings at each constraint miss.
_PASSES_ON = frozenset(
    {
        b"semverCompare", b"default", b"coalesce", b"empty", b"and", b"or", b"not", b"if",
        b"else", b"end", b"with", b"printf", b"print", b"quote", b"squote", b"toString",
        b"trimPrefix", b"trimSuffix", b"trim", b"trimAll", b"regexFind", b"mustRegexFind",
        b"regexReplaceAll", b"regexReplaceAllLiteral", b"replace", b"lower", b"upper",
        b"include", b"template", b"define", b"true", b"false", b"nil", b"toYaml", b"toJson",
        b"nindent", b"indent",
    }
)  # fmt: skip


def unread(texts: list[bytes]) -> bool:
    """Whether any of a chart's templates (or values strings given to `tpl`) tests the
    Kubernetes version with a function the variant detector does not read."""
    if not any(_READ in text for text in texts):
        return False
    names = {_READ: None}
    # (a named template whose body reads the version is in a text that does)
    for text in (text for text in texts if _READ in text and b"define" in text):
        starts = list(_DEFINE.finditer(text))  # named templates whose body reads the version
        for index, start in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            if _READ in text[start.end() : end]:
                names[b'"' + start.group(1) + b'"'] = None
    for _ in range(2):  # variables set from a read, and from those
        for action in _reading(texts, names):
            assigned = _ASSIGNED.match(action)
            if assigned:
                names[assigned.group(1)] = None
    return any(_decides(action) for action in _reading(texts, names))


def _reading(texts: list[bytes], names: dict[bytes, None]) -> list[bytes]:
    """The actions of `texts` that read one of `names` (found where the names are: most
    actions of a large chart read none), except `KubeVersion.Minor` comparisons, which the
    detector reads."""
    found: dict[bytes, None] = {}
    for text in texts:
        end = -1
        for at, after in _occurrences(text, names):
            if at < end:
                continue  # in the action just read
            start = text.rfind(b"{{", 0, at)
            end = text.find(b"}}", start) + 2 if start >= 0 else -1
            if start < 0 or end < after:
                continue  # outside any action
            action = text[start:end]
            if b"KubeVersion.Minor" not in action:
                found[action] = None
    return list(found)


def _occurrences(text: bytes, names: dict[bytes, None]) -> list[tuple[int, int]]:
    """(start, end) of each place `text` spells one of `names` not followed by a word
    character, in order: byte searches (memchr), where a regular expression of the names
    (an alternation: no literal to skip by) took 14 ms over kube-prometheus-stack's 1.4 MB
    of templates, most of a hook's added cost."""
    places = []
    for name in names:
        at = text.find(name)
        while at != -1:
            after = at + len(name)
            if after == len(text) or text[after] not in _WORD_BYTES:
                places.append((at, after))
            at = text.find(name, at + 1)
    places.sort()
    return places


# What `\w` matches in a bytes pattern: ASCII letters, digits and the underscore.
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _decides(action: bytes) -> bool:
    body = action.strip(b"{}-")
    words = _WORD.findall(_NOT_A_FUNCTION.sub(b" ", body))
    deciding = {word for word in words if word not in _PASSES_ON}
    if not deciding:
        return False
    if deciding - {*_STRING_TESTS, b"ternary"}:
        return True
    # Tests of the text's shape alone (`regexMatch "^v\\d+\\.\\d+$"`, a chart normalising
    # the version) answer alike at every minor: only a test whose answer changes decides.
    calls = _LITERAL_TEST.findall(body)
    if len(calls) != sum(words.count(word) for word in _STRING_TESTS):
        return True  # a test of something other than a written literal
    return any(not _alike(name, _literal(quoted, raw)) for name, quoted, raw in calls)


# `regexMatch "^v1[.]3"` and the like, whose first argument is a written string.
_STRING_TESTS = (b"regexMatch", b"mustRegexMatch", b"hasPrefix", b"hasSuffix", b"contains")
_LITERAL_TEST = lazy_re.compile(
    rb"(?<![\w.$-])(regexMatch|mustRegexMatch|hasPrefix|hasSuffix|contains)\s+"
    rb'(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)'
)
# The minors a test the detector cannot read is rendered at (helm._cluster_tests) and read
# over (_alike): from the oldest judged (helm.OLDEST_KUBE; a cluster older than its vendors'
# support is judged only with `kubeVersion` configured) to four past the one Helm assumes
# offline (1.36): a cluster upgraded in the next year or so takes a branch such a test keeps
# for it (`regexMatch "^v1[.]3[7-9][.]"`) with no change to the chart.
MINORS = range(30, 41)
# How a cluster writes its version (.Version, .GitVersion, a provider's, .Major/.Minor).
_FORMS = ("v1.{}.0", "v1.{}.7", "v1.{}.7-eks-4f4795d", "v1.{}.7-gke.1067000", "1.{}", "{}")


def _literal(quoted: bytes, raw: bytes) -> str | None:
    """A template's string literal as Go reads it (None: one it cannot read)."""
    if raw or not quoted:
        return raw.decode("utf-8", "replace")
    try:
        return str(json.loads(b'"' + quoted + b'"'))
    except ValueError:
        return None


def _alike(name: bytes, literal: str | None) -> bool:
    """Whether a string test answers alike for every form of every minor of MINORS."""
    if literal is None:
        return False
    pattern = None
    if name in (b"regexMatch", b"mustRegexMatch"):
        try:
            pattern = re.compile(literal)
        except re.error:
            return False

    def test(text: str) -> bool:
        if pattern is not None:
            return pattern.search(text) is not None
        if name == b"hasPrefix":
            return text.startswith(literal)
        if name == b"hasSuffix":
            return text.endswith(literal)
        return literal in text

    return all(len({test(form.format(minor)) for minor in MINORS}) == 1 for form in _FORMS)

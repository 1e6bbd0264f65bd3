"""Map a field of a rendered Helm object back to the template line that produced it.

Go templates copy literal text verbatim, so a literal `key:` line of a template keeps its
indentation in the output. We read each template's literal key lines into key paths (by
indentation, list indices dropped) and match a rendered field's key path against them; when a
field has no literal line (it came from `toYaml`, an `include`, a dynamic key) we point at the
nearest ancestor that has one, never at a guessed exact line. Pure text work, no Helm needed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import yaml

from gatekeeper import lazy_re
from gatekeeper.fieldpath import Path
from gatekeeper.yamldoc import safe_load

_ACTION = lazy_re.compile(r"\{\{.*?\}\}")
_KEY = lazy_re.compile(
    r"""^(?P<indent>\ *)(?P<dashes>(?:-\ +)*)
    (?P<key>"[^"]*"|'[^']*'|\{\{.*?\}\}|[^\s#'"{\-][^:#]*|-[^\s:#][^:#]*)
    \s*:(?:\s+(?P<value>.*))?$""",
    re.VERBOSE,
)
_BLOCK_SCALAR = lazy_re.compile(r"^[|>][-+0-9]*\s*(#.*)?$")
# A template comment, `{{/* ... */}}` (with trim markers too), which may run over lines.
_COMMENT = lazy_re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.DOTALL)
_VALUES_REF = lazy_re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")
_VARIABLE_SET = lazy_re.compile(
    r"\$(\w+)\s*:?=\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*-?\}\}"
)
_VARIABLE_REF = lazy_re.compile(r"\$(\w+)((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")
_WITH_VALUES = lazy_re.compile(r"\{\{-?\s*with\s+\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")
DYNAMIC = "*"


class KeyLine(NamedTuple):
    line: int  # 1-based line in the template file
    column: int  # 1-based column of the key
    key: str  # the key, or DYNAMIC when it is templated
    parent: int  # line of the parent key (0: document root)
    item: int  # line of the `- ` that opened the list item this key belongs to (0: none)
    dashed: bool  # the line opens a list item
    value: str  # the text after the colon
    segment: int  # which `---`-separated part of the template
    text: str


class Template(NamedTuple):
    lines: list[str]
    keys: list[KeyLine]
    segments: int
    segment_starts: list[int]  # first line of each segment
    segment_kinds: list[str]  # the literal `kind:` of each segment ("" if none/dynamic)


def parse_template(text: str, depth: int = 0) -> Template:
    """The literal key lines of a template, each with its parent line and list item.

    `depth`: the same Template with only the keys at most that deep (1: a document's root
    keys, parent 0), which is all that locating a field that deep reads (every object's
    inventory entry asks for the top-level `metadata`; a CustomResourceDefinition has no
    `metadata.namespace`). A line indented deeper than the open key of the last kept depth
    is never a kept key and changes nothing a later kept key gets: a line at or above that
    key's column pops every deeper key (and ends any block scalar, which only a key at or
    below it opens), so those lines are skipped unread (six CRD templates of 10,000-14,000
    lines were most of the charts target's parsing)."""
    lines = _uncommented(text).splitlines()
    keys: list[KeyLine] = []
    # Open keys, innermost last: (column, line, item, whether its value is a block below).
    # Plain tuples, and the functions bound once: a chart's CRD templates run to 14,000
    # lines, and this loop was most of the cost of locating their objects.
    stack: list[tuple[int, int, int, bool]] = []
    segment = 0
    starts = [1]
    kinds = [""]
    block_indent = -1  # inside a block scalar deeper than this
    key_match, action_sub, add, new = _KEY.match, _ACTION.sub, keys.append, tuple.__new__
    deeper = ""  # with `depth`: the indentation of a line below the open deepest kept key
    for number, raw in enumerate(lines, start=1):
        if raw.startswith("---"):
            segment += 1
            starts.append(number + 1)
            kinds.append("")
            stack = []
            block_indent = -1
            continue
        if deeper and stack and raw.startswith(deeper):
            continue
        stripped = raw.strip()
        if not stripped or stripped[0] == "#":
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if block_indent >= 0:
            if indent > block_indent:
                continue
            block_indent = -1
        if ":" not in raw:
            continue  # no key on it (most lines of a long description)
        if "{{" in raw and not action_sub("", raw).strip():
            continue  # a pure action line: it emits nothing literal (see _pure_action)
        match = key_match(raw)
        if match is None:
            continue
        dashes, key, value = match.group("dashes", "key", "value")
        key_col = indent + len(dashes)
        if dashes:
            while stack and (
                stack[-1][0] > indent or (stack[-1][0] == indent and not stack[-1][3])
            ):
                stack.pop()
        item = 0
        while stack and stack[-1][0] >= key_col:
            popped = stack.pop()
            if popped[0] == key_col:
                item = popped[2]  # a sibling key continues the same list item
        if dashes:
            item = number
        key = key.strip()
        if "{{" in key:
            key = DYNAMIC
        elif key[:1] in "'\"" and key[-1:] == key[:1]:
            key = key[1:-1]
        value = value.strip() if value else ""
        literal_value = action_sub("", value).strip() if "{{" in value else value
        opens = not literal_value or literal_value[0] == "#"
        parent = stack[-1][1] if stack else 0
        if depth and len(stack) >= depth:
            continue  # (not kept: the keys below the deepest kept change nothing for the next)
        add(
            new(
                KeyLine, (number, key_col + 1, key, parent, item, bool(dashes), value, segment, raw)
            )
        )
        if not stack and key == "kind" and value and "{{" not in value:
            kinds[segment] = value.split("#")[0].strip().strip("'\"")
        if value[:1] in "|>" and value and _BLOCK_SCALAR.match(value):
            block_indent = key_col
        stack.append((key_col, number, item, opens))
        if depth:
            deeper = " " * (key_col + 1) if len(stack) == depth else ""
    return Template(lines, keys, segment + 1, starts, kinds)


def _uncommented(text: str) -> str:
    """`text` with its template comments blanked, every line kept where it was: a licence
    header `{{/* ... SPDX-License-Identifier: MPL-2.0 */}}` (on each of vault-helm's
    templates) read as a key line was where each object's own findings were said, a
    comment line."""
    if "/*" not in text:
        return text
    return _COMMENT.sub(lambda match: "\n" * match.group().count("\n"), text)


def assign_segments(template: Template, objs: list[Any]) -> list[int]:
    """Which `---` part of the template rendered each document, in one consistent reading.

    Documents come out in template order, but a part may render none (`if`) or many
    (`range`), so counting is not enough: each document goes to the part whose literal keys
    and values it shows best, the parts taken in order (a dynamic programme over
    non-decreasing assignments)."""
    parts = template.segments
    if parts == 1 or not objs:
        return [0] * len(objs)
    in_order = _one_each(template, objs)
    if in_order is not None:
        return in_order
    paths = _key_paths(template)
    by_part: list[list[KeyLine]] = [[] for _ in range(parts)]
    for key in template.keys:
        by_part[key.segment].append(key)
    scores = []
    for obj in objs:
        flat = _flatten(obj)
        scores.append(
            [_score(template, paths, by_part[part], flat, obj, part) for part in range(parts)]
        )
    # A part renders one document unless an action in it can repeat (`range`) or emit
    # `---` itself (`include`, `tpl`): a second document from any other part costs, so
    # documents that fit parts equally well (templated names) go to parts in turn.
    reuse = [0.01 if repeats else REUSE_COST for repeats in _repeating(template)]
    best = [scores[0][:]]
    back: list[list[int]] = []
    for row in scores[1:]:
        previous, out, came = best[-1], [], []
        running, running_at = float("-inf"), 0
        for part in range(parts):
            stay = previous[part] - reuse[part]
            if stay >= running:
                out.append(stay + row[part])
                came.append(part)
            else:
                out.append(running + row[part])
                came.append(running_at)
            if previous[part] > running:
                running, running_at = previous[part], part
        best.append(out)
        back.append(came)
    chosen = [max(range(parts), key=lambda part: (best[-1][part], -part))]
    for came in reversed(back):
        chosen.append(came[chosen[-1]])
    return chosen[::-1]


def _one_each(template: Template, objs: list[Any]) -> list[int] | None:
    """The parts that write, in order, when there are as many as documents, none can write
    several (no `range`, no `include` at the margin) and each literal `kind:` agrees: each
    part wrote one document. Scores cannot tell two ClusterRoles apart when the first one's
    rules come from a named template and the second lists the same API groups literally
    (elastic's eck-operator: the first was located in the second, and a rule past its
    literal items crashed the scan)."""
    writing = writing_parts("\n".join(template.lines))
    if len(writing) != len(objs):
        return None
    repeating = _repeating(template)
    for part, obj in zip(writing, objs, strict=True):
        kind = template.segment_kinds[part]
        if repeating[part] or (kind and (not isinstance(obj, dict) or obj.get("kind") != kind)):
            return None
    return writing


# An action that writes nothing where it stands: control flow, a comment, a variable set,
# a template defined (its body is written where it is included, not here). Whole, on one line.
_SILENT_ACTION = lazy_re.compile(
    r"\{\{-?\s*(?:/\*.*?\*/|(?:if|else|end|with|range|break|continue|define)\b[^{}]*"
    r"|\$\w*\s*:?=[^{}]*)\s*-?\}\}"
)


def writing_parts(text: str) -> list[int]:
    """The `---` parts of a template (as parse_template counts them) that may write anything
    but white space and comments: a literal line, or an action that writes (a value, an
    `include`, a `toYaml`; one spread over several lines, or one in a comment line, may write
    whole documents). Every rendered document comes from one of them: when there is one,
    nothing needs telling apart (a CRD wrapped in `{{- if }}` before its `---`)."""
    found: list[int] = []
    part = 0
    for line in text.splitlines():
        if line.startswith("---"):
            part += 1
            continue
        if found and found[-1] == part:
            continue
        rest = _SILENT_ACTION.sub("", line).strip() if "{{" in line else line.strip()
        if rest and ("{{" in rest or "}}" in rest or not rest.startswith("#")):
            found.append(part)
    return found


_EMITTING = lazy_re.compile(r"\b(toYaml|include|tpl|toJson)\b")
_SCALAR_ITEM = lazy_re.compile(r"^(?P<indent>\ *)-\ +(?P<value>[^\s:{\[][^:]*|\"[^\"]*\"|'[^']*')$")
_ITEM_ACTION = lazy_re.compile(
    r"\{\{-?\s*(?:range|if|else|with|block)\b|\b(?:include|template|tpl|toYaml)\b"
)
REUSE_COST = 3.0  # more than one literal value that does not match (_score)
# `range`, or a line that is only an `include`/`tpl` at the margin (a named template that
# writes whole documents; one indented into a map writes labels, not documents)
_REPEATS = lazy_re.compile(
    r"\{\{-?\s*range\b|^\{\{-?\s*(?:include|template|tpl)\b(?!.*indent).*\}\}\s*$"
)


def _repeating(template: Template) -> list[bool]:
    """Which `---` parts hold an action that may render several documents."""
    found = [False] * template.segments
    ends = [*template.segment_starts[1:], len(template.lines) + 2]
    for part, (start, end) in enumerate(zip(template.segment_starts, ends, strict=True)):
        found[part] = any(_REPEATS.search(line) for line in template.lines[start - 1 : end - 2])
    return found


def template_order(template: Template, objs: list[Any]) -> list[int]:
    """The indexes of `objs` in the order the template wrote them, from documents that the
    helm CLI sorted by kind (its install order; stable within a kind).

    Each document goes to the part whose literal keys and values it shows best, never before
    the part of the previous document of its kind, and among parts that fit equally well to
    one no document of its kind has taken yet (two `kind: ServiceAccount` parts whose names
    are templated: the second ServiceAccount is the second part's); a stable sort by part then
    restores the template's order of parts, which is what assign_segments reads."""
    parts = template.segments
    if parts == 1 or len(objs) < 2:
        return list(range(len(objs)))
    paths = _key_paths(template)
    by_part: list[list[KeyLine]] = [[] for _ in range(parts)]
    for key in template.keys:
        by_part[key.segment].append(key)
    taken: dict[str, list[int]] = {}
    chosen = []
    for obj in objs:
        flat = _flatten(obj)
        kind = str(obj.get("kind")) if isinstance(obj, dict) else ""
        before = taken.setdefault(kind, [])
        part = max(
            range(before[-1] if before else 0, parts),
            key=lambda part: (
                _score(template, paths, by_part[part], flat, obj, part),
                part not in before,
                -part,
            ),
        )
        before.append(part)
        chosen.append(part)
    return sorted(range(len(objs)), key=lambda index: chosen[index])


def _key_paths(template: Template) -> dict[int, tuple[str, ...]]:
    """Template line of each literal key -> its key path (list indices left out)."""
    paths: dict[int, tuple[str, ...]] = {}
    for key in template.keys:
        paths[key.line] = (*paths.get(key.parent, ()), key.key)
    return paths


def _flatten(obj: Any) -> dict[tuple[str, ...], set[str]]:
    """Key path (list indices left out) -> the scalar values found there, lower case."""
    flat: dict[tuple[str, ...], set[str]] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, str(key)))
        elif isinstance(node, list):
            for child in node:
                walk(child, path)
        if path:
            values = flat.setdefault(path, set())
            if not isinstance(node, (dict, list)):
                values.add("" if node is None else str(node).lower())

    walk(obj, ())
    return flat


def _score(
    template: Template,
    paths: dict[int, tuple[str, ...]],
    keys: list[KeyLine],
    flat: dict[tuple[str, ...], set[str]],
    obj: Any,
    part: int,
) -> float:
    kind = template.segment_kinds[part]
    if kind and isinstance(obj, dict) and obj.get("kind") != kind:
        return -1000.0
    score = 0.0
    for key in keys:
        path = paths[key.line]
        if DYNAMIC in path:
            continue
        if path not in flat:
            score -= 1
            continue
        literal = key.value.split(" #")[0].strip()
        if literal and "{{" not in literal and literal[0] not in "|>{[&*#":
            score += 2 if literal.strip("'\"").lower() in flat[path] else -2
        elif literal.startswith("[") and "{{" not in literal:
            score += 2 if _flow_items(literal) <= flat[path] else -2
        else:
            score += 1
    return score


@functools.lru_cache(maxsize=4096)
def _flow_items(literal: str) -> frozenset[str]:
    """The scalars of a literal flow sequence (`["get", "list"]`), lower case as _flatten
    keeps them; a sequence we cannot read holds nothing to compare."""
    try:
        items = safe_load(literal)
    except yaml.YAMLError:
        return frozenset()
    if not isinstance(items, list):
        return frozenset()
    return frozenset(
        "" if item is None else str(item).lower()
        for item in items
        if not isinstance(item, (dict, list))
    )


# Is a values path set to something true (None: not known)? See DocumentMap.truth.
Truth = Callable[[tuple[str, ...]], "bool | None"]
_CONDITION = lazy_re.compile(
    r"\{\{-?\s*(?P<word>if|else if|else|end|range|with|define|block)\b"
    r"(?:\s+(?P<not>not\s+)?\$?\.Values(?P<ref>(?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*-?\}\})?"
)


def branch_taken(lines: list[str], number: int, truth: Truth) -> bool | None:
    """Was the `if`/`else` branch holding line `number` rendered? Told only for a branch
    of `if .Values.x` (or `if not .Values.x`), or of `with .Values.x` (which renders its
    body when `if` would), whose value the values files say; None else."""
    depth = 0
    else_seen = False
    for back in range(number - 1, 0, -1):
        for match in reversed(list(_CONDITION.finditer(lines[back - 1]))):
            word = match["word"]
            if word == "end":
                depth += 1
            elif word in ("else", "else if") and depth == 0:
                if word == "else if":
                    return None
                else_seen = True
            elif word not in ("else", "else if"):
                if depth > 0:
                    depth -= 1
                    continue
                if word not in ("if", "with") or match["ref"] is None:
                    return None
                value = truth(_split(match["ref"]))
                if value is None:
                    return None
                return (value ^ bool(match["not"])) ^ else_seen
    return None


class DocumentMap:
    """Field path -> template key line, for one rendered document of one template."""

    def __init__(
        self,
        template: Template,
        obj: Any,
        doc_index: int,
        doc_count: int,
        segment: int | None = None,
        truth: Truth | None = None,
    ) -> None:
        self.template = template
        self.truth = truth
        self.obj = obj
        self.segment = segment if segment is not None else self._segment(obj, doc_index, doc_count)
        self.keys = [
            key for key in template.keys if self.segment is None or key.segment == self.segment
        ]
        self._index: dict[tuple[int, int | None], list[KeyLine]] | None = None
        # _fitting_items by the list's parent line and rendered list (of self.obj, which
        # the map holds): each item of the list asks the same
        self._fitting: dict[tuple[int, int], list[KeyLine] | None] = {}

    def _under(self, parent: int, item: int | None = None) -> list[KeyLine]:
        """The keys whose parent key is at line `parent` (and whose list item is at `item`,
        unless None), in order: indexed once per map, where each step of each path located
        had filtered every key of the template (a ClusterRole's hundred rules: quadratic)."""
        if self._index is None:
            self._index = {}
            for key in self.keys:
                self._index.setdefault((key.parent, None), []).append(key)
                self._index.setdefault((key.parent, key.item), []).append(key)
        return self._index.get((parent, item), [])

    def _segment(self, obj: Any, doc_index: int, doc_count: int) -> int | None:
        template = self.template
        if template.segments == 1:
            return 0
        kind = obj.get("kind") if isinstance(obj, dict) else None
        same_kind = [i for i, k in enumerate(template.segment_kinds) if k and k == kind]
        if len(same_kind) == 1:
            return same_kind[0]
        if doc_count == template.segments:
            return doc_index
        return None  # ambiguous: match against the whole file

    def start_line(self) -> int:
        if self.segment is not None:
            own = [key.line for key in self.keys]
            return min(own) if own else self.template.segment_starts[self.segment]
        return self.keys[0].line if self.keys else 1

    def resolve(self, path: Path) -> tuple[KeyLine, bool] | None:
        """The literal template line of exactly this field (for a list item: the line of its
        `- `, flagged True), or None when no single line is certain."""
        parent, item = 0, 0
        node = self.obj
        found: tuple[KeyLine, bool] | None = None
        for step in path:
            if isinstance(step, int):
                if not isinstance(node, list) or not -len(node) <= step < len(node):
                    return None
                items = node
                node = node[step]
                if not isinstance(node, dict) or not node:
                    return None
                first = next(iter(node))
                candidates = [
                    key
                    for key in self._under(parent)
                    if key.dashed and key.key in (str(first), DYNAMIC)
                ]
                chosen = _choose(candidates, node[first])
                if chosen is None and len(candidates) > 1:
                    chosen = self._item(parent, items, step % len(items))
                if chosen is None and not candidates and self._reordered(parent, items):
                    chosen = self._item(parent, items, step % len(items))
                if chosen is None:
                    return None
                item = chosen.line
                found = (chosen, True)
            else:
                if not isinstance(node, dict) or step not in node:
                    return None
                node = node[step]
                candidates = [
                    key for key in self._under(parent, item) if key.key in (step, DYNAMIC)
                ]
                chosen = _choose(candidates, node)
                if chosen is None and len(candidates) > 1 and self.truth is not None:
                    chosen = self._taken(candidates)
                if chosen is None:
                    return None
                parent, item = chosen.line, 0
                found = (chosen, False)
        return found

    def _reordered(self, parent: int, items: list[Any]) -> bool:
        """Could the rendered items be the `- ` items under the key at `parent`, their keys
        come out in another order? `include "x.podTemplate" . | fromYaml | toYaml` sorts
        them (traefik's pod template: its container's first key is `args`, its `- ` line
        writes `image:`, and every container finding was said at `containers:`). Only when
        as many are rendered as written, each holding a key its `- ` line writes (an item a
        `toYaml` of values adds is not one of them); `_item` then decides by the items'
        literal values, as when the first key cannot tell."""
        dashed = [key for key in self._under(parent) if key.dashed]
        return len(dashed) == len(items) and all(
            isinstance(item, dict) and key.key in item
            for key, item in zip(dashed, items, strict=True)
        )

    def _taken(self, candidates: list[KeyLine]) -> KeyLine | None:
        """The one candidate line in the branch the values took (`if .Values.tag` then
        `image:`, `else` then another `image:`), when the values say which."""
        assert self.truth is not None
        lines = self.template.lines
        taken = [key for key in candidates if branch_taken(lines, key.line, self.truth) is True]
        return taken[0] if len(taken) == 1 else None

    def _item(self, parent: int, items: list[Any], index: int) -> KeyLine | None:
        """The `- ` line of list item `index` under the key at `parent`, when the first key
        cannot tell (RBAC rules all begin with `apiGroups:`, a list): the one item whose
        literal values show in the rendered item and none contradicts, else the index-th
        `- ` when the template writes its items with no action and as many as rendered."""
        dashed = [key for key in self._under(parent) if key.dashed]
        node = items[index]
        literal = self._literal(parent)
        agreeing = []
        unrefuted = []
        for item in dashed:
            said = [
                self._agrees(key, node[key.key])
                if key.key in node
                else (False if literal else None)
                for key in self._under(parent, item.line)
                if key.key != DYNAMIC
            ]
            if False not in said:
                unrefuted.append(item)
            if False not in said and (literal or True in said):
                agreeing.append(item)
        if len(agreeing) == 1:
            return agreeing[0]
        if literal and len(dashed) == len(items) and dashed[index] in agreeing:
            return dashed[index]
        fixed = self._fixed_items(parent, dashed)
        if index < len(fixed) and fixed[index] in unrefuted:
            return fixed[index]  # `- name: {{ .name }}` before `range .sidecarContainers`
        others = [key for key in dashed if key not in fixed]
        alone = others and others == unrefuted[-1:]  # no other item: nothing to point at
        if alone and index >= len(fixed) and not self._emits_items(dashed):
            return others[0]  # the one item written after them: `range` repeats it
        decided = self._decided_items(parent, dashed)
        if decided is not None and len(decided) == len(items) and decided[index] in unrefuted:
            return decided[index]
        key = (parent, id(items))
        if key not in self._fitting:
            self._fitting[key] = self._fitting_items(parent, dashed, items)
        fitting = self._fitting[key]
        if fitting is not None and fitting[index] in unrefuted:
            return fitting[index]
        return None

    def _fitting_items(
        self, parent: int, dashed: list[KeyLine], items: list[Any]
    ) -> list[KeyLine] | None:
        """The literal `- ` items under the key at `parent` that were rendered, when an `if`
        the values cannot decide (`if ne .Values.destCNIBinDir .Values.destCNINetDir`, then
        two volumes, `else` one of the same name: linkerd2-cni's `cni-net-dir` was said at
        `volumes:`) is decided by what rendered: of the ways such `if`s (three at most) may
        go, exactly one renders as many items as were rendered, each showing its literal
        values (none contradicted, at least one seen). None else."""
        found: set[tuple[int, ...]] = set()
        fits: list[list[KeyLine]] = []

        def search(assume: dict[int, bool]) -> None:
            undecided: list[int] = []
            rendered = self._decided_items(parent, dashed, assume, undecided)
            if rendered is not None:
                lines = tuple(item.line for item in rendered)
                if lines not in found and self._fit(parent, rendered, items):
                    found.add(lines)
                    fits.append(rendered)
                return
            new = [number for number in undecided if number not in assume]
            if new and len(assume) < 3:
                for value in (True, False):
                    search({**assume, new[0]: value})

        search({})
        return fits[0] if len(fits) == 1 and len(found) == 1 else None

    def _fit(self, parent: int, rendered: list[KeyLine], items: list[Any]) -> bool:
        """Does each written item of `rendered` show in the rendered item at its place?"""
        if len(rendered) != len(items):
            return False
        for item, node in zip(rendered, items, strict=True):
            if not isinstance(node, dict):
                return False
            said = [
                self._agrees(key, node[key.key])
                for key in self._under(parent, item.line)
                if key.key != DYNAMIC and key.key in node
            ]
            if False in said or True not in said:
                return False
        return True

    def _decided_items(
        self,
        parent: int,
        dashed: list[KeyLine],
        assume: dict[int, bool] | None = None,
        undecided: list[int] | None = None,
    ) -> list[KeyLine] | None:
        """The literal `- ` items under the key at `parent` that were rendered, first to last,
        when the only actions between them are `if`s the values decide (prometheus' server
        Deployment: `{{- if .Values.configmapReload.prometheus.enabled }}` around the reload
        container, then the server's: both containers' findings were said at `containers:`)
        and actions in a branch not taken; None when anything else could add or drop one.
        An action inside an item (from its `- ` to its last key, or indented past its dash)
        changes only that item. `assume`: how the `if` at a line goes when the values cannot
        say; `undecided` gets the lines of those they cannot say and nothing assumes."""
        if self.truth is None or not dashed:
            return None
        lines = self.template.lines
        dash = min(len(k.text) - len(k.text.lstrip()) for k in dashed)
        spans = [(item.line, max(k.line for k in self._under(parent, item.line))) for item in dashed]  # noqa: E501
        end = self._list_end(parent)
        if end is None:
            return None
        rendered_from = dashed[0].line  # an action after it may write into an item
        blocks: list[bool | None] = []  # the blocks opened between the items: rendered?
        opened: list[int] = []  # their lines
        rendered: list[KeyLine] = []
        following = iter(dashed)
        item = next(following, None)
        for number in range(parent + 1, end):
            if item is not None and number == item.line:
                if None in blocks and False not in blocks:
                    return None  # in a branch the values do not decide
                if False not in blocks:
                    rendered.append(item)
                item = next(following, None)
                continue
            text = lines[number - 1]
            inside = any(first <= number <= last for first, last in spans)
            if inside or not _pure_action(text) or len(text) - len(text.lstrip()) > dash:
                continue
            words = [match["word"] for match in _CONDITION.finditer(text)]
            skipped = False in blocks
            if len(words) > 1:
                return None
            if words == ["if"]:
                taken = branch_taken(lines, number + 1, self.truth)
                if taken is None and assume and number in assume:
                    taken = assume[number]
                elif taken is None and undecided is not None:
                    undecided.append(number)
                blocks.append(taken)
                opened.append(number)
            elif words == ["else"] and blocks:
                taken = branch_taken(lines, number + 1, self.truth)
                if taken is None and assume and opened[-1] in assume:
                    taken = not assume[opened[-1]]
                blocks[-1] = taken
            elif words == ["end"] and blocks:
                blocks.pop()
                opened.pop()
            elif words and words[0] not in ("else", "else if", "end") and skipped:
                blocks.append(False)  # a `range` in a branch not taken
                opened.append(number)
            elif not words and (skipped or (rendered_from < number and _deeper(text, dash))):
                continue  # not rendered, or writes inside the item above (`indent 12`)
            else:
                return None  # `range`, `include`, `toYaml` of items, `else if`...
        # a block still open was opened before the list's next key (`if .Values.hostNetwork`)
        return rendered if all(line > dashed[-1].line for line in opened) else None

    def _list_end(self, parent: int) -> int | None:
        """The line after the block under the key at `parent` (its segment's end at most)."""
        opener = next((key for key in self.keys if key.line == parent), None)
        if opener is None:
            return None
        starts = self.template.segment_starts
        part_end = starts[opener.segment + 1] - 1 if opener.segment + 1 < len(starts) else 0
        return next(
            (key.line for key in self.keys if key.line > parent and key.column <= opener.column),
            part_end or len(self.template.lines) + 1,
        )

    def _emits_items(self, dashed: list[KeyLine]) -> bool:
        """Does an action at the level of the `- ` items `dashed` (`toYaml`, `include`)
        write more items besides them, up to the end of their list?"""
        opener = next((key for key in self.keys if key.line == dashed[0].parent), None)
        if opener is None:
            return True
        lines = self.template.lines
        end = self._end_of(opener)
        dash = min(len(k.text) - len(k.text.lstrip()) for k in dashed)
        return any(
            _pure_action(line) and _EMITTING.search(line) and len(line) - len(line.lstrip()) <= dash
            for line in lines[opener.line : end - 1]
        )

    def _fixed_items(self, parent: int, dashed: list[KeyLine]) -> list[KeyLine]:
        """The literal `- ` items under the key at `parent` that are always rendered, first
        to last: those before any action at their level that could add or drop one (`if`,
        `range`, `include`, ...; an action inside an item's body changes only that item)."""
        lines = self.template.lines
        dash = min((len(k.text) - len(k.text.lstrip()) for k in dashed), default=0)
        fixed: list[KeyLine] = []
        start = parent
        for item in dashed:
            for line in lines[start : item.line - 1]:
                indent = len(line) - len(line.lstrip())
                if _pure_action(line) and _ITEM_ACTION.search(line) and indent <= dash:
                    return fixed
            fixed.append(item)
            start = item.line
        return fixed

    def _agrees(self, key: KeyLine, value: Any) -> bool | None:
        """Did this key line render `value`? Its literal value, or the literal scalars it
        lists on the lines below (`verbs:` then `- get`), must be the value's; None when
        the line cannot tell (a templated value, a body an action writes)."""
        if key.value.split(" #")[0].strip() or not isinstance(value, list):
            return _agrees(key.value, value)
        indent = key.column - 1 - (2 if key.dashed else 0)
        listed: list[str] = []
        rendered = ["" if v is None else str(v).lower() for v in value]
        for text in self.template.lines[key.line :]:
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if "{{" in text:  # an action in or after the list may add scalars, not drop them
                return False if any(item not in rendered for item in listed) else None
            match = _SCALAR_ITEM.match(text)
            if match is None or len(match["indent"]) < indent:
                break
            listed.append(match["value"].split(" #")[0].strip().strip("'\"").lower())
        return listed == rendered if listed else None

    def _literal(self, parent: int) -> bool:
        """Does the block under the key at `parent` write its list items with no action that
        could add, drop or repeat one (`if`, `range`, `include`)?"""
        opener = next((key for key in self.keys if key.line == parent), None)
        if opener is None:
            return False
        lines = self.template.lines
        starts = self.template.segment_starts
        part_end = starts[opener.segment + 1] - 1 if opener.segment + 1 < len(starts) else 0
        end = next(
            (key.line for key in self.keys if key.line > parent and key.column <= opener.column),
            part_end or len(lines) + 1,
        )
        return not any(_ITEM_ACTION.search(line) for line in lines[parent : end - 1])

    def _variable(self, name: str, number: int) -> tuple[str, ...] | None:
        """The values path a template variable holds at line `number`: its nearest
        assignment above (`{{- $config := $.Values.config }}`), or None."""
        for back in range(number - 1, 0, -1):
            for match in _VARIABLE_SET.finditer(self.template.lines[back - 1]):
                if match.group(1) == name:
                    return _split(match.group(2)) if match.group(2) else ()
        return None

    def generator(self, key: KeyLine) -> tuple[int, str] | None:
        """The action that emits the body of a literal `key:` line (`toYaml`, `include`)."""
        lines = self.template.lines
        value = _KEY.match(key.text)
        if value and value["value"] and "{{" in value["value"]:
            return key.line, key.text
        for number in range(key.line + 1, min(key.line + 4, len(lines) + 1)):
            text = lines[number - 1]
            stripped = text.strip()
            if not stripped:
                continue
            if _ACTION.sub("", text).strip():
                return None  # a literal line: the body is literal
            if _EMITTING.search(stripped) and not self._skipped(number):
                return number, text
        return None

    def child_generator(self, key: KeyLine, child: str) -> tuple[int, str] | None:
        """The action that emits `child` of a literal `key:` whose block writes other keys
        literally and that one through a single action at their level (opentelemetry-
        collector's Deployment: `spec:`, `dnsPolicy:` and the like under `with`s, then
        `{{- include "opentelemetry-collector.pod" ... | nindent 6 }}`: every container
        finding was said at `spec:`). None when `child` is written literally there, or when
        not exactly one pure `toYaml`/`include` line at the children's level, that the values
        render, is in the block."""
        lines = self.template.lines
        under = [k for k in self.keys if k.parent == key.line]
        if not under or any(k.key in (child, DYNAMIC) for k in under):
            return None
        level = min(k.column for k in under) - 1  # the children's indentation
        end = self._end_of(key)
        actions = [
            number
            for number in range(key.line + 1, end)
            if _pure_action(lines[number - 1])
            and _EMITTING.search(lines[number - 1])
            and len(lines[number - 1]) - len(lines[number - 1].lstrip()) == level
            and not self._skipped(number)
        ]
        return (actions[0], lines[actions[0] - 1]) if len(actions) == 1 else None

    def _end_of(self, key: KeyLine) -> int:
        """The line that ends `key`'s block: the next key at or left of its column, else
        the line after the template's last."""
        return next(
            (k.line for k in self.keys if k.line > key.line and k.column <= key.column),
            len(self.template.lines) + 1,
        )

    def _skipped(self, number: int) -> bool:
        """Is line `number` in a block the values do not render (`if .Values.x` or `with
        .Values.x` of an empty or false value)? jenkins' `tpl (toYaml .customInitContainers)`
        (empty) wrote no init container, its `include "jenkins.configReloadContainer"` did."""
        truth = self.truth
        return truth is not None and branch_taken(self.template.lines, number, truth) is False

    def item_generator(self, key: KeyLine, index: int) -> tuple[int, str, int] | None:
        """The action that emits list item `index` of the literal list under `key` when no
        literal `- ` line wrote it: the one `toYaml`/`include`/`tpl` line of its block after
        its literal items (`volumes:`, `- name: config`, then `toYaml .Values.volumes`), with
        the item's index among what that action emits (the literal items come first)."""
        lines = self.template.lines
        end = self._end_of(key)
        actions = [
            number
            for number in range(key.line + 1, end)
            if _EMITTING.search(lines[number - 1])
            and _pure_action(lines[number - 1])
            # not one the values skip: promtail's `with .Values.extraVolumes` ([]) after its
            # `with .Values.defaultVolumes` (every hostPath was said at `volumes:`)
            and not self._skipped(number)
        ]
        if len(actions) != 1:
            return None
        number = actions[0]
        before = [k for k in self._under(key.line) if k.dashed and k.line < number]
        if len(self._fixed_items(key.line, before)) < len(before):
            return None  # literal items behind a condition or a loop: how many is unknown
        if index < len(before):
            return None
        return number, lines[number - 1], index - len(before)

    def values_refs(
        self, number: int, text: str, defines: dict[str, list[tuple[str, ...]]] | None = None
    ) -> list[tuple[str, ...]]:
        """The values paths a template line reads: `.Values.a.b` (several on an image line),
        `toYaml .` inside `with .Values.a.b`, or what a named template it includes reads."""
        refs = list(dict.fromkeys(_split(match.group(1)) for match in _VALUES_REF.finditer(text)))
        for match in _VARIABLE_REF.finditer(text):
            base = self._variable(match.group(1), number)
            ref = (*base, *_split(match.group(2))) if base is not None else None
            if ref and ref not in refs:
                refs.append(ref)
        if not refs and re.search(r"\btoYaml\s+\.\s*(\||\}\})", text):
            for back in range(number - 1, max(number - 6, 0), -1):
                with_match = _WITH_VALUES.search(self.template.lines[back - 1])
                if with_match:
                    return [_split(with_match.group(1))]
        for name in _INCLUDE.findall(text):
            read = (defines or {}).get(name, [])
            included = _summarised([ref for ref in read if ref != RELEASE_NAMESPACE])
            refs.extend(ref for ref in included if ref not in refs)
        return refs


def named_fields(
    text: str, named: dict[str, list[tuple[str, ...]]], rest: tuple[Any, ...]
) -> list[tuple[str, ...]]:
    """The values paths the named templates a line includes read that end with the field
    `rest` written inside them (`securityContext: {{ include "x.securityContext" . }}`,
    whose define writes `readOnlyRootFilesystem: {{ .Values.image.readOnlyRootFilesystem }}`)."""
    if not rest or not all(isinstance(step, str) for step in rest):
        return []
    found: list[tuple[str, ...]] = []
    for name in _INCLUDE.findall(text):
        for ref in named.get(name, []):
            if ref[-len(rest) :] == rest and ref != RELEASE_NAMESPACE and ref not in found:
                found.append(ref)
    return found


def _deeper(line: str, dash: int) -> bool:
    """Does the action on `line` write its text indented past column `dash` (`toYaml . |
    indent 12` under items at 8: inside an item, not items of its own)?"""
    widths = [int(width) for width in _INDENTED.findall(line)]
    return bool(widths) and min(widths) > dash


_INDENTED = lazy_re.compile(r"\bn?indent\s+(\d+)")


def _pure_action(line: str) -> bool:
    """Is the line only template actions (it writes nothing literal)?"""
    return "{{" in line and not _ACTION.sub("", line).strip()


def _summarised(refs: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """What a named template reads, said briefly: the block they share (`image` for
    `image.registry`, `image.repository`, `image.tag`, ...), else a few paths, else nothing
    (a template reading many unrelated values renders a whole spec, not one value)."""
    local = [ref for ref in refs if ref[0] != "global"]
    if len(local) > 2:
        shared = local[0]
        for ref in local[1:]:
            length = 0
            while length < min(len(shared), len(ref)) and shared[length] == ref[length]:
                length += 1
            shared = shared[:length]
        if shared:
            return [shared]
    return refs if len(refs) <= MAX_INCLUDED_REFS else []


def _split(ref: str) -> tuple[str, ...]:
    return tuple(ref.lstrip(".").split("."))


_DEFINE = lazy_re.compile(r"\{\{-?\s*define\s+\"([^\"]+)\"")
_INCLUDE = lazy_re.compile(r"\b(?:include|template)\s+\"([^\"]+)\"")
_BLOCK_ACTION = lazy_re.compile(r"\{\{-?\s*(if|range|with|define|block|end)\b")
# Where _BLOCK_ACTION finds a define, and more.
_DEFINE_ACTION = lazy_re.compile(r"\{\{-?\s*define\b")
MAX_INCLUDED_REFS = 4  # a named template reading more is a whole spec, not one value


# What `defines` records for a named template that reads the release's namespace (no
# values path: values_refs leaves it out).
RELEASE_NAMESPACE = ("$Release", "Namespace")


def reads_release_namespace(text: str, named: dict[str, list[tuple[str, ...]]]) -> bool:
    """Does a template line write `.Release.Namespace`, itself or through a named template
    (`{{ include "x.namespace" . }}`: `default .Release.Namespace .Values.namespaceOverride`)?"""
    if ".Release.Namespace" in text:
        return True
    return any(RELEASE_NAMESPACE in named.get(name, []) for name in _INCLUDE.findall(text))


_RANGED_MAP = lazy_re.compile(
    r"\{\{-?\s*range\s+\$\w+\s*,\s*\$\w+\s*:=\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)"
)
_RELATIVE_REF = lazy_re.compile(
    r"(?<![\w$)\]])\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
)
_BUILTINS = frozenset({"Values", "Release", "Chart", "Capabilities", "Template", "Files"})


def ranged_values(text: str) -> tuple[str, ...] | None:
    """The values map a template's one `range $key, $value := .Values.x` runs over."""
    found = {match.group(1) for match in _RANGED_MAP.finditer(text)}
    return _split(found.pop()) if len(found) == 1 else None


def relative_refs(text: str) -> list[tuple[str, ...]]:
    """The paths a line's actions read from `.` (`toYaml .initContainers`), not builtins."""
    refs: list[tuple[str, ...]] = []
    for action in _ACTION.finditer(text):
        for match in _RELATIVE_REF.finditer(action.group(0)):
            ref = _split(match.group(1))
            if ref[0] not in _BUILTINS and ref not in refs:
                refs.append(ref)
    return refs


_REQUIRED = lazy_re.compile(
    r"\brequired\s+(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|`[^`]*`)\s+\(?\$?\.Values"
    r"((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)"
)
_FAIL = lazy_re.compile(r"\{\{-?\s*fail\b")
_IF_LINE = lazy_re.compile(r"\{\{-?\s*(?:if|else\s+if)\b")


def required_refs(text: str) -> list[tuple[str, ...]]:
    """The values paths a template passes to `required` (`required "..." .Values.x`)."""
    found: list[tuple[str, ...]] = []
    for match in _REQUIRED.finditer(text):
        ref = _split(match.group(1))
        if ref not in found:
            found.append(ref)
    return found


# `$app := .Values.server`, and VictoriaMetrics' `$Values := (.helm).Values | default .Values`
# (a named template called with the chart's context or a dict holding it): a variable that
# names a part of the values, read by the `if` before a `fail` (`if empty $Values.remoteWrite`).
_VALUES_ALIAS = lazy_re.compile(
    r"\$(\w+)\s*:?=\s*(?:\(\.helm\)\.Values\s*\|\s*default\s+)?\$?\.Values"
    r"((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*-?\}\}"
)


def required_values(text: str) -> list[tuple[str, ...]]:
    """The values paths a template requires: `required "..." .Values.x`, and those the
    `if` lines just above a `fail` test (`if not .Values.image.repository` then `fail`),
    directly or through a variable holding a part of the values (`$app.datasource.url`)."""
    lines = text.splitlines()
    aliases = {
        match.group(1): _split(match.group(2)) if match.group(2) else ()
        for match in _VALUES_ALIAS.finditer(text)
    }
    found: list[tuple[str, ...]] = []
    for number, line in enumerate(lines):
        refs = [_split(match.group(1)) for match in _REQUIRED.finditer(line)]
        if _FAIL.search(line):
            for above in lines[max(number - 8, 0) : number + 1]:
                if _IF_LINE.search(above):
                    refs += [_split(match.group(1)) for match in _VALUES_REF.finditer(above)]
                    refs += [
                        (*aliases[match.group(1)], *_split(match.group(2)))
                        for match in _VARIABLE_REF.finditer(above)
                        if match.group(1) in aliases
                    ]
        found += [ref for ref in refs if ref not in found]
    return found


def included_names(text: str) -> list[str]:
    """The named templates a template includes (`include "x"`, `template "x"`)."""
    return list(dict.fromkeys(_INCLUDE.findall(text)))


def define_spans(lines: list[str]) -> Iterator[tuple[str, int, int]]:
    """(name, first line, last line) of each top-level `define` body of a template file,
    lines counted from 1 (the `define` and its `end` lines excluded)."""
    name, depth, start = "", 0, 0
    for number, line in enumerate(lines, start=1):
        for action in _BLOCK_ACTION.finditer(line):
            word = action.group(1)
            if word == "define" and depth == 0:
                found = _DEFINE.search(line, action.start())
                name, start = (found.group(1) if found else ""), number + 1
            if word == "end":
                depth -= 1
                if depth == 0 and name:
                    yield name, start, number - 1
                    name = ""
            else:
                depth += 1


def defines(texts: list[str]) -> dict[str, list[tuple[str, ...]]]:
    """Named templates (`define "x"`) of a chart -> the values paths each reads, following
    the templates it includes in turn (and RELEASE_NAMESPACE if it reads that)."""
    direct: dict[str, list[tuple[str, ...]]] = {}
    includes: dict[str, list[str]] = {}
    for text in texts:
        if _DEFINE_ACTION.search(text) is None:
            continue  # defines nothing (a CRD's descriptions say "define": 12,000 lines each)
        name, depth = "", 0
        for line in text.splitlines():
            for action in _BLOCK_ACTION.finditer(line):
                word = action.group(1)
                if word == "define" and depth == 0:
                    found = _DEFINE.search(line, action.start())
                    name = found.group(1) if found else ""
                    direct.setdefault(name, [])
                    includes.setdefault(name, [])
                if word == "end":
                    depth -= 1
                    if depth == 0:
                        name = ""
                else:
                    depth += 1
            if name:
                for match in _VALUES_REF.finditer(line):
                    ref = _split(match.group(1))
                    if ref not in direct[name]:
                        direct[name].append(ref)
                if ".Release.Namespace" in line and RELEASE_NAMESPACE not in direct[name]:
                    direct[name].append(RELEASE_NAMESPACE)
                includes[name].extend(_INCLUDE.findall(line))
    resolved: dict[str, list[tuple[str, ...]]] = {}

    def refs_of(name: str, seen: frozenset[str]) -> list[tuple[str, ...]]:
        if name in resolved:
            return resolved[name]
        out = list(direct.get(name, []))
        for other in includes.get(name, []):
            if other not in seen:
                out.extend(r for r in refs_of(other, seen | {other}) if r not in out)
        resolved[name] = out
        return out

    for name in direct:
        refs_of(name, frozenset({name}))
    return resolved


def _choose(candidates: list[KeyLine], value: Any) -> KeyLine | None:
    """One candidate line, or None: several lines could have produced the value."""
    scalar = not isinstance(value, (dict, list))
    # compared with literal scalars only: never the text of a whole map (a CRD's spec)
    rendered = "" if value is None or not scalar else str(value).lower()
    if len(candidates) == 1:
        only = candidates[0]
        plain = only.value and "{{" not in only.value and only.value[0] not in "|>{[&*#"
        if scalar and plain and only.value.strip("'\"").lower() != rendered:
            return None  # that literal line did not produce this value
        return only
    if scalar and candidates:
        literal = [
            key
            for key in candidates
            if "{{" not in key.value and key.value.strip("'\"").lower() == rendered
        ]
        if len(literal) == 1:
            return literal[0]
        named = [key for key in candidates if key.key != DYNAMIC]
        if not literal and len(named) == 1 and _agrees(named[0].value, value) is None:
            # The one line writing this key as it is named, with a value that could render
            # it (a block, an action), over a `{{ $name }}:` line of a range beside it: a
            # ConfigMap's `job.yaml: |` next to `{{ $name }}: |` for custom entries.
            return named[0]
        dynamic = [key for key in candidates if "{{" in key.value or key.key == DYNAMIC]
        if not literal and len(dynamic) == 1:
            return dynamic[0]
    return None


def _agrees(text: str, value: Any) -> bool | None:
    """Did the literal value text of a key line render `value`? None: a templated value,
    a block (`|`, or a body on the lines below) or an anchor could render anything."""
    literal = text.split(" #")[0].strip()
    if not literal or "{{" in literal or literal[0] in "|>&*#":
        return None
    if literal[0] in "[{":
        parsed = _flow_value(literal)
        return None if parsed is _UNREADABLE else bool(parsed == value)
    if isinstance(value, (dict, list)):
        return False
    rendered = "" if value is None else str(value).lower()
    return literal.strip("'\"").lower() == rendered


_UNREADABLE = object()


@functools.lru_cache(maxsize=1024)
def _flow_value(literal: str) -> Any:
    """A flow collection's value (`["list", "watch"]`), _UNREADABLE when YAML cannot read
    it: read once per text (PyYAML's pure parser: the RBAC rules of kube-prometheus-stack's
    renderings asked it 228 times for 17 texts, 14 ms of its hook). Only compared, never
    changed."""
    try:
        return safe_load(literal)
    except yaml.YAMLError:
        return _UNREADABLE


def ancestors(path: Path) -> Iterator[Path]:
    """`path` itself, then each ancestor up to the root."""
    for length in range(len(path), -1, -1):
        yield path[:length]

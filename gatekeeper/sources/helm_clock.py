"""Chart branches decided by the clock, by chance or by the Helm version, which no one
offline rendering judges.

`{{ if gt (now | date "2006" | atoi) 2026 }}privileged: true{{ end }}` renders compliant
today and privileged on the first re-render of the new year (Argo CD refreshes, Flux
reconciles), with no commit to review; a branch on `randInt` is taken one time in N. What a
chart renders is judged as it renders now, so such a condition is said where it is written;
so is one on `.Capabilities.HelmVersion` (rendered here with Helm 4, by Argo CD with Helm 3).
Two more are decided where the chart is deployed (red team round 6): `getHostByName`, which
resolves a name for a deployer that enables DNS (`helm --enable-dns`, Flux's AllowDNSLookups),
so whoever answers for the name flips the branch; and `.Release.Revision` compared with
anything but 1 (`gt .Release.Revision 3`: the fourth `helm upgrade`), a counter no rendering
here reaches (the first install and the first upgrade, revisions 1 and 2, are rendered).
A guard whose only branch is `fail` (`{{ if semverCompare "<3.9" ... }}{{ fail ... }}{{ end }}`)
is not said: it either stops the render or changes nothing that is deployed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.document import Problem
from gatekeeper.sources.helm_lookup import ACTION, evaluated

if TYPE_CHECKING:
    from gatekeeper.sources.helm_facts import Facts

# An action that reads the clock or a random value and does anything with it but format it:
# a condition, a comparison, `contains`, `ternary`... (`privileged: {{ gt (now | date "2006" |
# atoi) 2026 }}`, `{{ now | date "06" | contains "27" }}`). A timestamp annotation, a
# generated password (`{{ randAlphaNum 16 | b64enc }}`) or a random hex digit decides nothing:
# every function such an action calls is one that only makes or formats the value.
_COMMENT = lazy_re.compile(rb"\{\{-?\s*/\*")
_CHANCE = lazy_re.compile(
    rb"(?<![\w.$-])(now|randInt|randNumeric|randAlpha|randAlphaNum|randAscii|randBytes|uuidv4"
    rb"|getHostByName)(?![\w-])|(\.Capabilities\.HelmVersion)\b|(\.Release\.Revision)\b"
)
# Words every match of _CHANCE holds.
_WORDS = (b"now", b"rand", b"uuidv4", b"HelmVersion", b"getHostByName", b"Revision")
_ANY_WORD = lazy_re.compile(b"|".join(_WORDS))  # (one search an action, not one `in` a word)
# String literals, variables and fields: what is left of an action is its functions.
_NOT_A_FUNCTION = lazy_re.compile(
    rb'"(?:[^"\\]|\\.)*"|`[^`]*`|\$[\w.]*|\.[\w.]+|(?<![\w.])-?\d[\w.]*'
)
_WORD = lazy_re.compile(rb"[A-Za-z_]\w*")
_STRING = lazy_re.compile(rb'"(?:[^"\\]|\\.)*"|`[^`]*`')
_FORMATS_ONLY = frozenset(
    {
        b"now", b"date", b"dateInZone", b"unixEpoch", b"htmlDate", b"htmlDateInZone",
        b"dateModify", b"mustDateModify", b"toDate", b"mustToDate", b"ago", b"randAlphaNum",
        b"randAlpha", b"randNumeric", b"randAscii",
        b"randBytes", b"randInt", b"uuidv4", b"toString", b"quote", b"squote", b"b64enc",
        b"sha256sum", b"sha1sum", b"trunc", b"upper", b"lower", b"printf", b"print",
        b"atoi", b"mod", b"nindent", b"indent", b"toYaml", b"toJson", b"replace", b"trim",
        b"nospace", b"end", b"default", b"coalesce", b"append", b"list", b"join", b"dict",
        b"b64dec", b"urlquery", b"sha512sum", b"adler32sum", b"toPrettyJson", b"getHostByName",
    }
)  # fmt: skip
# What an action may do with `.Release.Revision` and still only tell the first install from
# an upgrade (compared with the number 1), which the upgrade rendering judges.
_INSTALL_OR_UPGRADE = frozenset(
    {b"if", b"else", b"eq", b"ne", b"gt", b"ge", b"lt", b"le", b"int", b"int64", b"and", b"or",
     b"not"}
)  # fmt: skip
_NUMBER = lazy_re.compile(rb"(?<![\w.$])-?\d[\w.]*")


_IF = lazy_re.compile(rb"\{\{-?\s*if\b")
_OPENS = lazy_re.compile(rb"\{\{-?\s*(if|range|with|define|block)\b")
_END = lazy_re.compile(rb"\{\{-?\s*end\b")
_FAIL = lazy_re.compile(rb"\{\{-?\s*fail\b")


def _only_fails(content: bytes, action: re.Match[bytes]) -> bool:
    """Whether an `if` action's branch, up to its `end`, does nothing but `fail`.

    Any text, `else`, nested block or other action in the branch renders something, so
    the branch is judged as any other.
    """
    if not _IF.match(action.group()):
        return False
    failed = False
    position = action.end()
    for inner in ACTION.finditer(content, position):
        if content[position : inner.start()].strip():
            return False
        text = inner.group()
        if _END.match(text):
            return failed
        if _COMMENT.match(text):
            pass
        elif _FAIL.match(text) and not _OPENS.match(text):
            failed = True
        else:
            return False
        position = inner.end()
    return False


def _decides(action: bytes) -> bool:
    """Whether an action does more with a value than make or format it."""
    words = _WORD.findall(_NOT_A_FUNCTION.sub(b" ", action.strip(b"{}-")))
    return any(word not in _FORMATS_ONLY for word in words)


def _install_or_upgrade(action: bytes) -> bool:
    """Whether an action reading `.Release.Revision` only compares it with 1 (`gt
    .Release.Revision 1`, `eq ... 1`): revisions 1 and 2, both rendered, decide it."""
    words = set(_WORD.findall(_NOT_A_FUNCTION.sub(b" ", action.strip(b"{}-"))))
    numbers = _NUMBER.findall(action)
    return words <= _INSTALL_OR_UPGRADE and all(number == b"1" for number in numbers)


def problems(
    files: list[tuple[str, bytes]],
    chart_dir: str,
    subcharts: dict[str, str] | None = None,
    facts: Facts | None = None,
) -> list[Problem]:
    """One finding per template action deciding on the clock or chance, at its line (a
    dependency's, charts/<name>/..., in its folder: `subcharts`, as helm.repo_path); what
    the files say kept between hook runs in `facts` (helm_facts)."""
    from gatekeeper.sources.helm import repo_path

    found = _found(files) if facts is None else facts.kept("clock", lambda: _found(files), _valid)
    return [
        Problem("GK-HELM-CLOCK", repo_path(f"chart/{name}", chart_dir, subcharts), line, message)
        for name, line, message in found
    ]


def _valid(value: Any) -> bool:
    """What _found gives, as JSON keeps it: [name, line, message] each."""
    return isinstance(value, list) and all(
        isinstance(item, list)
        and len(item) == 3
        and isinstance(item[0], str)
        and type(item[1]) is int
        and isinstance(item[2], str)
        for item in value
    )


def _found(files: list[tuple[str, bytes]]) -> list[Any]:
    """[name in the chart's copy, line, message] of each action problems() reports."""
    out: list[Any] = []
    for name, content in files:
        # A values file's strings are templates too where the chart gives them to `tpl`
        # (red team s13 u06): `hostPID: {{ tpl .Values.when . }}`.
        if not evaluated(name):
            continue
        if not any(word in content for word in _WORDS):
            continue
        for action in ACTION.finditer(content):
            text = action.group()
            if not _ANY_WORD.search(text):
                continue  # (what _CHANCE finds holds one: most actions are passed by here)
            if _COMMENT.match(text):
                continue
            # A word in a string is no call (`fail "roles are now generated"`, jenkins).
            text = _STRING.sub(b'""', text)
            chance = _CHANCE.search(text)
            if chance is None or not (chance.group(2) or _decides(text)):
                continue
            if chance.group(3) and _install_or_upgrade(text):
                continue
            if _only_fails(content, action):
                continue
            line = content.count(b"\n", 0, action.start()) + 1
            if chance.group(2):  # Argo CD bundles Helm 3; this renders with Helm 4's library
                message = (
                    "`.Capabilities.HelmVersion` decides what this template renders: it is"
                    " judged as Helm 4 renders it, a deployer with another Helm may render"
                    " something else"
                )
            elif chance.group(3):
                message = (
                    "`.Release.Revision` decides what this template renders: it is judged as"
                    " the first install and the first upgrade render it (revisions 1 and 2); a"
                    " later upgrade (helm upgrade, Flux) may deploy something else with no"
                    " change to review"
                )
            elif chance.group(1) == b"getHostByName":
                message = (
                    "`getHostByName` decides what this template renders: it is judged with no"
                    " DNS (an empty answer); a deployer that resolves names (helm --enable-dns,"
                    " Flux's AllowDNSLookups) deploys what the name's DNS answer chooses, with"
                    " no change to review"
                )
            else:
                message = (
                    f"`{chance.group(1).decode()}` decides what this template renders: it is"
                    " judged as it renders now, and may deploy something else on a later"
                    " render with no change to review"
                )
            out.append([name, line, message])
    return out

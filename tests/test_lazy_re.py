"""What every run imports costs little: module-level patterns compile on first use
(gatekeeper.lazy_re) and behave as re's; no dataclass makes its docstring at import."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys

from gatekeeper import lazy_re


def test_a_deferred_pattern_answers_as_a_compiled_one() -> None:
    deferred = lazy_re.compile(r"(?P<key>\w+)=(\d+)", re.IGNORECASE)
    compiled = re.compile(r"(?P<key>\w+)=(\d+)", re.IGNORECASE)
    text = "a=1 B=22 c=x"
    found, expected = deferred.search(text), compiled.search(text)
    assert found and expected and found.group("key") == expected.group("key")
    assert deferred.findall(text) == compiled.findall(text)
    assert deferred.sub("-", text) == compiled.sub("-", text)
    spans = [m.span() for m in compiled.finditer(text)]
    assert [m.span() for m in deferred.finditer(text)] == spans
    assert (deferred.pattern, deferred.flags, deferred.groups, deferred.groupindex) == (
        compiled.pattern, compiled.flags, compiled.groups, compiled.groupindex,
    )  # fmt: skip
    assert lazy_re.compile(rb"\d+").findall(b"a1b22") == [b"1", b"22"]


def test_a_deferred_pattern_compiles_once_and_pickles() -> None:
    deferred = lazy_re.compile(r"x+")
    assert "match" not in vars(deferred)
    assert deferred.match("xx") is not None
    assert vars(deferred)["match"].__self__ is vars(deferred)["search"].__self__
    assert pickle.loads(pickle.dumps(deferred)).fullmatch("xxx") is not None


def test_a_bad_pattern_fails_where_it_is_used() -> None:
    deferred = lazy_re.compile(r"(")
    try:
        deferred.search("(")
    except re.error:
        pass
    else:
        raise AssertionError("an invalid pattern compiled")


def test_importing_the_command_line_compiles_no_pattern() -> None:
    """What every run imports holds its patterns uncompiled: a pattern computed from another
    at import (`A.pattern + ...`) would compile that one for every run."""
    code = (
        "import gc, gatekeeper.main, gatekeeper.commands.scan, gatekeeper.pipeline, "
        "gatekeeper.sources.helm, gatekeeper.sources.kubernetes, gatekeeper.sources.workflow\n"
        "from gatekeeper.lazy_re import _Deferred\n"
        "made = [o for o in gc.get_objects() if isinstance(o, _Deferred)]\n"
        "used = [o for o in made if 'search' in vars(o)]\n"
        "print(len(made), [repr(o) for o in used])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    made, used = run.stdout.split(" ", 1)
    assert int(made) > 100 and used.strip() == "[]", run.stdout


def test_what_every_run_imports_has_no_dataclass_without_a_docstring() -> None:
    """A dataclass without a docstring gets one made of its signature when its module is
    imported (inspect.signature: about 0.3 ms each, 21 of them in every run)."""
    code = (
        "import dataclasses, sys, gatekeeper.main, gatekeeper.commands.scan, "
        "gatekeeper.pipeline, gatekeeper.sources.helm, gatekeeper.sources.kubernetes\n"
        "made = [f'{m}.{c.__name__}' for m, module in list(sys.modules.items())\n"
        "        if m.startswith('gatekeeper') for c in vars(module).values()\n"
        "        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == m\n"
        "        and (c.__doc__ or '').startswith(c.__name__ + '(')]\n"
        "print(sorted(made))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout

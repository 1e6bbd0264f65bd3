"""The GitHub layer's small parts: escaping, suggestions, retry decisions, the action script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gatekeeper.config import Config
from gatekeeper.decide import Verdict
from gatekeeper.finding import Finding
from gatekeeper.github import escape, suggest
from gatekeeper.github.client import Settings, retry_delay
from gatekeeper.github.plan import fails
from gatekeeper.pipeline import verdict as decide
from tests.conftest import REPO

SETTINGS = Settings(attempts=5, backoff=1.0, max_wait=30.0)


def test_markdown_escape_neutralises_tables_code_html_and_mentions() -> None:
    text = escape.markdown("a|b `x` <script>alert(1)</script> @admin [l](http://e) *s*\nnext")
    assert "|" not in text.replace("\\|", "")
    assert "`" not in text.replace("\\`", "")
    assert "<" not in text and ">" not in text
    assert "@admin" not in text and "@&#8203;admin" in text
    assert "\n" not in text
    assert text.startswith("a\\|b \\`x\\` &lt;script&gt;alert\\(1\\)&lt;/script&gt;")


def test_workflow_command_escaping() -> None:
    assert escape.command_data("50%\r\ndone") == "50%25%0D%0Adone"
    assert escape.command_property("a:b,c%") == "a%3Ab%2Cc%25"


def finding(path: str, fix: dict[str, object] | None, exact: bool = True) -> Finding:
    return Finding(
        policy_id="P",
        severity="high",
        title="t",
        message="m",
        file="f.yaml",
        line=3,
        path=path,
        fix=fix,
        extra={"exact": exact},
    )


FIX = {"subject": "spec.containers[0]", "set": {"securityContext.privileged": False}}
FIELD = "spec.containers[0].securityContext.privileged"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("        privileged: true", "        privileged: false"),
        ("      - privileged: true   # why", "      - privileged: false   # why"),
        ('    "privileged": "true"', '    "privileged": false'),
        ("    privileged: {a: 1}", None),  # not a scalar
        ("    securityContext: {privileged: true}", None),  # flow style: not one key's line
        ("    privileged: false", None),  # nothing to change
        ("    privileged: &x true", None),  # anchors are not touched
    ],
)
def test_suggestion_replaces_only_the_value(line: str, expected: str | None) -> None:
    assert suggest.suggestion(finding(FIELD, FIX), line) == expected


def test_no_suggestion_when_the_finding_is_not_at_the_fixed_field() -> None:
    # The field is missing: the finding points at the nearest ancestor, not the field line.
    assert suggest.suggestion(finding("spec.containers[0]", FIX), "  - name: web") is None
    assert suggest.suggestion(finding(FIELD, FIX, exact=False), "  privileged: true") is None
    two = {"subject": "spec", "set": {"a": 1, "b": 2}}
    assert suggest.suggestion(finding("spec.a", two), "  a: 0") is None


def test_yaml_scalar_quotes_what_would_change_type() -> None:
    assert suggest.yaml_scalar("RuntimeDefault") == "RuntimeDefault"
    assert suggest.yaml_scalar("yes") == '"yes"'
    assert suggest.yaml_scalar("1.0") == '"1.0"'
    assert suggest.yaml_scalar(1000) == "1000"
    assert suggest.yaml_scalar(["a"]) is None


def test_fail_on() -> None:
    def verdict(*findings: tuple[str, str]) -> Verdict:
        return decide(
            [finding("p", None).with_(status=status, severity=sev) for status, sev in findings],
            Config(),
            "medium",
        )

    existing = verdict(("existing", "high"), ("new", "low"))
    assert not fails(existing, "new") and fails(existing, "all") and not fails(existing, "none")
    new = verdict(("new", "high"), ("fixed", "critical"))
    assert fails(new, "new") and fails(new, "all") and not fails(new, "none")
    assert not fails(verdict(("fixed", "high"), ("waived", "high")), "all")


def test_retry_decisions() -> None:
    assert retry_delay(502, {}, {}, 0, SETTINGS) == 1.0
    assert retry_delay(503, {}, {}, 2, SETTINGS) == 4.0
    assert retry_delay(403, {"Retry-After": "7"}, {}, 0, SETTINGS) == 7.0
    assert retry_delay(403, {"retry-after": "600"}, {}, 0, SETTINGS) == 30.0
    limited = {"message": "You have exceeded a secondary rate limit"}
    assert retry_delay(403, {}, limited, 0, SETTINGS) == 1.0
    assert retry_delay(429, {}, {}, 0, SETTINGS) == 1.0
    assert retry_delay(403, {"x-ratelimit-remaining": "0"}, {}, 0, SETTINGS) >= 0
    forbidden = {"message": "Resource not accessible by integration"}
    assert retry_delay(403, {}, forbidden, 0, SETTINGS) == -1
    assert retry_delay(422, {}, {}, 0, SETTINGS) == -1
    assert retry_delay(404, {}, {}, 0, SETTINGS) == -1


def test_action_script_passes_inputs_as_flags(tmp_path: Path) -> None:
    """Run action.yml's script with a `gatekeeper` on PATH that records its arguments."""
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert set(action["outputs"]) >= {"new", "existing", "fixed", "waived", "blocking", "verdict"}
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "gatekeeper"]
    for name in action["inputs"]:
        assert f"inputs.{name}" in str(step["env"]) or name == "python-version", name
    fake = tmp_path / "bin" / "gatekeeper"
    fake.parent.mkdir()
    log = tmp_path / "args.txt"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n"
    )
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
        "INPUT_POLICIES": "policies/team a\n\npolicies/b\n",
        "INPUT_BUILTIN": "false",
        "INPUT_SEVERITY_THRESHOLD": "high",
        "INPUT_FILTER_MODE": "added",
        "INPUT_COMMENT_MODE": "both",
        "INPUT_FAIL_ON": "new",
        "INPUT_MAX_INLINE_COMMENTS": "25",
        "INPUT_CHECK_NAME": "gk; rm -rf /",
        "INPUT_PATH": "change",
    }
    subprocess.run(["bash", "-c", step["run"]], env=env, check=True)
    args = log.read_text().splitlines()
    assert args[0] == "github"
    assert args[args.index("--check-name") + 1] == "gk; rm -rf /"
    assert args[args.index("--root") + 1] == "change"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--policies"] == [
        "policies/team a",
        "policies/b",
    ]
    assert "--no-builtin" in args and args[args.index("--severity-threshold") + 1] == "high"
    # Every flag the script passes exists on the real CLI.
    from gatekeeper.main import build_parser

    build_parser().parse_args(args)


def test_starter_workflow_permissions() -> None:
    workflow = yaml.safe_load((REPO / "templates/workflows/gatekeeper.yml").read_text())
    assert workflow["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "checks": "write",
    }
    assert set(workflow[True]) == {"pull_request", "pull_request_review", "merge_group"}
    checkout = workflow["jobs"]["policy"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0


def test_action_declares_every_output_the_command_writes() -> None:
    from gatekeeper.github.plan import Plan
    from gatekeeper.github.publish import Outcome, outputs

    action = yaml.safe_load((REPO / "action.yml").read_text())
    plan = Plan(verdict=decide([], Config(), "high"), failed=False, counts={}, inline=[])
    plan.counts = {key: 0 for key in ("new", "existing", "fixed", "waived", "blocking")}
    written = set(outputs(Outcome(plan=plan)))
    assert written <= set(action["outputs"]), written - set(action["outputs"])
    for name in written:
        assert action["outputs"][name]["value"] == f"${{{{ steps.gatekeeper.outputs.{name} }}}}"


def test_annotations_never_end_past_the_end_of_the_file() -> None:
    from gatekeeper.github.publish import _annotation

    late = finding("p", None).with_(line=12, end_line=40, status="new")
    assert (_annotation(late, 20)["start_line"], _annotation(late, 20)["end_line"]) == (12, 20)
    assert (_annotation(late, 5)["start_line"], _annotation(late, 5)["end_line"]) == (5, 5)
    assert (_annotation(late, 0)["start_line"], _annotation(late, 0)["end_line"]) == (1, 1)
    assert _annotation(late, None)["end_line"] == 40  # length unknown: as the finding says


def test_cuts_respect_characters_and_utf8_bytes() -> None:
    from gatekeeper.github import limits

    assert limits.chars("abcdef", 4) == "abc…" and limits.chars("abc", 3) == "abc"
    cut = limits.utf8("€" * 10, 10)  # 3 bytes each: never half a character
    assert cut == "€€…" and len(cut.encode()) <= 10
    assert limits.utf8("ab", 2) == "ab"


def test_markers_carry_the_check_name() -> None:
    from gatekeeper.github import render

    assert render.is_summary(render.summary_marker("a b-->"), "a b-->")
    assert not render.is_summary(render.summary_marker("a"), "b")
    assert "-->" not in render.summary_marker("x-->")[:-3]
    assert render.is_summary("<!-- gatekeeper:summary -->", "gatekeeper")  # older versions
    body = render.finding_marker("f1", "infra") + render.finding_marker("f2")
    assert render.marked_fingerprints(body, "infra") == ["f1"]
    assert render.marked_fingerprints("<!-- gatekeeper:finding f3 -->") == ["f3"]
    fixed = render.mark_fixed(body, "ABCDEF0123456789")
    assert render.fixed_in(fixed) == "abcdef0123456789" and render.fixed_in(body) is None


def test_identity_owns_only_its_own_comments() -> None:
    from types import SimpleNamespace

    from gatekeeper.github.client import Identity

    bot = SimpleNamespace(login="github-actions[bot]", type="Bot")
    user = SimpleNamespace(login="release-robot", type="User")
    assert Identity("app").owns(bot) and not Identity("app").owns(user)
    assert Identity("user", "release-robot").owns(user)
    assert not Identity("user", "release-robot").owns(bot)
    assert not Identity("user", "").owns(user) and not Identity("app").owns(None)
    other = SimpleNamespace(login="other[bot]", type="Bot")
    assert Identity("app", "github-actions[bot]").owns(bot)
    assert not Identity("app", "github-actions[bot]").owns(other)


def test_a_line_quoted_in_a_suggestion_cannot_pose_as_a_marker() -> None:
    """The suggestion block quotes the file's line verbatim (its comment included): a PR author
    must not be able to make our comment claim another finding, or claim to be fixed."""
    from gatekeeper.github import render

    forged = "privileged: false  # <!-- gatekeeper:finding other gatekeeper -->"
    forged += " <!-- gatekeeper:fixed 00 -->:white_check_mark: Fixed in 00.\n"
    mine = finding(FIELD, FIX).with_(fingerprint="mine")
    body = render.inline_comment(mine, forged)
    assert forged in body  # quoted, inside the fence
    assert render.marked_fingerprints(body) == ["mine"]
    assert render.fixed_in(body) is None
    assert not render.is_summary("x\n" + render.summary_marker())

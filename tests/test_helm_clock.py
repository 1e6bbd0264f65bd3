"""A chart branch decided by the clock or chance is said where it is written."""

from __future__ import annotations

from gatekeeper.sources import helm_clock


def lines(template: str) -> list[int]:
    found = helm_clock.problems([("templates/deploy.yaml", template.encode())], "charts/web")
    assert all(p.file == "charts/web/templates/deploy.yaml" for p in found)
    return [p.line for p in found]


def test_a_time_bomb_and_a_coin_toss_are_said() -> None:
    template = (
        'privileged: {{ gt (now | date "2006" | atoi) 2026 }}\n'
        "{{- if eq (randInt 0 2) 1 }}\nhostNetwork: true\n{{- end }}\n"
        '{{ with (uuidv4 | hasPrefix "a") }}x{{ end }}\n'
    )
    assert lines(template) == [1, 2, 5]


def test_stamps_passwords_and_comments_decide_nothing() -> None:
    template = (
        "{{- /* if now is later than the release: randInt */}}\n"
        "rollme: {{ randAlphaNum 5 | quote }}\n"
        'stamp: {{ now | date "2006-01-02" }}\n'
        'hex: {{ mod (randNumeric 4 | atoi) 16 | printf "%x" }}\n'
        "{{ if .Values.now }}x{{ end }}\n"
        "key: {{ randAlphaNum 32 | b64enc | b64enc | quote }}\n"
        "pw: {{ default (randAlphaNum 10) .Values.password | b64enc | quote }}\n"
        '{{- $all = append $all (randAlphaNum 10) }}{{ $all | join "," }}\n'
        'mtime: {{ default (dateInZone "2006-01-02" (now) "UTC") .Values.mtime }}\n'
        # linkerd's heartbeat CronJob: a schedule made from the time of the render
        'schedule: "{{ dateInZone "04 15 * * *" (now | mustDateModify "+10m") "UTC"}}"\n'
        'since: {{ toDate "2006-01-02" "2026-01-01" | ago }}\n'
    )
    assert lines(template) == []


def test_a_branch_on_the_helm_version_alone_is_said() -> None:
    """Argo CD bundles Helm 3; gatekeeper renders with Helm 4's library (red team r23)."""
    template = 'x: {{ semverCompare "<4.0.0-0" .Capabilities.HelmVersion.Version }}\n'
    assert lines(template) == [1]


def test_a_version_guard_that_only_fails_the_render_changes_nothing_deployed() -> None:
    """traefik's chart refuses an old Helm: the branch stops the render or does nothing."""
    guard = (
        '{{- if (semverCompare "<v3.9.0" (.Capabilities.HelmVersion.Version | default "v3.0.0"))'
        ' -}}\n  {{- fail "ERROR: Helm >= v3.9.0 is required" -}}\n{{- end -}}\n'
    )
    clock = (
        '{{ if gt (now | date "2006" | atoi) 2026 }}{{ /* late */ }}{{ fail "late" }}{{ end }}\n'
    )
    assert lines(guard + clock + "kind: Deployment\n") == []


def test_a_guard_that_also_renders_something_is_still_said() -> None:
    template = (
        '{{- if semverCompare "<3.9" .Capabilities.HelmVersion.Version }}\n'
        'hostNetwork: true\n{{ fail "old" }}\n{{- end }}\n'
        '{{- if semverCompare "<3.9" .Capabilities.HelmVersion.Version }}'
        '{{ fail "old" }}{{ else }}privileged: true{{ end }}\n'
        '{{- if semverCompare "<3.9" .Capabilities.HelmVersion.Version }}'
        '{{ if .Values.x }}{{ fail "x" }}{{ end }}{{ end }}\n'
        '{{- if semverCompare "<3.9" .Capabilities.HelmVersion.Version }}{{ end }}\n'
    )
    assert lines(template) == [1, 5, 6, 7]


def test_the_words_in_a_string_are_not_calls() -> None:
    """jenkins' deprecation.yaml: `fail "... roles are now generated"` read the word as
    Sprig's `now` (three blocking findings); a raw string likewise. A real call beside a
    string is still said."""
    template = (
        "{{- if .Values.rbac.roleRef }}\n"
        '  {{ fail "`rbac.roleRef` no longer exists. RBAC roles are now generated" }}\n'
        "{{- end }}\n"
        "{{ if contains `randInt now` .Values.note }}x: 1{{ end }}\n"
        '{{ if contains "now" (now | date "2006") }}y: 1{{ end }}\n'
    )
    assert lines(template) == [5]


def test_a_values_string_the_chart_gives_to_tpl_is_read_as_a_template() -> None:
    """Red team s13 u06: `hostPID: {{ tpl .Values.when . }}` with the condition in values."""
    values = (
        "when: '{{ if gt (now | date \"2006\" | atoi) 2026 }}true{{ else }}false{{ end }}'\n"
        'helm: \'{{ semverCompare "<4.0.0-0" .Capabilities.HelmVersion.Version }}\'\n'
        "stamp: '{{ now | date \"2006\" }}'\n"
    )
    files = [("values.yaml", values.encode()), ("charts/db/values-prod.yml", values.encode())]
    found = helm_clock.problems(files, "charts/web")
    assert [(p.file, p.line) for p in found] == [
        ("charts/web/values.yaml", 1),
        ("charts/web/values.yaml", 2),
        ("charts/web/charts/db/values-prod.yml", 1),
        ("charts/web/charts/db/values-prod.yml", 2),
    ]


def test_a_branch_on_a_dns_answer_is_said() -> None:
    """Red team round 6 (w03): `hostPID: {{ eq (getHostByName "switch.example.net")
    "10.6.6.6" }}` renders false here (no DNS) and true for `helm upgrade --enable-dns`
    once whoever answers for that name says so. Writing the address is no branch."""
    template = (
        'hostPID: {{ eq (getHostByName "switch.example.net") "10.6.6.6" }}\n'
        '{{- if contains "6.6" (getHostByName "switch.example.net") }}\nx: 1\n{{- end }}\n'
        'ip: {{ getHostByName "db.example.net" | quote }}\n'
    )
    assert lines(template) == [1, 2]


def test_a_branch_on_the_release_revision_beyond_the_first_upgrade_is_said() -> None:
    """Red team round 6 (w02): `gt .Release.Revision 3` turns privileged at the fourth
    `helm upgrade` (Flux upgrades alike); only revisions 1 and 2 are rendered. Comparing
    with 1 tells install from upgrade, which the upgrade rendering judges; printing the
    revision decides nothing."""
    template = (
        "privileged: {{ gt (int .Release.Revision) 3 }}\n"
        "{{- if eq (mod .Release.Revision 5) 0 }}\nhostPID: true\n{{- end }}\n"
        "first: {{ eq (int .Release.Revision) 1 }}\n"
        "{{- if and .Values.debug (gt .Release.Revision 1) }}\nx: 1\n{{- end }}\n"
        "rollme: {{ .Release.Revision | quote }}\n"
        "revision: {{ .Release.Revision }}\n"
    )
    assert lines(template) == [1, 2]


def test_a_comment_quoting_an_action_is_not_one() -> None:
    """bitnami's common chart (copied into every chart built on it) explains in a comment
    why it does not write `{{ if .Capabilities.HelmVersion }}`; the comment's own `}}` ended
    the action early and the quoted text was a blocking GK-HELM-CLOCK. A comment is one
    action whole, `{{- /* ... */ -}}` too; the same test written as an action is said."""
    template = (
        "{{/*\nReturns true if Helm is 3.3+: an additional \"{}}\" structure.\n"
        "A regexMatch instead of {{ if .Capabilities.HelmVersion }}: <3.3 fails.\n*/}}\n"
        '{{- /* {{ if gt (now | date "2006" | atoi) 2026 }} */ -}}\n'
        "{{- if .Capabilities.HelmVersion }}\nhostNetwork: true\n{{- end }}\n"
    )
    assert lines(template) == [6]

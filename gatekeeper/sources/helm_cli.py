"""Charts rendered by a `helm` on PATH, for installs without the [helm] extra (the SDK).

`helm template` gets what the SDK gets: the chart copy, the merged user values (one JSON file,
`-f`), the release name and namespace, the Kubernetes version and API versions; never
`--dependency-update` (no network). Its output is mapped back to what the SDK answers, one text
per template, from the `# Source: chart/templates/x.yaml` line Helm writes above each document.

Where the two differ, the difference is reported, never skipped: `helm template` refuses a chart
whose declared dependencies are not vendored, so those are left out of a copy of Chart.yaml and
the chart rendered without them (the scan then says they were not judged, as with the SDK); it
refuses a rendered document that is not YAML, which becomes a render error naming the template.
Helm orders the documents of a template by kind (put back in the template's order, which the
line mapping reads), and trims the blank lines around each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gatekeeper import lazy_re
from gatekeeper.sources import programs
from gatekeeper.sources.helm_engine import MAX_OUTPUT_BYTES, ChartResult, Limits, Rendering
from gatekeeper.sources.helm_lines import parse_template, template_order
from gatekeeper.yamldoc import YamlDocument, decode, load_all, safe_load

# Helm's `CheckDependencies`: "found in Chart.yaml, but missing in charts/ directory: a, b".
_MISSING = lazy_re.compile(r"missing in charts/ directory: (?P<names>[^\n]+)")
_HEADER = "# Source: "
_KIND = lazy_re.compile(r"^kind:[ \t]*['\"]?([^'\"\s#]+)", re.MULTILINE)
# What the CLI adds to a render error: no use to a reader of the finding.
_DEBUG_HINT = "Use --debug flag to render out invalid YAML"
_OUT_OF_MEMORY = ("out of memory", "cannot allocate memory", "failed to reserve")


def find() -> str | None:
    """The `helm` to render with when the SDK is not installed (absolute PATH entries only)."""
    return programs.on_path("helm")


def render(helm: str, root: str, jobs: list[dict[str, Any]], limit: Limits) -> ChartResult:
    """Render the chart directory `root` once per job, as helm_engine.render does."""
    scratch = programs.scratch_parent()
    with tempfile.TemporaryDirectory(prefix="gatekeeper-helm-cli-", dir=scratch) as home:
        dropped: list[str] = []
        renderings = []
        for index, job in enumerate(jobs):
            values = Path(home, f"values-{index}.json")
            values.write_text(json.dumps(job["values"]))
            command = [helm, "template", "-f", str(values), *arguments(job["options"]), root]
            ran = _run(command, home, limit)
            if ran.failed:
                return ChartResult(load_error=ran.error, failed=True)
            missing = _MISSING.search(ran.error) if ran.error and not dropped else None
            if missing:  # once per chart: what the SDK renders, without them
                dropped = [name.strip() for name in missing["names"].split(",")]
                _drop_dependencies(Path(root), dropped)
                ran = _run(command, home, limit)
                if ran.failed:
                    return ChartResult(load_error=ran.error, failed=True)
            if ran.error and index == 0 and _load_error(helm, root, home, limit):
                return ChartResult(load_error=_clean(ran.error, root))
            if ran.error:
                renderings.append(Rendering(None, _clean(ran.error, root)))
            else:
                found = manifests(ran.output, Path(root))
                unknown = f"helm template output not understood: {ran.output[:200]!r}"
                renderings.append(Rendering(found, "" if found is not None else unknown))
        return ChartResult("", _loaded_dependencies(Path(root), dropped), tuple(renderings))


def arguments(options: dict[str, Any]) -> list[str]:
    """`helm template` flags for the SDK's render options, ending with the release name
    (the chart directory follows)."""
    found = [f"--namespace={options.get('namespace', 'default')}"]
    if options.get("kube_version"):
        found.append(f"--kube-version={options['kube_version']}")
    found += [f"--api-versions={version}" for version in options.get("api_versions", ())]
    if options.get("is_upgrade"):
        found.append("--is-upgrade")
    # After `--` nothing is a flag: a release name cannot add `--post-renderer`.
    return [*found, "--", str(options.get("name", "release-name"))]


def manifests(output: str, root: Path | None = None) -> dict[str, str] | None:
    """`helm template` output -> template name -> its documents, as the SDK returns them
    (None when the output is not in Helm's format: text outside every document).

    Every document Helm writes starts with a `---` line and a `# Source: NAME` line; a `---`
    line cannot occur inside a document (Helm splits there), so a `# Source:` line further down
    is the template's own text and stays in it. Helm sorts documents by kind: with the chart
    directory `root`, the documents of each template are put back in the template's order.
    """
    texts: dict[str, list[list[str]]] = {}
    document: list[str] | None = None
    lines = output.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == "---" and index + 1 < len(lines) and lines[index + 1].startswith(_HEADER):
            document = []
            texts.setdefault(lines[index + 1][len(_HEADER) :].strip(), []).append(document)
            index += 2
            continue
        if document is not None:
            document.append(line)
        elif line.strip():
            return None
        index += 1
    found = {}
    for name, documents in texts.items():
        joined = ["\n".join(text).strip("\n") + "\n" for text in documents]
        if root is not None and len(joined) > 1:
            joined = _in_template_order(joined, root / name.partition("/")[2])
        found[name] = "---\n".join(joined)
    return found


def _in_template_order(documents: list[str], template: Path) -> list[str]:
    """The documents of one template in the order it wrote them (as rendered by the SDK)."""
    kinds = {match.group(1) for text in documents for match in [_KIND.search(text)] if match}
    if len(kinds) < 2 or not template.is_file():
        return documents  # one kind: Helm's sort is stable, the order is the template's
    objs = []
    for text in documents:
        # The project's loader: depth and alias-bomb checks before anything walks the object.
        loaded = list(load_all(str(template), text))
        if len(loaded) != 1 or not isinstance(loaded[0], YamlDocument):
            return documents  # helm.py reports what is wrong with the YAML
        objs.append(loaded[0].obj)
    try:
        source = decode(template.read_bytes())
    except (OSError, UnicodeDecodeError):
        return documents
    order = template_order(parse_template(source), objs)
    return [documents[index] for index in order]


class _Ran:
    def __init__(self, output: str = "", error: str = "", failed: bool = False) -> None:
        self.output = output
        self.error = error
        self.failed = failed  # a limit: no template to point at


def _run(command: list[str], home: str, limit: Limits) -> _Ran:
    """Run helm under the time, memory and output limits of the SDK renderer."""
    env = programs.environment(home, limit.memory_mib)
    for name in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{name}_HOME"] = os.path.join(home, name.lower())
    env["HELM_PLUGINS"] = os.path.join(home, "plugins")
    with tempfile.TemporaryFile() as stderr:
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=home,
                preexec_fn=programs.address_space(limit.memory_mib),
            )
        except OSError as error:
            return _Ran(error=f"helm could not be run: {error}", failed=True)
        output, problem = _read(proc, limit.seconds)
        if problem:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
        stderr.seek(0)
        said = stderr.read().decode("utf-8", "replace")
    if problem:
        return _Ran(error=problem, failed=True)
    if proc.returncode != 0:
        if any(marker in said.lower() for marker in _OUT_OF_MEMORY):
            message = f"render exceeded the memory limit ({limit.memory_mib} MiB, renderMemoryMiB)"
            return _Ran(error=message, failed=True)
        said = said.replace(_DEBUG_HINT, "").strip().removeprefix("Error: ")
        return _Ran(error=said or f"helm exited with {proc.returncode}")
    return _Ran(output=output.decode("utf-8", "replace"))


def _read(proc: subprocess.Popen[bytes], seconds: float) -> tuple[bytes, str]:
    """Everything helm writes, or why reading stopped (the time or the output limit). A thread
    reads, so the clock runs on every platform (select() takes no pipes on Windows)."""
    assert proc.stdout is not None
    stdout = proc.stdout
    chunks: list[bytes] = []
    over = threading.Event()

    def pump() -> None:
        size = 0
        for chunk in iter(lambda: stdout.read(1 << 20), b""):
            size += len(chunk)
            if size > MAX_OUTPUT_BYTES:
                over.set()
                proc.kill()
                return
            chunks.append(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    reader.join(seconds)
    if reader.is_alive():
        proc.kill()
        reader.join()
        return b"", f"render exceeded {seconds:g} s (renderTimeoutSeconds); not checked"
    if over.is_set():
        return (
            b"",
            f"rendered output is over the {MAX_OUTPUT_BYTES // 2**20} MiB limit; not checked",
        )
    return b"".join(chunks), ""


def _load_error(helm: str, root: str, home: str, limit: Limits) -> bool:
    """Does the chart itself fail to load (Chart.yaml, values.yaml), as opposed to a template?"""
    ran = _run([helm, "show", "chart", root], home, limit)
    return bool(ran.error)


def _clean(message: str, root: str) -> str:
    """Helm's message without the temporary directory the chart was copied to."""
    return message.replace(root.rstrip("/") + "/", "").replace(root, ".")


def _dependency_lists(root: Path) -> Iterator[tuple[Path, dict[str, Any], list[Any]]]:
    """Each metadata file of the chart copy that declares dependencies (Chart.yaml, and a v1
    chart's requirements.yaml): the file, its content and its `dependencies` list."""
    for file in (root / "Chart.yaml", root / "requirements.yaml"):
        try:
            meta = safe_load(file.read_text()) if file.is_file() else None
        except (yaml.YAMLError, UnicodeDecodeError):
            continue  # helm says what is wrong with it
        declared = meta.get("dependencies") if isinstance(meta, dict) else None
        if isinstance(meta, dict) and isinstance(declared, list):
            yield file, meta, declared


def _drop_dependencies(root: Path, names: list[str]) -> None:
    """Leave the dependencies Helm found missing out of the chart copy's metadata."""
    for file, meta, declared in list(_dependency_lists(root)):
        meta["dependencies"] = [
            entry
            for entry in declared
            if not (isinstance(entry, dict) and str(entry.get("name")) in names)
        ]
        file.write_text(json.dumps(meta))  # JSON is YAML


def _loaded_dependencies(root: Path, dropped: list[str]) -> tuple[str, ...]:
    """The declared dependencies Helm rendered with: all but those it found missing."""
    names = [
        str(entry["name"])
        for _, _, declared in _dependency_lists(root)
        for entry in declared
        if isinstance(entry, dict) and entry.get("name")
    ]
    return tuple(name for name in dict.fromkeys(names) if name not in dropped)

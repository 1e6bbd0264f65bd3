"""The optional C reader of manifests (gatekeeper/_manifest_reader.c; see yamlevents).

Everything else is in pyproject.toml. The extension needs a C compiler, Python's headers and
libyaml's header (yaml.h: Debian's libyaml-dev); without them it is skipped (optional) and the
Python reader reads every manifest, with the same results. It takes libyaml itself from
PyYAML's binding at run time, so nothing is linked.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gatekeeper._manifest_reader",
            ["gatekeeper/_manifest_reader.c"],
            optional=True,
        )
    ]
)

"""Packaging glue that pyproject.toml cannot express.

The area notebooks live in the checkout's ``notebooks/`` folder, where JupyterLab users open
them, and ship inside the wheel as ``harden_lib/notebooks/``, where an installed ``harden run``
finds them (``harden_lib.runner.notebooks_dir``). Mapping a folder outside the package needs
``package_dir`` next to a computed package list, which pyproject's ``packages.find`` cannot add to.
Everything else (metadata, dependencies, package data) is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

setup(
    # Namespace search: data folders (catalog/, templates/, demo/site/ …) are packages too, so
    # setuptools ships their files without warning that it would ignore them.
    packages=[
        *find_namespace_packages(include=["harden_lib", "harden_lib.*"], exclude=["*.__pycache__", "*.__pycache__.*"]),
        "harden_lib.notebooks",
    ],
    package_dir={"harden_lib.notebooks": "notebooks"},
)

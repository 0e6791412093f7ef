"""Packaging glue that pyproject.toml cannot express.

criteria/, templates/ and examples/ live at the repository root for the people
who maintain them. They are mapped into the package as ``certflow._shipped.*``
so that a regular (non-editable) install carries them; see
``certflow/resources.py`` for how they are found at run time.
"""

from setuptools import find_packages, setup

SHIPPED = {
    "certflow._shipped.criteria": "criteria",
    "certflow._shipped.templates": "templates",
    "certflow._shipped.examples": "examples",
}

setup(
    packages=find_packages(include=["certflow", "certflow.*"]) + list(SHIPPED),
    package_dir=SHIPPED,
    package_data={**{name: ["**/*"] for name in SHIPPED}, "certflow.migrations": ["script.py.mako"],
                  "certflow.web": ["static/*"]},
    include_package_data=True,
)

"""The licence metadata, which pyproject.toml cannot state for every Python we build on.

PEP 639 metadata (``License-Expression: MIT`` and ``License-File: LICENSE``) needs
setuptools 77, and setuptools 77 needs Python 3.9. Python 3.8's newest
setuptools (75.3) refuses ``license = "MIT"`` in pyproject.toml, so the licence
is declared here: as an SPDX expression where setuptools can write one (every
release is built that way), as the older ``License`` field on Python 3.8.
"""

import setuptools

if int(setuptools.__version__.split(".")[0]) >= 77:
    setuptools.setup(license_expression="MIT", license_files=["LICENSE"])
else:
    setuptools.setup(license="MIT", license_files=["LICENSE"])

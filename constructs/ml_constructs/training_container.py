"""What a script-mode training job must tell the SageMaker XGBoost container, and why.

The framework container's toolkit (sagemaker-containers 2.8.6.post2, ``_modules.install``)
turns the code channel into a package and runs ``python -m pip install .`` in ``/opt/ml/code``
before it starts ``train.py``. The generated ``setup.py`` has no ``pyproject.toml``, so pip builds
it through PEP 517 and, by default, in an isolated build environment into which it first
downloads ``setuptools>=40.8.0`` from the package index. With ``EnableNetworkIsolation`` the
container reaches no index, and the job fails with ``InstallModuleError`` before the script runs.

Which pip takes that path:

- pip 25.3 and later always do (the legacy ``setup.py bdist_wheel`` build is gone). The images
  pin ``pip==25.2`` for exactly this reason: "pip will attempt to install setuptools from PyPi
  from pip>=25.3" (aws/sagemaker-xgboost-container ``docker/3.0-5/base/Dockerfile.cpu`` at
  868b6a9b4680d0e3f7212579342caa1cbedf43e0; ``docker/3.2-0/base/Dockerfile.cpu`` keeps it, as
  the fork a-k-97/sagemaker-xgboost-container shows at 1d5295bbc76b4f19bfc18308577fd66916260789).
  A rebuild that lifts the pin breaks every network-isolated script-mode job.
- pip 25.2 does too when the ``wheel`` package is missing; only with both setuptools and wheel
  installed does it fall back to the legacy build, which needs no index. The 3.2-0 image's
  requirements pin ``wheel==0.45.1`` and ``setuptools<81``, so today's image still installs.

The image does ship setuptools: the toolkit cannot start without it on Python 3.12
(``_env.py`` imports ``distutils``, which only setuptools still provides, and ``_server.py``
imports ``pkg_resources``). So building without isolation, against the image's own setuptools,
works offline with any pip; ``tests/test_training_container.py`` runs the toolkit with the image's
pip and with a newer one to prove it.
"""

from __future__ import annotations

TOOLKIT_ENVIRONMENT: dict[str, str] = {"PIP_NO_BUILD_ISOLATION": "0"}
"""The training job's ``Environment``: build the code package without an isolated environment.

The value is inverted on purpose. ``--no-build-isolation`` stores ``False`` into pip's
``build_isolation`` option, and pip reads ``PIP_NO_BUILD_ISOLATION`` as the value for that
option: ``0`` (or ``false``) turns isolation off, while ``1``, ``true`` or ``yes`` leave it on
(pypa/pip#5735; pypa/pip#9955 explains the double negative). ``PIP_NO_INDEX=1`` is not needed:
with isolation off and no ``requirements.txt`` in the code, pip asks no index for anything, and
on its own it only makes the isolated build fail sooner.
"""

"""``sagemaker_xgboost_container.training:main`` of the SageMaker XGBoost image, script mode only.

What aws/sagemaker-xgboost-container ``src/sagemaker_xgboost_container/training.py`` (at
11d18b6b202f91e08b3c5bb01c597faf94a7a6e6) does when the job names an entry point: ``main()``
builds the training environment and ``train()`` hands the code to the toolkit's
``run_module``, which extracts it, writes a setup.py, pip-installs it and runs it with the
hyperparameters as arguments. Algorithm mode (no ``sagemaker_program``) is not needed here.
"""

from __future__ import annotations

import logging
import sys

import sagemaker_containers.beta.framework as framework

logger = logging.getLogger(__name__)


def train(training_environment: framework.env.TrainingEnv) -> None:
    if training_environment.user_entry_point is None:
        raise NotImplementedError("algorithm mode: the job has no sagemaker_program hyperparameter")
    logger.info("Invoking user training script.")
    framework.modules.run_module(
        training_environment.module_dir,
        training_environment.to_cmd_args(),
        training_environment.to_env_vars(),
        training_environment.module_name,
        capture_error=False,
    )


def main() -> None:
    train(framework.training_env())
    sys.exit(0)

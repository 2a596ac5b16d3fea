"""Training: the SageMaker execution role for training jobs (the pipeline builds on it)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack

from config.schema import TrainingConfig
from constructs import Construct
from ml_constructs import SageMakerExecutionRole, SageMakerExecutionRoleProps, SecureBucket
from ml_constructs.images import xgboost_image
from stacks.data_stack import TRAINING_JOBS_PREFIX, TRAINING_PREFIX


class TrainingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        training: TrainingConfig,
        training_data: SecureBucket,
        model_artifacts: SecureBucket,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        registry_account, repository, self.image_uri = xgboost_image(training.framework_version, self.region)
        self.execution_role = SageMakerExecutionRole(
            self,
            "TrainingJobRole",
            SageMakerExecutionRoleProps(description="Runs the XGBoost training jobs", log_kinds=("TrainingJobs",)),
        )
        training_data.grant_read_prefix(self.execution_role, TRAINING_PREFIX)
        model_artifacts.grant_write_prefix(self.execution_role, TRAINING_JOBS_PREFIX)
        self.execution_role.allow_image_pull(registry_account, repository)

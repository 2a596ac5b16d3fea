"""Training: the pipeline that trains, gates and registers a model, and what starts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms

from config.schema import TrainingConfig, registry_name
from constructs import Construct
from ml_constructs import SageMakerExecutionRole, SageMakerExecutionRoleProps, SecureBucket
from ml_constructs.baseline import BASELINE_FOLDER, BaselineSettings, DataQualityBaseline, DataQualityBaselineProps
from ml_constructs.images import model_monitor_image, xgboost_image
from ml_constructs.notifications import NotificationTopic, NotificationTopicProps
from ml_constructs.registry import ModelRegistry, ModelRegistryProps
from ml_constructs.retrain_on_drift import RetrainOnDrift, RetrainOnDriftProps
from ml_constructs.source_bundle import SourceBundle, SourceBundleProps
from ml_constructs.training_pipeline import QualityGateSettings, TrainingJobSettings, TrainingPipeline, TrainingPipelineProps
from ml_constructs.triggers import PipelineStarts, PipelineStartsProps
from stacks.data_stack import CHECKPOINTS_PREFIX, TRAINING_JOBS_PREFIX, TRAINING_PREFIX
from training_scripts.metric_log import FAILURE_PREFIX, metric_definitions

TRAINING_SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "training_scripts"


def job_folder_pattern(prefix: str) -> str:
    """The folders of the training pipeline's jobs, named ``<prefix>-<execution>``."""
    return f"{prefix}-*/"


class TrainingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        training: TrainingConfig,
        training_data: SecureBucket,
        model_artifacts: SecureBucket,
        encryption_key: kms.IKey,
        notification_key: kms.IKey,
        notification_emails: list[str],
        retain: bool,
        registry_shared_with: list[str],
        retrain_on: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        registry_account, repository, training_image = xgboost_image(training.framework_version, self.region)
        inference_registry, inference_repository, inference_image = xgboost_image(training.framework_version, self.region, "inference")

        training_role = SageMakerExecutionRole(
            self, "TrainingJobRole", SageMakerExecutionRoleProps(description="Runs the XGBoost training jobs", log_kinds=("TrainingJobs",))
        )
        training_data.grant_read_prefix(training_role, TRAINING_PREFIX)
        # What a job of this pipeline writes, and nothing else: SageMaker puts the model (and the
        # output data archive) in <S3OutputPath>/<job name>/output/ (SageMaker Developer Guide,
        # "How Amazon SageMaker AI Provides Training Information", /opt/ml/model and
        # /opt/ml/output/data are uploaded there, https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html),
        # checkpoints to the job's CheckpointConfig.S3Uri (checkpoints/<job name>/), and the
        # profiler is off (ProfilerConfig.DisableProfiler). Jobs are named <prefix>-<execution>:
        # one role serves every job, and SageMaker's session carries no job name an IAM policy
        # could match, so two jobs of this pipeline are not kept apart by IAM. What is served
        # never lives here: promotion copies it to the write-once promoted/ prefix.
        job_folders = job_folder_pattern(prefix)
        model_artifacts.grant_write_prefix(training_role, TRAINING_JOBS_PREFIX, within=f"{job_folders}output/")
        if training.spot.enabled:
            model_artifacts.grant_read_prefix(training_role, CHECKPOINTS_PREFIX, within=job_folders)
            model_artifacts.grant_write_prefix(training_role, CHECKPOINTS_PREFIX, within=job_folders)
        training_role.allow_image_pull(registry_account, repository)
        training_role.allow_volume_encryption(encryption_key)

        # The role of the models the pipeline creates (batch transform and ad-hoc endpoints).
        model_role = SageMakerExecutionRole(
            self,
            "ModelRole",
            SageMakerExecutionRoleProps(description="Hosts models trained by the pipeline", log_kinds=("Endpoints", "TransformJobs")),
        )
        model_artifacts.grant_read_prefix(model_role, TRAINING_JOBS_PREFIX, within=f"{job_folders}output/")
        model_role.allow_image_pull(inference_registry, inference_repository)
        model_role.allow_volume_encryption(encryption_key)

        source = SourceBundle(self, "TrainingCode", SourceBundleProps(source_dir=TRAINING_SCRIPTS_DIR, entry_point="train.py"))
        source.grant_read(training_role, self.region)

        self.notifications = NotificationTopic(
            self,
            "Notifications",
            NotificationTopicProps(display_name=f"{prefix} training pipeline", encryption_key=notification_key, emails=notification_emails),
        )
        # On the pipeline's jobs and models, and on the group (which its versions take as theirs).
        pipeline_tags = {"pipeline": f"{prefix}-training"}
        self.registry = ModelRegistry(
            self,
            "Registry",
            ModelRegistryProps(
                group_name=registry_name(prefix),
                description=f"XGBoost models trained by the {prefix} training pipeline",
                removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
                shared_with_accounts=registry_shared_with,
                tags=pipeline_tags,
            ),
        )
        baseline = self._baseline(
            prefix, training, training_data, model_artifacts, encryption_key, registry_account, repository, training_image, pipeline_tags
        )
        hyperparameters = {name: str(value) for name, value in training.hyperparameters.model_dump().items()}
        self.pipeline = TrainingPipeline(
            self,
            "Pipeline",
            TrainingPipelineProps(
                name_prefix=prefix,
                job=TrainingJobSettings(
                    training_image=training_image,
                    inference_image=inference_image,
                    framework_version=training.framework_version,
                    instance_type=training.instance_type,
                    instance_count=training.instance_count,
                    volume_size_gb=training.volume_size_gb,
                    max_runtime_seconds=training.max_runtime_seconds,
                    hyperparameters=hyperparameters,
                    metric_definitions=metric_definitions(),
                    spot=training.spot.enabled,
                    max_wait_seconds=training.spot.max_wait_seconds if training.spot.enabled else None,
                    input_mode=training.input_mode,
                    inter_container_traffic_encryption=training.inter_container_traffic_encryption,
                ),
                gate=QualityGateSettings(
                    metric=training.quality_gate.metric,
                    threshold=training.quality_gate.threshold,
                    higher_is_better=training.quality_gate.higher_is_better,
                ),
                source=source,
                training_role=training_role,
                model_role=model_role,
                training_data=training_data,
                model_artifacts=model_artifacts,
                encryption_key=encryption_key,
                registry=self.registry,
                notifications=self.notifications,
                dataset_prefix=TRAINING_PREFIX,
                output_prefix=TRAINING_JOBS_PREFIX,
                checkpoint_prefix=CHECKPOINTS_PREFIX,
                tags=pipeline_tags,
                retain_logs=retain,
                script_failure_prefix=FAILURE_PREFIX,
                baseline=baseline,
            ),
        )
        PipelineStarts(
            self,
            "Starts",
            PipelineStartsProps(
                bucket=training_data,
                prefix=TRAINING_PREFIX,
                state_machine=self.pipeline.state_machine,
                what="Train on",
                input_key="dataset",
                name_prefix=f"{prefix}-training",
                schedule_expression=training.schedule.expression if training.schedule else None,
                scheduled_folder=training.schedule.dataset if training.schedule else None,
            ),
        )
        if retrain_on:
            alarm, dataset = retrain_on
            self.retraining = RetrainOnDrift(
                self,
                "RetrainOnDrift",
                RetrainOnDriftProps(
                    name_prefix=prefix,
                    alarm_name=alarm,
                    training_state_machine=self.pipeline.state_machine,
                    training_state_machine_arn=self.pipeline.state_machine_arn,
                    dataset=dataset,
                    encryption_key=encryption_key,
                    retain_logs=retain,
                ),
            )
        self.baseline_role = baseline.props.role
        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine_arn, description="Start a run: see README, 'Training'")
        CfnOutput(self, "ModelPackageGroupName", value=self.registry.group_name)
        CfnOutput(self, "NotificationTopicArn", value=self.notifications.topic_arn)

    def _baseline(
        self,
        prefix: str,
        training: TrainingConfig,
        training_data: SecureBucket,
        model_artifacts: SecureBucket,
        encryption_key: kms.IKey,
        training_registry: str,
        training_repository: str,
        training_image: str,
        pipeline_tags: dict[str, str],
    ) -> DataQualityBaseline:
        """The two processing jobs of each version's baseline, with a role of their own: they
        read the training data and write only the version's baseline/ folder."""
        analyzer_account, analyzer_repository, analyzer_image = model_monitor_image(self.region)
        role = SageMakerExecutionRole(
            self,
            "BaselineJobRole",
            SageMakerExecutionRoleProps(
                description="Runs the data-quality baseline jobs of trained versions",
                log_kinds=("ProcessingJobs",),
                publishes_metrics=False,
            ),
        )
        training_data.grant_read_prefix(role, TRAINING_PREFIX)
        baseline_folders = f"{job_folder_pattern(prefix)}{BASELINE_FOLDER}"
        # The analyzer reads the features the first job wrote there.
        model_artifacts.grant_read_prefix(role, TRAINING_JOBS_PREFIX, within=baseline_folders)
        model_artifacts.grant_write_prefix(role, TRAINING_JOBS_PREFIX, within=baseline_folders)
        role.allow_image_pull(training_registry, training_repository)
        role.allow_image_pull(analyzer_account, analyzer_repository)
        role.allow_volume_encryption(encryption_key)
        b = training.baseline
        return DataQualityBaseline(
            DataQualityBaselineProps(
                settings=BaselineSettings(
                    analyzer_image=analyzer_image,
                    features_image=training_image,
                    instance_type=b.instance_type,
                    volume_size_gb=b.volume_size_gb,
                    max_runtime_seconds=b.max_runtime_seconds,
                ),
                role=role,
                training_data=training_data,
                model_artifacts=model_artifacts,
                encryption_key=encryption_key,
                output_prefix=TRAINING_JOBS_PREFIX,
                tags=pipeline_tags,
            )
        )

"""Delivery: a self-mutating CDK pipeline that deploys each environment in promotion order.

    Source (Git connection) → Synth (make test, make synth-delivery) → UpdatePipeline → Assets
      → dev (deploy, smoke test) → approval → prod (deploy, smoke test)

Git is the source of truth: a merged change to code or to ``config/<env>.yaml`` (a new model
version, say) flows through every stage; nothing outside CloudFormation changes an endpoint.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from config.schema import DeliveryConfig, EnvironmentConfig
from constructs import Construct
from ml_constructs.delivery import (
    acknowledge_cdk_pipeline_findings,
    bind_service_roles_to_account,
    grant_connection_with_its_own_prefix,
)
from ml_constructs.nag import partition_of
from stacks.environment_stage import EnvironmentStage
from stacks.inference_stack import smoke_test_role_name, smoke_test_runner_role_name

SMOKE_TEST_ROWS = "clients/smoke_rows.csv"
"""Rows the smoke test sends: features only, in the data contract of the served model."""
RUNTIMES = codebuild.BuildSpec.from_object({"phases": {"install": {"runtime-versions": {"nodejs": "20", "python": "3.11"}}}})


class DeliveryStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        delivery: DeliveryConfig,
        environments: list[EnvironmentConfig],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        source = pipelines.CodePipelineSource.connection(delivery.repository, delivery.branch, connection_arn=delivery.connection_arn)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=pipelines.CodeBuildStep(
                "Synth",
                input=source,
                partial_build_spec=RUNTIMES,
                # The same two commands a person runs: tests gate the synthesized assembly.
                commands=["make test", "make synth-delivery"],
                primary_output_directory="cdk.out",
            ),
            # Environments may live in other accounts: KMS-encrypted, shareable artifacts.
            cross_account_keys=True,
            enable_key_rotation=True,
            self_mutation=True,
            docker_enabled_for_synth=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=codebuild.LinuxBuildImage.STANDARD_7_0)
            ),
        )
        by_name = {config.name: config for config in environments}
        self.stages: list[EnvironmentStage] = []
        for name in delivery.stages:
            config = by_name[name]
            stage = EnvironmentStage(self, config, smoke_test_account=delivery.account)
            pre: list[pipelines.Step] = (
                [pipelines.ManualApprovalStep(f"Approve-{name}", comment=f"Promote to {name}: the previous stage passed its smoke test.")]
                if name in delivery.approval_before
                else []
            )
            post = [self._smoke_test(source, stage, config)] if stage.inference else []
            self.pipeline.add_stage(stage, pre=pre, post=post)
            self.stages.append(stage)
        acknowledge_cdk_pipeline_findings(self.pipeline)
        grant_connection_with_its_own_prefix(self.pipeline, delivery.connection_arn)
        bind_service_roles_to_account(self.pipeline)

    def _smoke_test(self, source: pipelines.CodePipelineSource, stage: EnvironmentStage, config: EnvironmentConfig) -> pipelines.Step:
        assert stage.inference is not None
        role_arn = f"arn:{partition_of(config.region)}:iam::{config.account}:role/{smoke_test_role_name(config.prefix)}"
        assert config.inference is not None
        assert config.inference.model is not None
        features = config.inference.model.features
        return pipelines.CodeBuildStep(
            f"SmokeTest-{config.name}",
            input=source,
            env_from_cfn_outputs={"ENDPOINT_NAME": stage.inference.endpoint_name_output},
            partial_build_spec=RUNTIMES,
            install_commands=["pip install --quiet boto3"],
            commands=[
                f'python -m clients.predict --endpoint "$ENDPOINT_NAME" --region {config.region} --features {features} '
                f"--assume-role {role_arn} {SMOKE_TEST_ROWS}"
            ],
            # A role with a known name: the environment's smoke-test role trusts this one only.
            role=iam.Role(
                self.pipeline,  # with the pipeline's own roles: their acknowledgments apply to it too
                f"SmokeTestRunner-{config.name}",
                role_name=smoke_test_runner_role_name(config.prefix),
                description=f"Runs the {config.name} smoke test (CodeBuild)",
                assumed_by=iam.ServicePrincipal(
                    "codebuild.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
                ),
            ),
            role_policy_statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn])],
        )

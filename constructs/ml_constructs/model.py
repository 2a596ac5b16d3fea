"""A SageMaker Model: the container and artifact a version serves, network-isolated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_sagemaker as sagemaker

from constructs import Construct
from ml_constructs.iam import SageMakerExecutionRole


@dataclass(frozen=True)
class ModelSource:
    """Exactly one: a model package ARN, or an image with a model artifact."""

    model_package_arn: str | None = None
    image_uri: str | None = None
    model_data_url: str | None = None

    def __post_init__(self) -> None:
        if bool(self.model_package_arn) == bool(self.image_uri and self.model_data_url):
            raise ValueError("ModelSource: give model_package_arn, or image_uri and model_data_url")


@dataclass(frozen=True)
class HostedModelProps:
    source: ModelSource
    execution_role: SageMakerExecutionRole
    vpc_subnet_ids: Sequence[str] = field(default_factory=tuple)
    vpc_security_group_ids: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if bool(self.vpc_subnet_ids) != bool(self.vpc_security_group_ids):
            raise ValueError("HostedModelProps: give both vpc_subnet_ids and vpc_security_group_ids, or neither")


class HostedModel(Construct):
    """The name is generated: a new version is a new Model, which moves whatever uses it."""

    def __init__(self, scope: Construct, construct_id: str, props: HostedModelProps) -> None:
        super().__init__(scope, construct_id)
        source = props.source
        container = (
            sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=source.model_package_arn)
            if source.model_package_arn
            else sagemaker.CfnModel.ContainerDefinitionProperty(image=source.image_uri, model_data_url=source.model_data_url)
        )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=props.execution_role.role_arn,
            primary_container=container,
            enable_network_isolation=True,
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=list(props.vpc_subnet_ids), security_group_ids=list(props.vpc_security_group_ids)
            )
            if props.vpc_subnet_ids
            else None,
        )
        # SageMaker checks at creation that the role can read the artifact: policy first.
        self.model.node.add_dependency(props.execution_role)

    @property
    def model_name(self) -> str:
        return self.model.attr_model_name

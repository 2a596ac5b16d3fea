"""A cdk-nag style rule pack for SageMaker: the checks AWS's packs do not have.

It is a CDK policy-validation plugin (the API cdk-nag 3 packs use), and it reads the
*synthesized* templates, so L1 resources, escape hatches and property overrides are checked
as CloudFormation will see them. Findings are acknowledged like cdk-nag's:

    Validations.of(app).add_plugins(AwsSolutionsChecks(app), SageMakerChecks(production=True))
    Validations.of(construct).acknowledge(Acknowledgment(id="SageMaker::SageMaker-ModelVpc", reason="..."))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
)

from ml_constructs.endpoint import has_instance_storage

PACK = "SageMaker"


@dataclass(frozen=True)
class Rule:
    id: str
    explanation: str
    fix: str


RULES = {
    rule.id: rule
    for rule in (
        Rule(
            "SageMaker-ModelNetworkIsolation",
            "The model's container can reach the network: a compromised or malicious model could send data out.",
            "Set EnableNetworkIsolation: true on AWS::SageMaker::Model (HostedModel does).",
        ),
        Rule(
            "SageMaker-ModelVpc",
            "In an environment with a VPC, the model runs outside it.",
            "Give the model a VpcConfig (subnets and security groups).",
        ),
        Rule(
            "SageMaker-EndpointConfigKms",
            "The endpoint's storage volume or its captured requests are not encrypted with your KMS key.",
            "Set KmsKeyId on AWS::SageMaker::EndpointConfig and on its DataCaptureConfig.",
        ),
        Rule(
            "SageMaker-EndpointAutoRollback",
            "An update of this endpoint cannot roll back by itself when the new model misbehaves.",
            "Give AWS::SageMaker::Endpoint a DeploymentConfig with AutoRollbackConfiguration alarms (error rate, latency).",
        ),
        Rule(
            "SageMaker-AutoscalingInstance",
            "An autoscaled variant is on a burstable instance (which cannot autoscale), or a production variant can scale to one.",
            "Use a non-ml.t* instance type, and MinCapacity >= 2 in production.",
        ),
        Rule(
            "SageMaker-TrainingJobSecurity",
            "A training job started by a state machine lacks volume or output encryption, a max runtime, or network isolation.",
            "Set ResourceConfig.VolumeKmsKeyId, OutputDataConfig.KmsKeyId, StoppingCondition.MaxRuntimeInSeconds and "
            "EnableNetworkIsolation: true in the createTrainingJob task.",
        ),
        Rule(
            "SageMaker-TransformJobSecurity",
            "A transform job started by a state machine lacks volume or output encryption, or nothing bounds its run time.",
            "Set TransformResources.VolumeKmsKeyId, TransformOutput.KmsKeyId, and a TimeoutSeconds on the task or the state machine.",
        ),
        Rule(
            "SageMaker-ArtifactBucketVersioning",
            "A bucket that holds model artifacts is not versioned: an overwritten or deleted model cannot be recovered.",
            "Enable versioning on the bucket (SecureBucket does by default).",
        ),
        Rule(
            "SageMaker-AcknowledgmentReason",
            "A rule acknowledgment in the app gives no reason, so a reviewer cannot judge it.",
            "Write why the finding is acceptable in Acknowledgment(reason=...).",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    rule: str
    template_path: str | None = None
    logical_id: str | None = None
    construct_path: str | None = None
    location: str = ""


@dataclass(frozen=True)
class CheckOptions:
    production: bool = False
    """Production variants must keep at least two instances."""
    require_vpc: bool = False
    """Models must run in a VPC."""


@dataclass
class Templates:
    """The synthesized templates of the app, by path."""

    by_path: dict[str, dict[str, Any]]
    metadata: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def resources(self, resource_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, template in self.by_path.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource.get("Type") == resource_type:
                    yield path, logical_id, resource.get("Properties", {})


# --- rules ----------------------------------------------------------------------------------------


def check_models(templates: Templates, options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::SageMaker::Model"):
        if properties.get("EnableNetworkIsolation") is not True:
            yield Finding("SageMaker-ModelNetworkIsolation", path, logical_id, location="Properties/EnableNetworkIsolation")
        if options.require_vpc and not properties.get("VpcConfig"):
            yield Finding("SageMaker-ModelVpc", path, logical_id, location="Properties/VpcConfig")


def check_endpoint_configs(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::SageMaker::EndpointConfig"):
        variants = properties.get("ProductionVariants", [])
        needs_volume_key = any(
            "ServerlessConfig" not in v and not has_instance_storage(str(v.get("InstanceType", "ml.x.x"))) for v in variants
        )
        if needs_volume_key and not properties.get("KmsKeyId"):
            yield Finding("SageMaker-EndpointConfigKms", path, logical_id, location="Properties/KmsKeyId")
        capture = properties.get("DataCaptureConfig")
        if capture and capture.get("EnableCapture", True) and not capture.get("KmsKeyId"):
            yield Finding("SageMaker-EndpointConfigKms", path, logical_id, location="Properties/DataCaptureConfig/KmsKeyId")


def check_endpoints(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::SageMaker::Endpoint"):
        alarms = properties.get("DeploymentConfig", {}).get("AutoRollbackConfiguration", {}).get("Alarms")
        if not alarms:
            yield Finding("SageMaker-EndpointAutoRollback", path, logical_id, location="Properties/DeploymentConfig")


def _variant_instance_types(template: dict[str, Any], endpoint_name: str) -> dict[str, str]:
    """Variant name → instance type for the endpoint of that name in this template."""
    resources = template.get("Resources", {})
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::SageMaker::Endpoint" and properties.get("EndpointName") == endpoint_name:
            reference = properties.get("EndpointConfigName", {})
            config_id = (reference.get("Fn::GetAtt") or [reference.get("Ref")])[0] if isinstance(reference, dict) else None
            config = resources.get(config_id or "", {}).get("Properties", {})
            return {str(v.get("VariantName")): str(v.get("InstanceType", "")) for v in config.get("ProductionVariants", [])}
    return {}


def check_autoscaling(templates: Templates, options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::ApplicationAutoScaling::ScalableTarget"):
        if properties.get("ServiceNamespace") != "sagemaker":
            continue
        match = re.fullmatch(r"endpoint/([^/]+)/variant/([^/]+)", str(properties.get("ResourceId", "")))
        if not match:
            continue
        instance_type = _variant_instance_types(templates.by_path[path], match.group(1)).get(match.group(2), "")
        if instance_type.startswith("ml.t"):
            yield Finding("SageMaker-AutoscalingInstance", path, logical_id, location="Properties/ResourceId")
        if options.production and isinstance(properties.get("MinCapacity"), int) and properties["MinCapacity"] < 2:
            yield Finding("SageMaker-AutoscalingInstance", path, logical_id, location="Properties/MinCapacity")


def _rendered(value: Any) -> str:
    """A CloudFormation string (literal, Fn::Join or Fn::Sub) with references as placeholders."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_rendered(p) if isinstance(p, str | dict) and not _is_reference(p) else "<ref>" for p in parts)
    if isinstance(value, dict) and "Fn::Sub" in value:
        template = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
        return re.sub(r"\$\{[^}]+\}", "<ref>", template)
    return ""


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and any(k in value for k in ("Ref", "Fn::GetAtt", "Fn::ImportValue", "Fn::GetStackOutput"))


def _tasks(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from _tasks(branch.get("States", {}))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _tasks(state[key].get("States", {}))


def _has(arguments: dict[str, Any], *path: str) -> bool:
    """A field is set, literally or from a JSONPath (``Key.$``) or JSONata expression."""
    node: Any = arguments
    for index, key in enumerate(path):
        if not isinstance(node, dict):
            return isinstance(node, str) and node.startswith("{%")  # a JSONata expression builds the rest
        if index == len(path) - 1:
            return node.get(key) not in (None, "", False) or f"{key}.$" in node
        if f"{key}.$" in node:
            return True
        node = node.get(key)
    return False


def _state_machines(templates: Templates) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, logical_id, properties in templates.resources("AWS::StepFunctions::StateMachine"):
        text = _rendered(properties.get("DefinitionString", ""))
        try:
            definition = json.loads(text)
        except json.JSONDecodeError:
            continue  # a definition that cannot be read here cannot be judged here
        yield path, logical_id, definition


def check_state_machine_jobs(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, definition in _state_machines(templates):
        for task in _tasks(definition.get("States", {})):
            resource = str(task.get("Resource", ""))
            arguments = task.get("Arguments") or task.get("Parameters") or {}
            if ":sagemaker:createTrainingJob" in resource:
                required = [
                    ("ResourceConfig", "VolumeKmsKeyId"),
                    ("OutputDataConfig", "KmsKeyId"),
                    ("StoppingCondition", "MaxRuntimeInSeconds"),
                    ("EnableNetworkIsolation",),
                ]
                missing = [".".join(p) for p in required if not _has(arguments, *p)]
                if arguments.get("EnableNetworkIsolation") is False:
                    missing.append("EnableNetworkIsolation")
                if missing:
                    yield Finding("SageMaker-TrainingJobSecurity", path, logical_id, location=f"DefinitionString: {', '.join(missing)}")
            if ":sagemaker:createTransformJob" in resource:
                instance_type = str(arguments.get("TransformResources", {}).get("InstanceType", "ml.x.x"))
                required = [("TransformOutput", "KmsKeyId")]
                if not has_instance_storage(instance_type):
                    required.append(("TransformResources", "VolumeKmsKeyId"))
                missing = [".".join(p) for p in required if not _has(arguments, *p)]
                if "TimeoutSeconds" not in task and "TimeoutSeconds" not in definition and "TimeoutSecondsPath" not in task:
                    missing.append("TimeoutSeconds")
                if missing:
                    yield Finding("SageMaker-TransformJobSecurity", path, logical_id, location=f"DefinitionString: {', '.join(missing)}")


_S3_BUCKET = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/")


def check_artifact_buckets(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    holders: set[str] = set()
    for _path, _id, definition in _state_machines(templates):
        for task in _tasks(definition.get("States", {})):
            if ":sagemaker:createTrainingJob" in str(task.get("Resource", "")):
                output = (task.get("Arguments") or task.get("Parameters") or {}).get("OutputDataConfig", {})
                holders.update(_S3_BUCKET.findall(json.dumps(output)))
    for _path, _id, properties in templates.resources("AWS::SageMaker::Model"):
        holders.update(_S3_BUCKET.findall(json.dumps(properties.get("PrimaryContainer", {}))))
    for path, logical_id, properties in templates.resources("AWS::S3::Bucket"):
        if properties.get("BucketName") in holders and properties.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            yield Finding("SageMaker-ArtifactBucketVersioning", path, logical_id, location="Properties/VersioningConfiguration")


def check_acknowledgments(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for metadata in templates.metadata.values():
        for construct_path, entries in metadata.items():
            for entry in entries:
                if entry.get("type") != "aws:cdk:acknowledged-rules":
                    continue
                for rule_id, reason in (entry.get("data") or {}).items():
                    if not str(reason or "").strip():
                        yield Finding("SageMaker-AcknowledgmentReason", construct_path=construct_path.lstrip("/"), location=rule_id)


CHECKS = (
    check_models,
    check_endpoint_configs,
    check_endpoints,
    check_autoscaling,
    check_state_machine_jobs,
    check_artifact_buckets,
    check_acknowledgments,
)


def check(templates: Templates, options: CheckOptions | None = None) -> list[Finding]:
    options = options or CheckOptions()
    return [finding for run in CHECKS for finding in run(templates, options)]


def load(template_paths: list[str]) -> Templates:
    by_path, metadata = {}, {}
    for template_path in template_paths:
        path = Path(template_path)
        by_path[template_path] = json.loads(path.read_text())
        metadata_file = path.with_name(path.name.removesuffix(".template.json") + ".metadata.json")
        if metadata_file.is_file():
            metadata[template_path] = json.loads(metadata_file.read_text())
    return Templates(by_path, metadata)


@jsii.implements(IPolicyValidationPlugin)
class SageMakerChecks:
    """The SageMaker rule pack as a CDK validation plugin (``Validations.of(stage).add_plugins``)."""

    def __init__(self, *, production: bool = False, require_vpc: bool = False) -> None:
        self.options = CheckOptions(production=production, require_vpc=require_vpc)

    @property
    def name(self) -> str:
        return PACK

    @property
    def version(self) -> str:
        return "1.0.0"

    @property
    def rule_ids(self) -> list[str]:
        return sorted(RULES)

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        findings = check(load(list(context.template_paths)), self.options)
        violations = []
        for rule_id in sorted({f.rule for f in findings}):
            rule = RULES[rule_id]
            resources = [
                PolicyViolatingResource(construct_path=f.construct_path, locations=[f.location])
                if f.construct_path
                else PolicyViolatingResource(resource_logical_id=f.logical_id, template_path=f.template_path, locations=[f.location])
                for f in findings
                if f.rule == rule_id
            ]
            violations.append(
                PolicyViolation(
                    rule_name=rule_id, description=rule.explanation, fix=rule.fix, severity="error", violating_resources=resources
                )
            )
        return PolicyValidationPluginReport(success=not violations, violations=violations, plugin_version=self.version)

"""A cdk-nag style rule pack for SageMaker: the checks AWS's packs do not have.

It is a CDK policy-validation plugin (the API cdk-nag 3 packs use), and it reads the
*synthesized* templates, so L1 resources, escape hatches and property overrides are checked
as CloudFormation will see them. Values are read the way CloudFormation resolves them
(:mod:`ml_constructs.cfn_references`): a rule that needs a value (which bucket an S3 URI names,
which endpoint a scalable target scales, whether a flag is true) follows Ref, Fn::GetAtt,
Fn::Join, Fn::Sub, Fn::Select/Fn::Split and cross-stack imports to it, so generated names count
like literal ones; a reference it cannot follow is a finding that says so, never a pass.
Findings are acknowledged like cdk-nag's:

    Validations.of(app).add_plugins(AwsSolutionsChecks(app), SageMakerChecks(production=True))
    Validations.of(construct).acknowledge(Acknowledgment(id="SageMaker::SageMaker-ModelVpc", reason="..."))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
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

from ml_constructs.cfn_references import Deployment, Resolver, Text, Unresolved, as_text, deployments
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
            "SageMaker-ProcessingJobSecurity",
            "A processing job started by a state machine (a baseline, an evaluation) lacks volume or output encryption, a max "
            "runtime, or network isolation.",
            "Set ProcessingResources.ClusterConfig.VolumeKmsKeyId, ProcessingOutputConfig.KmsKeyId, "
            "StoppingCondition.MaxRuntimeInSeconds and NetworkConfig.EnableNetworkIsolation: true in the createProcessingJob task.",
        ),
        Rule(
            "SageMaker-MonitoringJobSecurity",
            "A model-monitoring job definition lacks volume or output encryption, a max runtime, or network isolation: its jobs "
            "read every captured request.",
            "Set JobResources.ClusterConfig.VolumeKmsKeyId, the job output config's KmsKeyId, StoppingCondition.MaxRuntimeInSeconds "
            "and NetworkConfig.EnableNetworkIsolation: true (DataQualityMonitor does).",
        ),
        Rule(
            "SageMaker-ArtifactBucketVersioning",
            "A bucket that holds model artifacts is not versioned, or cannot be told from the templates: an overwritten or "
            "deleted model cannot be recovered.",
            "Enable versioning on the bucket (SecureBucket does by default). A bucket only known at deploy time (a parameter, "
            "another app's export) cannot be checked here: acknowledge the finding with where that bucket's versioning is ensured.",
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
    """The synthesized templates of the app, by path, read through a CloudFormation resolver:
    rules see property values as CloudFormation deploys them, not as the template spells them."""

    by_path: dict[str, dict[str, Any]]
    metadata: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    """Stack name, account and Region per template (from the cloud assembly's manifest)."""
    _named: dict[tuple[str, str], dict[Text, tuple[str, str]]] = field(default_factory=dict, init=False, repr=False)

    @cached_property
    def references(self) -> Resolver:
        return Resolver(self.by_path, self.deployments)

    def resources(self, resource_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(template path, logical id, resolved properties) of every resource of that type."""
        for path, template in self.by_path.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource.get("Type") == resource_type:
                    properties = self.references.value(resource.get("Properties", {}), path)
                    yield path, logical_id, properties if isinstance(properties, dict) else {}

    def properties(self, located: tuple[str, str]) -> Any:
        """The resolved properties of the resource at (template path, logical id)."""
        path, logical_id = located
        return self.references.value(self.by_path[path]["Resources"][logical_id].get("Properties", {}), path)

    def named(self, resource_type: str, name_attribute: str) -> dict[Text, tuple[str, str]]:
        """Resources of a type by the name they deploy under, literal or generated, so that a
        name reached through any reference (Ref, an import, ...) finds its resource."""
        key = (resource_type, name_attribute)
        if key not in self._named:
            self._named[key] = {
                self.references.text(_name_reference(logical_id, name_attribute), path): (path, logical_id)
                for path, template in self.by_path.items()
                for logical_id, resource in template.get("Resources", {}).items()
                if resource.get("Type") == resource_type
            }
        return self._named[key]

    @cached_property
    def state_machines(self) -> list[tuple[str, str, dict[str, Any] | Unresolved, str]]:
        """(path, logical id, ASL document or why it cannot be read, the raw definition as text)."""
        machines = []
        for path, template in self.by_path.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource.get("Type") == "AWS::StepFunctions::StateMachine":
                    properties = resource.get("Properties", {})
                    definition = self.references.state_machine_definition(properties, path)
                    machines.append((path, logical_id, definition, json.dumps(properties)))
        return machines


def _name_reference(logical_id: str, attribute: str) -> dict[str, Any]:
    return {"Ref": logical_id} if attribute == "Ref" else {"Fn::GetAtt": [logical_id, attribute]}


# --- reading resolved values ----------------------------------------------------------------------


def _literal(value: Any) -> str | None:
    """The string a resolved value is, when the templates fix it."""
    if isinstance(value, str):
        return value
    return value.literal if isinstance(value, Text) else None


def _is_true(value: Any) -> bool:
    # CloudFormation takes a Boolean property as JSON true or the string "true".
    return value is True or (_literal(value) or "").lower() == "true"


def _is_false(value: Any) -> bool:
    return value is False or (_literal(value) or "").lower() == "false"


def _set(value: Any) -> bool:
    """A field has a value (a reference counts; a value that may be AWS::NoValue does not)."""
    return value not in (None, "", False) and not isinstance(value, Unresolved)


def _integer(value: Any) -> int | None:
    # CloudFormation takes an Integer property as a JSON number or a string of digits.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    literal = _literal(value)
    return int(literal) if literal is not None and re.fullmatch(r"-?\d+", literal) else None


def _get(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _why(value: Any) -> str:
    """Why a value the rule needs is not known at synth, for the finding's location ('' if it is)."""
    unresolved = value.unresolved if isinstance(value, Text) else (value,) if isinstance(value, Unresolved) else ()
    if unresolved:
        return f" (cannot be resolved: {unresolved[0].reason})"
    if isinstance(value, Text) and value.literal is None:
        return f" (only known at deploy time: {value})"
    return ""


def _is_expression(value: Any) -> bool:
    """A JSONata expression: the field's value is computed when the state runs."""
    return (isinstance(value, str) and value.startswith("{%")) or (isinstance(value, Text) and value.startswith("{%"))


# --- rules ----------------------------------------------------------------------------------------


def check_models(templates: Templates, options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::SageMaker::Model"):
        isolation = properties.get("EnableNetworkIsolation")
        if not _is_true(isolation):
            yield Finding(
                "SageMaker-ModelNetworkIsolation", path, logical_id, location="Properties/EnableNetworkIsolation" + _why(isolation)
            )
        vpc = properties.get("VpcConfig")
        if options.require_vpc and not isinstance(vpc, dict):
            yield Finding("SageMaker-ModelVpc", path, logical_id, location="Properties/VpcConfig" + _why(vpc))


def _has_instance_storage(instance_type: Any) -> bool:
    """Only a known instance type can be exempt from a volume key."""
    literal = _literal(instance_type)
    return literal is not None and literal.count(".") >= 1 and has_instance_storage(literal)


def check_endpoint_configs(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::SageMaker::EndpointConfig"):
        variants = properties.get("ProductionVariants", [])
        needs_volume_key = not isinstance(variants, list) or any(
            not isinstance(v, dict) or ("ServerlessConfig" not in v and not _has_instance_storage(v.get("InstanceType"))) for v in variants
        )
        key = properties.get("KmsKeyId")
        if needs_volume_key and not _set(key):
            yield Finding("SageMaker-EndpointConfigKms", path, logical_id, location="Properties/KmsKeyId" + _why(key))
        capture = properties.get("DataCaptureConfig")
        if capture and not _is_false(_get(capture, "EnableCapture")) and not _set(_get(capture, "KmsKeyId")):
            where = "Properties/DataCaptureConfig/KmsKeyId" + _why(
                capture if isinstance(capture, Unresolved) else _get(capture, "KmsKeyId")
            )
            yield Finding("SageMaker-EndpointConfigKms", path, logical_id, location=where)


def check_endpoints(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::SageMaker::Endpoint"):
        deployment = properties.get("DeploymentConfig")
        alarms = _get(deployment, "AutoRollbackConfiguration", "Alarms")
        if not isinstance(alarms, list) or not alarms:
            yield Finding("SageMaker-EndpointAutoRollback", path, logical_id, location="Properties/DeploymentConfig" + _why(deployment))


def _scaled_variant(resource_id: Any) -> tuple[Text, Text] | str | None:
    """(endpoint name, variant name) of a SageMaker variant's ResourceId
    (``endpoint/<name>/variant/<variant>``: RegisterScalableTarget's ResourceId); None for another
    kind of scalable resource; a reason when the ResourceId is only known at deploy time."""
    if isinstance(resource_id, Unresolved):
        return resource_id.reason
    text = resource_id if isinstance(resource_id, Text) else Text.of(str(resource_id or ""))
    segments = text.split("/")
    if isinstance(segments, tuple) and len(segments) == 4 and segments[0].literal == "endpoint" and segments[2].literal == "variant":
        return segments[1], segments[3]
    if text.literal is not None:
        return None
    return text.unresolved[0].reason if text.unresolved else f"{text} is only known at deploy time"


def _located(templates: Templates, resource_type: str, attribute: str, name: Text) -> tuple[str, str] | str | None:
    """The resource a name stands for; None for a literal name no template declares (a resource
    outside the app: not ours to check); a reason for a reference that leads nowhere here."""
    located = templates.named(resource_type, attribute).get(name)
    if located is not None or name.literal is not None:
        return located
    return name.unresolved[0].reason if name.unresolved else f"{name} is no {resource_type} of these templates"


def _variant_instance_type(templates: Templates, endpoint_name: Text, variant_name: Text) -> Text | str | None:
    """The instance type of that endpoint's variant (None when the endpoint lives elsewhere; a
    reason when a reference to it cannot be followed), across stacks: the scalable target, the
    endpoint and its config need not share a template."""
    endpoint = _located(templates, "AWS::SageMaker::Endpoint", "EndpointName", endpoint_name)
    if not isinstance(endpoint, tuple):
        return endpoint
    config_name = templates.references.text(_get(templates.properties(endpoint), "EndpointConfigName"), endpoint[0])
    config = _located(templates, "AWS::SageMaker::EndpointConfig", "EndpointConfigName", config_name)
    if not isinstance(config, tuple):
        return config
    variants = _get(templates.properties(config), "ProductionVariants")
    for variant in variants if isinstance(variants, list) else []:
        if isinstance(variant, dict) and as_text(variant.get("VariantName")) == variant_name:
            return as_text(variant.get("InstanceType"))
    return None


def check_autoscaling(templates: Templates, options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, properties in templates.resources("AWS::ApplicationAutoScaling::ScalableTarget"):
        namespace = _literal(properties.get("ServiceNamespace"))
        if namespace is not None and namespace != "sagemaker":
            continue
        variant = _scaled_variant(properties.get("ResourceId"))
        if variant is None or (isinstance(variant, str) and namespace is None):
            continue  # not a SageMaker variant (or nothing says it is one)
        instance_type = variant if isinstance(variant, str) else _variant_instance_type(templates, *variant)
        if isinstance(instance_type, str):
            yield Finding(
                "SageMaker-AutoscalingInstance",
                path,
                logical_id,
                location=f"Properties/ResourceId (cannot tell the variant: {instance_type})",
            )
        elif instance_type is not None and (instance_type.literal is None or instance_type.literal.startswith("ml.t")):
            yield Finding("SageMaker-AutoscalingInstance", path, logical_id, location="Properties/ResourceId" + _why(instance_type))
        minimum = properties.get("MinCapacity")
        if options.production and (_integer(minimum) or 0) < 2:  # a minimum only known at deploy time is not known to be 2
            yield Finding("SageMaker-AutoscalingInstance", path, logical_id, location="Properties/MinCapacity" + _why(minimum))


def _tasks(states: Any, prefix: str = "States") -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, state) of every Task state, nested ones (Parallel branches, Map processors) included."""
    for name, state in states.items() if isinstance(states, dict) else ():
        if not isinstance(state, dict):
            continue
        where = f"{prefix}.{name}"
        if state.get("Type") == "Task":
            yield where, state
        for index, branch in enumerate(state.get("Branches", []) if isinstance(state.get("Branches"), list) else []):
            yield from _tasks(_get(branch, "States"), f"{where}.Branches.{index}.States")
        for key in ("ItemProcessor", "Iterator"):
            yield from _tasks(_get(state, key, "States"), f"{where}.{key}.States")


def _arguments(task: dict[str, Any]) -> Any:
    return task.get("Arguments") or task.get("Parameters") or {}


def _has(arguments: Any, *path: str) -> bool:
    """A field is set: literally, to a CloudFormation reference, or from a JSONPath (``Key.$``) or
    JSONata expression (which the job then receives at run time)."""
    node: Any = arguments
    for index, key in enumerate(path):
        if not isinstance(node, dict):
            return _is_expression(node)  # a JSONata expression builds the rest
        if index == len(path) - 1:
            return _set(node.get(key)) or f"{key}.$" in node
        if f"{key}.$" in node:
            return True
        node = node.get(key)
    return False


def _isolation_problem(arguments: Any) -> str | None:
    """EnableNetworkIsolation must be true, or set by an expression at run time."""
    isolation = _get(arguments, "EnableNetworkIsolation")
    from_path = isinstance(arguments, dict) and "EnableNetworkIsolation.$" in arguments
    if from_path or _is_expression(arguments) or _is_true(isolation) or _is_expression(isolation):
        return None
    return "EnableNetworkIsolation" + _why(isolation)


def _readable_state_machines(templates: Templates) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, logical_id, definition, _raw in templates.state_machines:
        if isinstance(definition, dict):
            yield path, logical_id, definition


def check_state_machine_jobs(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for path, logical_id, definition, raw in templates.state_machines:
        if isinstance(definition, Unresolved):
            # A definition that cannot be read cannot be judged: say so where it starts a job.
            for action, rule in (
                (":sagemaker:createTrainingJob", "Training"),
                (":sagemaker:createTransformJob", "Transform"),
                (":sagemaker:createProcessingJob", "Processing"),
            ):
                if action in raw:
                    yield Finding(
                        f"SageMaker-{rule}JobSecurity", path, logical_id, location=f"Definition: cannot be read ({definition.reason})"
                    )
            continue
        for where, task in _tasks(definition.get("States")):
            resource = str(task.get("Resource", ""))
            arguments = _arguments(task)
            if ":sagemaker:createTrainingJob" in resource:
                required = [
                    ("ResourceConfig", "VolumeKmsKeyId"),
                    ("OutputDataConfig", "KmsKeyId"),
                    ("StoppingCondition", "MaxRuntimeInSeconds"),
                ]
                missing = [".".join(p) for p in required if not _has(arguments, *p)]
                missing += [problem for problem in [_isolation_problem(arguments)] if problem]
                if missing:
                    yield Finding(
                        "SageMaker-TrainingJobSecurity", path, logical_id, location=f"DefinitionString {where}: {', '.join(missing)}"
                    )
            if ":sagemaker:createProcessingJob" in resource:
                required = [
                    ("ProcessingResources", "ClusterConfig", "VolumeKmsKeyId"),
                    ("ProcessingOutputConfig", "KmsKeyId"),
                    ("StoppingCondition", "MaxRuntimeInSeconds"),
                ]
                missing = [".".join(p) for p in required if not _has(arguments, *p)]
                isolation = _isolation_problem(_get(arguments, "NetworkConfig") if not _is_expression(arguments) else arguments)
                missing += [f"NetworkConfig.{isolation}"] if isolation else []
                if missing:
                    yield Finding(
                        "SageMaker-ProcessingJobSecurity", path, logical_id, location=f"DefinitionString {where}: {', '.join(missing)}"
                    )
            if ":sagemaker:createTransformJob" in resource:
                required = [("TransformOutput", "KmsKeyId")]
                if not _has_instance_storage(_get(arguments, "TransformResources", "InstanceType")):
                    required.append(("TransformResources", "VolumeKmsKeyId"))
                missing = [".".join(p) for p in required if not _has(arguments, *p)]
                if "TimeoutSeconds" not in task and "TimeoutSeconds" not in definition and "TimeoutSecondsPath" not in task:
                    missing.append("TimeoutSeconds")
                if missing:
                    yield Finding(
                        "SageMaker-TransformJobSecurity", path, logical_id, location=f"DefinitionString {where}: {', '.join(missing)}"
                    )


_MONITORING_JOB_DEFINITIONS = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobOutputConfig",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobOutputConfig",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobOutputConfig",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityJobOutputConfig",
}


def check_monitoring_jobs(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    for resource_type, output in _MONITORING_JOB_DEFINITIONS.items():
        for path, logical_id, properties in templates.resources(resource_type):
            required = [
                ("JobResources", "ClusterConfig", "VolumeKmsKeyId"),
                (output, "KmsKeyId"),
                ("StoppingCondition", "MaxRuntimeInSeconds"),
            ]
            missing = [".".join(p) for p in required if not _set(_get(properties, *p))]
            isolation = _get(properties, "NetworkConfig", "EnableNetworkIsolation")
            if not _is_true(isolation):
                missing.append("NetworkConfig.EnableNetworkIsolation" + _why(isolation))
            if missing:
                yield Finding("SageMaker-MonitoringJobSecurity", path, logical_id, location=", ".join(missing))


# --- where model artifacts live -------------------------------------------------------------------

# The fields of SageMaker's requests and resources that name where a model artifact is written or
# read: a training (or AutoML, or tuning) job's OutputDataConfig.S3OutputPath, and a container's
# ModelDataUrl or ModelDataSource.S3DataSource.S3Uri (CreateModel, CreateModelPackage and their
# CloudFormation resources use the same names; botocore's sagemaker service model).
_ARTIFACT_FIELDS = (("OutputDataConfig", "S3OutputPath"), ("ModelDataUrl",), ("ModelDataSource", "S3DataSource", "S3Uri"))
_ARTIFACT_RESOURCES = ("AWS::SageMaker::Model", "AWS::SageMaker::ModelPackage")
_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9.\-]*")


def _artifact_locations(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(where, value) of every artifact field in a request or a resource's properties. A
    ``Key.$`` field is a JSONPath read at run time, so it is not one of them."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        here = (*path, str(key))
        if any(here[-len(f) :] == f for f in _ARTIFACT_FIELDS):
            yield "/".join(here), value
        else:
            yield from _artifact_locations(value, here)


def _name_from(text: Text, index: int, offset: int) -> tuple[Text, tuple[int, int] | None]:
    """The host or bucket name starting at ``parts[index][offset:]`` (name characters and symbols),
    and where it stops: (part, offset) of the first other character, None at the end."""
    pieces: list[str | Any] = []
    for position in range(index, len(text.parts)):
        part = text.parts[position]
        if not isinstance(part, str):
            pieces.append(part)
            continue
        start = offset if position == index else 0
        name = _NAME_CHARACTERS.match(part, start)
        end = name.end() if name else start
        pieces.append(part[start:end])
        if end < len(part):
            return Text.of(*pieces), (position, end)
    return Text.of(*pieces), None


def _url_bucket(text: Text, index: int, offset: int) -> Text | None:
    """The bucket of an https URL whose host starts at ``parts[index][offset:]``: path style
    (``s3.<region>.amazonaws.com/<bucket>/...``, what CDK's S3Location.fromBucket writes) or
    virtual-hosted style (``<bucket>.s3.<region>.amazonaws.com/...``). S3 User Guide, "Virtual
    hosting of buckets": https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html"""
    host, stop = _name_from(text, index, offset)
    if host.startswith("s3.") or host.startswith("s3-"):
        separator = text.parts[stop[0]] if stop else None
        if stop is None or not isinstance(separator, str) or separator[stop[1]] != "/":
            return None
        return _name_from(text, stop[0], stop[1] + 1)[0]
    for position, part in enumerate(host.parts):
        match = re.search(r"\.s3[.-]", part) if isinstance(part, str) else None
        if match:
            return Text.of(*host.parts[:position], part[: match.start()])
    return None


def _buckets_in(text: Text) -> list[Text]:
    """Every bucket that an ``s3://`` URI or an ``https://`` S3 URL in the text names."""
    buckets = []
    for index, part in enumerate(text.parts):
        for match in re.finditer(r"s3://|https://", part) if isinstance(part, str) else ():
            if match.group() == "s3://":
                bucket: Text | None = _name_from(text, index, match.end())[0]
            else:
                bucket = _url_bucket(text, index, match.end())
            if bucket is not None and bucket.parts:
                buckets.append(bucket)
    return buckets


def _artifact_buckets(value: Any) -> list[Text] | str:
    """The buckets an artifact field names, or why that cannot be told at synth. An expression
    evaluated at run time names only the buckets written into it (others come from the run)."""
    if isinstance(value, Unresolved):
        return value.reason
    text = value if isinstance(value, Text) else Text.of(value) if isinstance(value, str) else None
    if text is None:
        return f"a {type(value).__name__}, not an S3 URI"
    buckets = _buckets_in(text)
    if _is_expression(text):
        return buckets
    if not (text.startswith("s3://") or text.startswith("https://")) or not buckets:
        return f"{text} is not an S3 URI whose bucket can be told{_why(text)}"
    return buckets[:1]


def _artifact_holders(templates: Templates) -> Iterator[tuple[str, str, str, Any]]:
    """(path, logical id, where, value) of every artifact field: SageMaker resources, and the
    SageMaker requests of state machine tasks (createTrainingJob, createModel, createModelPackage...)."""
    for resource_type in _ARTIFACT_RESOURCES:
        for path, logical_id, properties in templates.resources(resource_type):
            for where, value in _artifact_locations(properties):
                yield path, logical_id, f"Properties/{where}", value
    for path, logical_id, definition in _readable_state_machines(templates):
        for state, task in _tasks(definition.get("States")):
            if re.search(r":states:::(aws-sdk:)?sagemaker:", str(task.get("Resource", ""))):
                for where, value in _artifact_locations(_arguments(task)):
                    yield path, logical_id, f"DefinitionString {state}: {where.replace('/', '.')}", value


def check_artifact_buckets(templates: Templates, _options: CheckOptions) -> Iterator[Finding]:
    holders: set[tuple[str, str]] = set()
    for path, logical_id, where, value in _artifact_holders(templates):
        names = _artifact_buckets(value)
        if isinstance(names, str):
            yield Finding("SageMaker-ArtifactBucketVersioning", path, logical_id, location=f"{where}: {names}")
            continue
        for name in names:
            bucket = _located(templates, "AWS::S3::Bucket", "Ref", name)
            if isinstance(bucket, str):
                yield Finding(
                    "SageMaker-ArtifactBucketVersioning", path, logical_id, location=f"{where}: cannot tell the bucket ({bucket})"
                )
            elif bucket is not None:
                holders.add(bucket)
    for bucket in sorted(holders):
        status = _get(templates.properties(bucket), "VersioningConfiguration", "Status")
        if _literal(status) != "Enabled":
            yield Finding("SageMaker-ArtifactBucketVersioning", *bucket, location="Properties/VersioningConfiguration" + _why(status))


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
    check_monitoring_jobs,
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
    return Templates(by_path, metadata, deployments(template_paths))


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

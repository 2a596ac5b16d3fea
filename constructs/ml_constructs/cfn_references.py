"""CloudFormation's intrinsic functions, resolved the way CloudFormation resolves them, over the
synthesized templates of one environment (one account and region: what a CDK Stage synthesizes).

A resolved string is a :class:`Text`: literal pieces where the templates fix them, and symbols for
what only the deployment knows: the name CloudFormation generates for a resource the template
leaves unnamed (:class:`PhysicalName`), a return value CloudFormation assigns (:class:`Attribute`),
a parameter, a pseudo parameter the cloud assembly's manifest does not fix. Equal texts are the
same value, so a check can answer "this S3 URI's bucket is resource X of stack Y" for a generated
name reached through ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select`` /
``Fn::Split``, ``Fn::FindInMap``, ``Fn::ImportValue`` or ``Fn::GetStackOutput``. What cannot be
followed (``Fn::If``, an import that no template here exports, ...) becomes an :class:`Unresolved`
symbol that says why: a caller reports it; it never passes for a value.

Semantics: the CloudFormation Template Reference (``DOCS`` below), one page per function, named
where each function is implemented.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"

# --- symbols: the pieces of a value that only a deployment knows ----------------------------------


@dataclass(frozen=True)
class PhysicalName:
    """The name CloudFormation generates for a resource whose template sets no name property
    (stack name, logical id and a random suffix: ``aws-properties-name.html``)."""

    stack: str
    logical_id: str

    def __str__(self) -> str:
        return f"<generated name of {self.logical_id} in {Path(self.stack).name}>"


@dataclass(frozen=True)
class Attribute:
    """A return value that CloudFormation assigns (``attribute`` is ``Ref`` for what Ref returns)."""

    stack: str
    logical_id: str
    attribute: str

    def __str__(self) -> str:
        return f"<{self.logical_id}.{self.attribute} in {Path(self.stack).name}>"


@dataclass(frozen=True)
class Parameter:
    """A template parameter: its value is whatever the deployment passes."""

    stack: str
    name: str

    def __str__(self) -> str:
        return f"<parameter {self.name} of {Path(self.stack).name}>"


@dataclass(frozen=True)
class Pseudo:
    """A pseudo parameter the manifest does not fix (``pseudo-parameter-reference.html``)."""

    name: str
    stack: str = ""
    """Only for the per-stack ones (AWS::StackId, an unknown AWS::StackName)."""

    def __str__(self) -> str:
        return f"<{self.name}>"


@dataclass(frozen=True, eq=False)
class Unresolved:
    """A value this module cannot follow, and why. Compared by identity: two unknowns are not
    the same unknown, but one memoized reference followed twice is."""

    reason: str

    def __str__(self) -> str:
        return f"<unresolved: {self.reason}>"


Symbol = PhysicalName | Attribute | Parameter | Pseudo | Unresolved

# Characters a symbol's value can hold, for Fn::Split: a symbol splits only on a delimiter it
# cannot contain. Generated names are built from the stack name (letters, digits, hyphens) and
# the logical id; account ids are digits; Regions and partitions lowercase words with hyphens.
_ALPHABETS: Final = {
    "AWS::AccountId": "0-9",
    "AWS::Region": "a-z0-9-",
    "AWS::Partition": "a-z-",
    "AWS::URLSuffix": "a-z.",
    "AWS::StackName": "A-Za-z0-9-",
}
_GENERATED_NAME_ALPHABET: Final = "A-Za-z0-9-"


def _may_contain(symbol: Symbol, delimiter: str) -> bool:
    alphabet = _GENERATED_NAME_ALPHABET if isinstance(symbol, PhysicalName) else None
    if isinstance(symbol, Pseudo):
        alphabet = _ALPHABETS.get(symbol.name)
    return alphabet is None or re.fullmatch(f"[{alphabet}]+", delimiter) is not None


@dataclass(frozen=True)
class Text:
    """A string as deployed: literal pieces and symbols, adjacent literals merged (so equal
    values have equal parts)."""

    parts: tuple[str | Symbol, ...] = ()

    @classmethod
    def of(cls, *pieces: str | Symbol | Text) -> Text:
        parts: list[str | Symbol] = []
        for piece in pieces:
            for part in piece.parts if isinstance(piece, Text) else (piece,):
                if isinstance(part, str) and parts and isinstance(parts[-1], str):
                    parts[-1] += part
                elif part != "":
                    parts.append(part)
        return cls(tuple(parts))

    @property
    def literal(self) -> str | None:
        """The whole string when the templates fix it, else None."""
        if not self.parts:
            return ""
        only = self.parts[0]
        return only if len(self.parts) == 1 and isinstance(only, str) else None

    @property
    def unresolved(self) -> tuple[Unresolved, ...]:
        return tuple(p for p in self.parts if isinstance(p, Unresolved))

    def startswith(self, prefix: str) -> bool:
        return bool(self.parts) and isinstance(self.parts[0], str) and self.parts[0].startswith(prefix)

    def split(self, delimiter: str) -> tuple[Text, ...] | Unresolved:
        """Fn::Split: literal pieces split; a symbol stays whole unless it may hold the delimiter."""
        segments: list[list[str | Symbol]] = [[]]
        for part in self.parts:
            if isinstance(part, str):
                first, *rest = part.split(delimiter)
                segments[-1].append(first)
                segments.extend([piece] for piece in rest)
            elif _may_contain(part, delimiter):
                return Unresolved(f"{part} may contain {delimiter!r}, so Fn::Split cannot tell its pieces")
            else:
                segments[-1].append(part)
        return tuple(Text.of(*segment) for segment in segments)

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts)


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()
"""``Ref AWS::NoValue``: CloudFormation removes the property (``pseudo-parameter-reference.html``)."""


def as_string(text: Text) -> str | Text:
    """A literal text as ``str``, anything else as the Text."""
    literal = text.literal
    return literal if literal is not None else text


def as_text(value: Any) -> Text:
    """A resolved value in a string position (CloudFormation writes booleans and numbers as JSON does)."""
    if isinstance(value, Text):
        return value
    if isinstance(value, str):
        return Text.of(value)
    if isinstance(value, bool):
        return Text.of("true" if value else "false")
    if isinstance(value, int | float):
        return Text.of(json.dumps(value))
    if isinstance(value, Unresolved):
        return Text.of(value)
    return Text.of(Unresolved(f"a {type(value).__name__} where a string belongs"))


# --- what Ref and Fn::GetAtt return -------------------------------------------------------------

# For the types whose names the checks follow: the return value that is the resource's name, and
# the property that sets it (else CloudFormation generates one). From each type's "Return
# values" section: aws-resource-s3-bucket.html (Ref: the bucket name),
# aws-resource-sagemaker-endpoint.html, -endpointconfig.html, -model.html (Ref: the ARN;
# Fn::GetAtt EndpointName / EndpointConfigName / ModelName: the name).
_NAMES: Final[dict[str, tuple[str, str]]] = {
    "AWS::S3::Bucket": ("Ref", "BucketName"),
    "AWS::SageMaker::Endpoint": ("EndpointName", "EndpointName"),
    "AWS::SageMaker::EndpointConfig": ("EndpointConfigName", "EndpointConfigName"),
    "AWS::SageMaker::Model": ("ModelName", "ModelName"),
}


def _bucket_arn(name: Text, pseudo: Callable[[str], Text]) -> Text:
    return Text.of("arn:", pseudo("AWS::Partition"), ":s3:::", name)


def _bucket_domain(name: Text, pseudo: Callable[[str], Text]) -> Text:
    return Text.of(name, ".s3.", pseudo("AWS::URLSuffix"))


def _bucket_regional_domain(name: Text, pseudo: Callable[[str], Text]) -> Text:
    return Text.of(name, ".s3.", pseudo("AWS::Region"), ".", pseudo("AWS::URLSuffix"))


def _bucket_dual_stack_domain(name: Text, pseudo: Callable[[str], Text]) -> Text:
    return Text.of(name, ".s3.dualstack.", pseudo("AWS::Region"), ".", pseudo("AWS::URLSuffix"))


# Return values built from the name, as aws-resource-s3-bucket.html "Fn::GetAtt" describes them
# (Arn arn:aws:s3:::name, DomainName name.s3.amazonaws.com, RegionalDomainName
# name.s3.us-east-2.amazonaws.com, DualStackDomainName name.s3.dualstack.us-east-2.amazonaws.com).
_FROM_NAME: Final[dict[tuple[str, str], Callable[[Text, Callable[[str], Text]], Text]]] = {
    ("AWS::S3::Bucket", "Arn"): _bucket_arn,
    ("AWS::S3::Bucket", "DomainName"): _bucket_domain,
    ("AWS::S3::Bucket", "RegionalDomainName"): _bucket_regional_domain,
    ("AWS::S3::Bucket", "DualStackDomainName"): _bucket_dual_stack_domain,
}

_PSEUDO_PARAMETERS: Final = frozenset(
    {"AWS::AccountId", "AWS::NotificationARNs", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
)
_MAX_DEPTH: Final = 40


# --- where each template deploys ------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """A template's stack name, account and region as the cloud assembly's manifest records them."""

    stack_name: str | None = None
    account: str | None = None
    region: str | None = None


def deployments(template_paths: Iterable[str]) -> dict[str, Deployment]:
    """Each template's deployment, from the manifest.json beside it (absent for a bare template:
    then the pseudo parameters stay symbolic)."""
    wanted = {str(Path(p)): p for p in template_paths}
    result: dict[str, Deployment] = {}
    for directory in {Path(p).parent for p in wanted}:
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue
        for artifact_id, artifact in manifest.get("artifacts", {}).items():
            properties = artifact.get("properties", {})
            path = wanted.get(str(directory / properties.get("templateFile", "")))
            if artifact.get("type") == "aws:cloudformation:stack" and path:
                # CDK writes stackName only where it differs from the artifact id.
                account, _, region = str(artifact.get("environment", "")).removeprefix("aws://").partition("/")
                result[path] = Deployment(
                    stack_name=properties.get("stackName") or artifact_id,
                    account=None if account.startswith("unknown-") else account or None,
                    region=None if region.startswith("unknown-") else region or None,
                )
    return result


# --- the resolver -------------------------------------------------------------------------------


class Resolver:
    """Resolves values of the given templates (by path), each in its own template's context."""

    def __init__(self, templates: Mapping[str, dict[str, Any]], deployments: Mapping[str, Deployment] | None = None) -> None:
        self.templates = templates
        self.deployments = deployments or {}
        self._attributes: dict[tuple[str, str, str], Any] = {}
        self._exports: dict[str, list[tuple[str, Any]]] | None = None

    # -- public --------------------------------------------------------------------------------

    def value(self, value: Any, stack: str) -> Any:
        """A template value as deployed: intrinsics resolved (a string is ``str`` when literal,
        else a :class:`Text`), AWS::NoValue properties removed, a value this module cannot
        follow an :class:`Unresolved`."""
        return self._resolve(value, stack, 0)

    def text(self, value: Any, stack: str) -> Text:
        """A value in a string position, always as a :class:`Text`."""
        return as_text(self._resolve(value, stack, 0))

    def state_machine_definition(self, properties: Mapping[str, Any], stack: str) -> Any:
        """The ASL document of an AWS::StepFunctions::StateMachine as Step Functions receives it:
        DefinitionString or Definition with DefinitionSubstitutions applied
        (aws-resource-stepfunctions-statemachine.html); an :class:`Unresolved` if unreadable."""
        substitutions = self._resolve(properties.get("DefinitionSubstitutions") or {}, stack, 0)
        if not isinstance(substitutions, dict):
            return Unresolved("DefinitionSubstitutions cannot be resolved")
        values = {str(k): as_text(v) for k, v in substitutions.items()}
        if "DefinitionString" in properties:
            document = json_document(substitute(self.text(properties["DefinitionString"], stack), values))
        elif "Definition" in properties:
            document = _map_strings(self.value(properties["Definition"], stack), lambda t: as_string(substitute(as_text(t), values)))
        elif "DefinitionS3Location" in properties:
            return Unresolved("the definition is in S3 (DefinitionS3Location), which synth does not read")
        else:
            return Unresolved("the state machine has no definition")
        if isinstance(document, Unresolved | dict):
            return document
        return Unresolved(f"the definition is not a JSON object: {str(document)[:120]}")

    # -- dispatch ------------------------------------------------------------------------------

    def _resolve(self, value: Any, stack: str, depth: int) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item, stack, depth) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._call(key, argument, stack, depth + 1)
        resolved = {key: self._resolve(item, stack, depth) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _call(self, function: str, argument: Any, stack: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return Unresolved(f"references nest deeper than {_MAX_DEPTH} levels")
        implementation = _FUNCTIONS.get(function)
        if implementation is None:
            # Fn::If and the condition functions depend on conditions evaluated at deploy time;
            # Fn::GetAZs, Fn::Cidr, Fn::Base64, Fn::Transform are not needed by any check.
            return Unresolved(f"{function} is not evaluated here")
        try:
            return implementation(self, argument, stack, depth)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            return Unresolved(f"malformed {function}: {json.dumps(argument, default=str)[:120]}")

    def _literal(self, value: Any, stack: str, depth: int) -> str | None:
        return as_text(self._resolve(value, stack, depth)).literal

    # -- Ref and Fn::GetAtt --------------------------------------------------------------------

    def _ref(self, name: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-ref.html: a parameter's value, a resource's return value, a pseudo parameter."""
        if not isinstance(name, str):
            return Unresolved("Ref of a computed name")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return as_string(self._pseudo(name, stack))
        template = self.templates[stack]
        if name in template.get("Parameters", {}):
            return Text.of(Parameter(stack, name))
        if name in template.get("Resources", {}):
            return self._attribute(stack, name, "Ref", depth)
        return Unresolved(f"Ref to {name}, which {Path(stack).name} does not declare")

    def _pseudo(self, name: str, stack: str) -> Text:
        deployment = self.deployments.get(stack, Deployment())
        known = {"AWS::AccountId": deployment.account, "AWS::Region": deployment.region, "AWS::StackName": deployment.stack_name}
        if known.get(name):
            return Text.of(str(known[name]))
        if name not in _PSEUDO_PARAMETERS:
            return Text.of(Unresolved(f"no pseudo parameter {name}"))
        return Text.of(Pseudo(name, stack if name in ("AWS::StackId", "AWS::StackName") else ""))

    def _get_att(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-getatt.html: ``[LogicalId, Attribute]`` or ``"LogicalId.Attribute"``."""
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = argument[0], self._literal(argument[1], stack, depth)
        if attribute is None or logical_id not in self.templates[stack].get("Resources", {}):
            return Unresolved(f"Fn::GetAtt {argument}, which {Path(stack).name} does not declare")
        return self._attribute(stack, logical_id, attribute, depth)

    def _attribute(self, stack: str, logical_id: str, attribute: str, depth: int) -> Any:
        # Memoized, so one reference followed twice yields the same Unresolved (and is equal).
        key = (stack, logical_id, attribute)
        if key not in self._attributes:
            self._attributes[key] = self._compute_attribute(stack, logical_id, attribute, depth)
        return self._attributes[key]

    def _compute_attribute(self, stack: str, logical_id: str, attribute: str, depth: int) -> Any:
        resource = self.templates[stack]["Resources"][logical_id]
        resource_type = resource.get("Type", "")
        name_attribute, name_property = _NAMES.get(resource_type, ("", ""))
        derive = _FROM_NAME.get((resource_type, attribute))
        if attribute != name_attribute and derive is None:
            return Text.of(Attribute(stack, logical_id, attribute))
        name = self._resolve(resource.get("Properties", {}).get(name_property, NO_VALUE), stack, depth)
        name_text = Text.of(PhysicalName(stack, logical_id)) if name is NO_VALUE else as_text(name)
        if derive is None:
            return as_string(name_text)
        return as_string(derive(name_text, lambda pseudo: self._pseudo(pseudo, stack)))

    # -- string functions ----------------------------------------------------------------------

    def _join(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-join.html: ``[delimiter, [values]]``."""
        delimiter, items = argument
        if not isinstance(delimiter, str):
            return Unresolved("Fn::Join with a computed delimiter (CloudFormation takes only a string)")
        items = self._resolve(items, stack, depth)
        if not isinstance(items, list):
            return items if isinstance(items, Unresolved) else Unresolved("Fn::Join of something that is not a list")
        pieces: list[Text | str] = []
        for index, item in enumerate(items):
            pieces += [delimiter, as_text(item)] if index else [as_text(item)]
        return as_string(Text.of(*pieces))

    def _sub(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-sub.html: ``"string"`` or ``["string", {vars}]``. A
        ``${Name}`` is a variable of the map, else Ref; ``${Logical.Attribute}`` is Fn::GetAtt;
        ``${!Literal}`` is the text ``${Literal}``. The string itself takes no functions."""
        template, variables = (argument, {}) if isinstance(argument, str) else argument
        if not isinstance(template, str) or not isinstance(variables, dict):
            return Unresolved("Fn::Sub of a computed string (CloudFormation takes only a string and a map)")
        pieces: list[Text | str] = []
        position = 0
        for match in re.finditer(r"\$\{([^}]*)\}", template):
            pieces.append(template[position : match.start()])
            position = match.end()
            pieces.append(as_text(self._sub_variable(match.group(1), variables, stack, depth)))
        pieces.append(template[position:])
        return as_string(Text.of(*pieces))

    def _sub_variable(self, name: str, variables: Mapping[str, Any], stack: str, depth: int) -> Any:
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return self._resolve(variables[name], stack, depth)
        if "." in name:
            return self._get_att(name, stack, depth)
        return self._ref(name, stack, depth)

    def _select(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-select.html: ``[index, list]``."""
        index, items = self._literal(argument[0], stack, depth), self._resolve(argument[1], stack, depth)
        if isinstance(items, Unresolved):
            return items
        if not isinstance(items, list) or index is None or not index.isdigit() or int(index) >= len(items):
            return Unresolved(f"Fn::Select {index} of {items if isinstance(items, list) else 'a list only a deployment knows'}")
        return items[int(index)]

    def _split(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-split.html: ``[delimiter, string]``."""
        delimiter, source = argument
        if not isinstance(delimiter, str):
            return Unresolved("Fn::Split with a computed delimiter (CloudFormation takes only a string)")
        segments = as_text(self._resolve(source, stack, depth)).split(delimiter)
        return segments if isinstance(segments, Unresolved) else [as_string(segment) for segment in segments]

    def _find_in_map(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-findinmap.html: ``[MapName, TopLevelKey, SecondLevelKey]``."""
        keys = [self._literal(key, stack, depth) for key in argument[:3]]
        node: Any = self.templates[stack].get("Mappings", {})
        for key in keys:
            node = node.get(key) if isinstance(node, dict) and key is not None else None
        if node is None:
            return Unresolved(f"Fn::FindInMap {keys}: no such entry in {Path(stack).name}'s Mappings")
        return self._resolve(node, stack, depth)

    # -- values of other stacks ----------------------------------------------------------------

    def _import_value(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-importvalue.html: the value another stack of the same
        account and Region exports under that name (Outputs.*.Export.Name)."""
        name = self._literal(argument, stack, depth)
        if name is None:
            return Unresolved("Fn::ImportValue of a name only a deployment knows")
        here = self.deployments.get(stack, Deployment())
        for exporting_stack, value in self._exports_index().get(name, []):
            there = self.deployments.get(exporting_stack, Deployment())
            if _same_environment(here, there):
                return self._resolve(value, exporting_stack, depth)
        return Unresolved(f"Fn::ImportValue {name!r}: no template here exports it")

    def _exports_index(self) -> dict[str, list[tuple[str, Any]]]:
        if self._exports is None:
            self._exports = {}
            for path, template in self.templates.items():
                for output in template.get("Outputs", {}).values():
                    export = output.get("Export") if isinstance(output, dict) else None
                    name = self.text(export.get("Name"), path).literal if isinstance(export, dict) else None
                    if name:
                        self._exports.setdefault(name, []).append((path, output.get("Value")))
        return self._exports

    def _get_stack_output(self, argument: Any, stack: str, depth: int) -> Any:
        """intrinsic-function-reference-getstackoutput.html: ``{StackName, OutputName, Region?, RoleArn?}``,
        the output of that stack (exported or not)."""
        stack_name = self._literal(argument["StackName"], stack, depth)
        output_name = self._literal(argument["OutputName"], stack, depth)
        region = (
            self._literal(argument["Region"], stack, depth) if "Region" in argument else self.deployments.get(stack, Deployment()).region
        )
        for path, deployment in self.deployments.items():
            output = self.templates[path].get("Outputs", {}).get(output_name or "")
            if deployment.stack_name == stack_name and output is not None and (region is None or deployment.region in (None, region)):
                return self._resolve(output.get("Value"), path, depth)
        return Unresolved(f"Fn::GetStackOutput {stack_name}.{output_name}: no template here has it")


def _same_environment(here: Deployment, there: Deployment) -> bool:
    """Exports are per account and Region; unknown on either side counts as the same."""
    return all(a is None or b is None or a == b for a, b in ((here.account, there.account), (here.region, there.region)))


_FUNCTIONS: Final[dict[str, Callable[[Resolver, Any, str, int], Any]]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::ImportValue": Resolver._import_value,
    "Fn::GetStackOutput": Resolver._get_stack_output,
}


# --- documents assembled from strings -----------------------------------------------------------

# Private-use characters mark where a symbol stands while the text is parsed as JSON.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARK = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_ESCAPE = re.compile(r"\\.")


def json_document(text: Text) -> Any:
    """The JSON document a string assembles to (a DefinitionString built with Fn::Join), each
    symbol kept where it stands: inside a JSON string it becomes part of that string's Text;
    outside one (a number or object spliced in) it becomes a Text of its own."""
    chunks: list[str] = []
    symbols: list[Symbol] = []
    inside_string = False
    for part in text.parts:
        if isinstance(part, str):
            chunks.append(part)
            # Unescaped quotes open and close strings.
            inside_string ^= _ESCAPE.sub("", part).count('"') % 2 == 1
            continue
        mark = f"{_OPEN}{len(symbols)}{_CLOSE}"
        symbols.append(part)
        chunks.append(mark if inside_string else f'"{mark}"')
    try:
        document = json.loads("".join(chunks))
    except json.JSONDecodeError as error:
        return Unresolved(f"not JSON ({error})")
    return _map_strings(document, lambda s: _restore(s, symbols)) if symbols else document


def _restore(value: str | Text, symbols: list[Symbol]) -> str | Text:
    if isinstance(value, Text) or _OPEN not in value:
        return value
    pieces = _MARK.split(value)
    return as_string(Text.of(*(symbols[int(p)] if i % 2 else p for i, p in enumerate(pieces))))


def substitute(text: Text, values: Mapping[str, Text]) -> Text:
    """``${key}`` placeholders of the literal pieces replaced (DefinitionSubstitutions)."""
    if not values:
        return text
    pieces: list[str | Symbol | Text] = []
    for part in text.parts:
        if not isinstance(part, str):
            pieces.append(part)
            continue
        position = 0
        for match in re.finditer(r"\$\{([^}]*)\}", part):
            if match.group(1) in values:
                pieces += [part[position : match.start()], values[match.group(1)]]
                position = match.end()
        pieces.append(part[position:])
    return Text.of(*pieces)


def _map_strings(node: Any, function: Callable[[Any], Any]) -> Any:
    """Every string (str or Text) of a JSON-like structure through ``function``, keys as ``str``."""
    if isinstance(node, str | Text):
        return function(node)
    if isinstance(node, list):
        return [_map_strings(item, function) for item in node]
    if isinstance(node, dict):
        return {str(function(key)): _map_strings(item, function) for key, item in node.items()}
    return node

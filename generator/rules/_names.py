"""Physical-name budget: does every name a template gives a resource fit AWS's limits at the
longest values its parameters can take?

This module is the single implementation. It lives inside the rules directory, and uses the
standard library only, so that the directory keeps working when it is copied elsewhere and passed
to ``cfn-lint --append-rules``; ``generator.names`` re-exports it for the rest of the project.

How a value is bounded (``resolve``):

* a template parameter takes its longest allowed value: the longest ``AllowedValues`` entry, or a
  string of ``MaxLength`` characters (or the longest the ``AllowedPattern`` allows) generated to
  satisfy ``AllowedPattern``. ``SageMakerProjectName`` and ``SageMakerProjectId`` are also held to
  the SageMaker API's own limits (32 and 20 characters), because Studio never passes more;
* pseudo parameters take their longest real values (``PSEUDO_PARAMETERS``);
* a value given in ``parameters`` overrides either;
* ``Fn::Sub`` (both forms), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap`` and
  ``Fn::If`` (longest branch) are evaluated; ``Fn::GetAtt``, ``Fn::ImportValue``, a ``Ref`` to a
  resource and a parameter with no length bound cannot be bounded, and give ``None``.

Besides the longest value, names are checked for characters a parameter could bring in: each
parameter is also generated preferring one character at a time (an uppercase letter, ``_``,
``.`` ...) and the result is checked against the name's pattern. That is how a bucket name built
from a project name that may contain uppercase letters is caught.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

try:  # Python 3.11+
    from re import _parser as _sre
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre  # type: ignore[no-redef]

Params = Mapping[str, str] | None

__all__ = [
    "NAME_LIMITS",
    "PSEUDO_PARAMETERS",
    "SAGEMAKER_PARAMETER_LIMITS",
    "NameLimit",
    "PhysicalName",
    "Resolution",
    "explain",
    "longest_matching",
    "longest_parameter_value",
    "name_violations",
    "physical_names",
    "resolve",
    "to_sub_text",
    "unbounded_names",
]


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameLimit:
    """What AWS accepts for one name property. ``pattern`` must match the whole name."""

    label: str
    max_length: int
    pattern: str | None = None
    min_length: int = 1
    lowercase: bool = False
    # (regex searched in the name, what it means): extra rules a single pattern can't say simply.
    forbidden: tuple[tuple[str, str], ...] = ()

    def problems(self, value: str) -> list[str]:
        """What is wrong with ``value`` apart from its length, as short phrases."""
        found = []
        if self.lowercase and any(c.isupper() for c in value):
            found.append(f"contains uppercase letters; {self.label}s must be lowercase")
        elif self.pattern and not re.fullmatch(self.pattern, value):
            found.append(f"does not match the {self.label} pattern {self.pattern}")
        for regex, meaning in self.forbidden:
            if re.search(regex, value):
                found.append(f"{meaning}, which {self.label}s may not")
        return found


_IAM_NAME = r"[\w+=,.@-]+"
_SAGEMAKER_ENTITY = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"

# Sources: the CloudFormation resource provider schemas shipped with cfn-lint 1.58 and the botocore
# service models (member constraints of the Create* call), checked on this machine; where they
# disagree the stricter one is used and the entry says why.
NAME_LIMITS: dict[tuple[str, str], NameLimit] = {
    ("AWS::S3::Bucket", "BucketName"): NameLimit(
        "S3 bucket name", 63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]", min_length=3, lowercase=True,
        forbidden=(
            (r"\.\.", "has two adjacent periods"),
            (r"\.-|-\.", "has a period next to a hyphen"),
            (r"^\d+\.\d+\.\d+\.\d+$", "is formatted as an IP address"),
            (r"^(xn--|sthree-|amzn-s3-demo-)", "starts with a reserved prefix"),
            (r"(-s3alias|--ol-s3|--x-s3|--table-s3)$", "ends with a reserved suffix"),
        ),
    ),
    ("AWS::Events::Rule", "Name"): NameLimit("EventBridge rule name", 64, r"[\.\-_A-Za-z0-9]+"),
    ("AWS::Events::EventBus", "Name"): NameLimit("EventBridge event bus name", 256, r"[/\.\-_A-Za-z0-9]+"),
    ("AWS::IAM::Role", "RoleName"): NameLimit("IAM role name", 64, _IAM_NAME),
    ("AWS::IAM::User", "UserName"): NameLimit("IAM user name", 64, _IAM_NAME),
    ("AWS::IAM::Group", "GroupName"): NameLimit("IAM group name", 128, _IAM_NAME),
    ("AWS::IAM::InstanceProfile", "InstanceProfileName"): NameLimit(
        "IAM instance profile name", 128, _IAM_NAME
    ),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): NameLimit("IAM managed policy name", 128, _IAM_NAME),
    ("AWS::IAM::Policy", "PolicyName"): NameLimit("IAM inline policy name", 128, _IAM_NAME),
    ("AWS::IAM::RolePolicy", "PolicyName"): NameLimit("IAM inline policy name", 128, _IAM_NAME),
    # botocore's CreateProject `name` is 2-150 (older documentation said 255): the stricter wins.
    ("AWS::CodeBuild::Project", "Name"): NameLimit(
        "CodeBuild project name", 150, r"[A-Za-z0-9][A-Za-z0-9\-_]{1,149}", min_length=2
    ),
    ("AWS::CodePipeline::Pipeline", "Name"): NameLimit(
        "CodePipeline pipeline name", 100, r"[A-Za-z0-9.@\-_]+"
    ),
    ("AWS::CodeCommit::Repository", "RepositoryName"): NameLimit(
        "CodeCommit repository name", 100, r"[\w\.-]+", forbidden=((r"\.git$", "ends with .git"),)
    ),
    ("AWS::CloudFormation::StackSet", "StackSetName"): NameLimit(
        "CloudFormation StackSet name", 128, r"[a-zA-Z][-a-zA-Z0-9]*"
    ),
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"): NameLimit(
        "SageMaker model package group name", 63, _SAGEMAKER_ENTITY
    ),
    # The provider schema says 64 but its own pattern (and the SageMaker API) stop at 63.
    ("AWS::SageMaker::Endpoint", "EndpointName"): NameLimit("SageMaker endpoint name", 63, _SAGEMAKER_ENTITY),
    ("AWS::SageMaker::EndpointConfig", "EndpointConfigName"): NameLimit(
        "SageMaker endpoint config name", 63, _SAGEMAKER_ENTITY
    ),
    ("AWS::SageMaker::Model", "ModelName"): NameLimit(
        "SageMaker model name", 63, r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?"
    ),
    ("AWS::SageMaker::Pipeline", "PipelineName"): NameLimit(
        "SageMaker pipeline name", 256, r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}"
    ),
    ("AWS::SageMaker::Project", "ProjectName"): NameLimit(
        "SageMaker project name", 32, r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"
    ),
    ("AWS::SageMaker::MonitoringSchedule", "MonitoringScheduleName"): NameLimit(
        "SageMaker monitoring schedule name", 63, _SAGEMAKER_ENTITY
    ),
    ("AWS::SageMaker::FeatureGroup", "FeatureGroupName"): NameLimit(
        "SageMaker feature group name", 64, r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}"
    ),
    ("AWS::KMS::Alias", "AliasName"): NameLimit(
        "KMS alias name", 256, r"alias/[a-zA-Z0-9:/_-]+",
        forbidden=((r"^alias/aws/", "starts with alias/aws/ (reserved for AWS managed keys)"),),
    ),
    # The API's 140 is for a full ARN; a plain function name is at most 64.
    ("AWS::Lambda::Function", "FunctionName"): NameLimit("Lambda function name", 64, r"[a-zA-Z0-9_-]+"),
    ("AWS::CloudWatch::Alarm", "AlarmName"): NameLimit("CloudWatch alarm name", 255),
    # The API's 2048 includes 1037 characters reserved for internal use.
    ("AWS::SSM::Parameter", "Name"): NameLimit(
        "SSM parameter name", 1011, r"[a-zA-Z0-9_.\-/]+",
        forbidden=((r"^/?(?i:aws|ssm)", "starts with aws or ssm"),),
    ),
    ("AWS::Logs::LogGroup", "LogGroupName"): NameLimit(
        "CloudWatch Logs log group name", 512, r"[\.\-_/#A-Za-z0-9]+"
    ),
    ("AWS::ECR::Repository", "RepositoryName"): NameLimit(
        "ECR repository name", 256,
        r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", min_length=2, lowercase=True,
    ),
    ("AWS::SNS::Topic", "TopicName"): NameLimit("SNS topic name", 256, r"[A-Za-z0-9_-]+(\.fifo)?"),
    ("AWS::SQS::Queue", "QueueName"): NameLimit("SQS queue name", 80, r"[A-Za-z0-9_-]+(\.fifo)?"),
    ("AWS::StepFunctions::StateMachine", "StateMachineName"): NameLimit(
        "Step Functions state machine name", 80, r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/]+"
    ),
    ("AWS::Scheduler::Schedule", "Name"): NameLimit(
        "EventBridge Scheduler schedule name", 64, r"[0-9a-zA-Z-_.]+"
    ),
}


# The SageMaker API's own limits on the two parameters Studio passes (botocore model).
SAGEMAKER_PARAMETER_LIMITS: dict[str, tuple[int, str]] = {
    "SageMakerProjectName": (32, r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"),
    "SageMakerProjectId": (20, r"[a-zA-Z0-9](-*[a-zA-Z0-9])*"),
}

# Longest real values (botocore's partitions.json): the longest region name, the longest partition
# and DNS suffix. They need not occur together; the bound is meant to be safe, not exact.
PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-isof-south-1",
    "AWS::Partition": "aws-us-gov",
    "AWS::URLSuffix": "amazonaws.com.cn",
}
# AWS::StackName is generated like a parameter (it can contain uppercase letters: Service Catalog
# names stacks SC-<account>-pp-<id>); AWS::StackId is built from the others.
STACK_NAME_LIMIT = (128, r"[a-zA-Z][-a-zA-Z0-9]*")
_STACK_UUID = "00000000-0000-0000-0000-000000000000"

# Characters tried, one at a time, as a parameter's preferred character, to see what a name could
# contain. "a" first: the baseline (the longest value, in lowercase where allowed).
_PROBE_CHARS = ("A", "_", ".", "-", "/", "@", "+", "=", ",", ":", "#", " ")
_CHAR_WORDS = {"A": "uppercase letters", " ": "spaces"}


# --------------------------------------------------------------------------------------------
# Longest string matching a regular expression
# --------------------------------------------------------------------------------------------

# Every character a generated value may use, in the default order of preference.
_UNIVERSE = (
    string.ascii_lowercase + string.digits + string.ascii_uppercase
    + "-_./@+=,:#" + "!$%&'()*;<>?[]^`{|}~\" \\"
)
_INF = float("inf")


class _Unsupported(Exception):
    pass


def _category(cat: Any) -> set[str]:
    tests = {
        _sre.CATEGORY_DIGIT: str.isdigit,
        _sre.CATEGORY_NOT_DIGIT: lambda c: not c.isdigit(),
        _sre.CATEGORY_SPACE: str.isspace,
        _sre.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
        _sre.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
        _sre.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
    }
    if cat not in tests:
        raise _Unsupported(str(cat))
    return {c for c in _UNIVERSE if tests[cat](c)}


def _charset(items: Any) -> frozenset[str]:
    chars: set[str] = set()
    negate = False
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            chars.add(chr(av))
        elif op is _sre.RANGE:
            chars |= {c for c in _UNIVERSE if av[0] <= ord(c) <= av[1]}
        elif op is _sre.CATEGORY:
            chars |= _category(av)
        else:
            raise _Unsupported(str(op))
    return frozenset(set(_UNIVERSE) - chars if negate else chars)


_REPEATS = tuple(
    op for op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None))
    if op is not None
)
_ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)


def _node(op: Any, av: Any) -> tuple:
    if op is _sre.LITERAL:
        return ("set", frozenset(chr(av)))
    if op is _sre.NOT_LITERAL:
        return ("set", frozenset(c for c in _UNIVERSE if c != chr(av)))
    if op is _sre.ANY:
        return ("set", frozenset(_UNIVERSE))
    if op is _sre.IN:
        return ("set", _charset(av))
    if op in _REPEATS:
        lo, hi, sub = av
        return ("rep", lo, _INF if hi is _sre.MAXREPEAT else hi, _seq(sub))
    if op is _sre.SUBPATTERN:
        return _seq(av[-1])
    if op is getattr(_sre, "ATOMIC_GROUP", object()):
        return _seq(av)
    if op is _sre.BRANCH:
        return ("alt", tuple(_seq(branch) for branch in av[1]))
    if op in _ZERO_WIDTH:
        return ("seq", ())
    raise _Unsupported(str(op))


def _seq(sub: Any) -> tuple:
    return ("seq", tuple(_node(op, av) for op, av in sub))


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> tuple | None:
    try:
        return _seq(_sre.parse(pattern))
    except (_Unsupported, re.error, TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def _bounds(node: tuple) -> tuple[float, float]:
    kind = node[0]
    if kind == "set":
        return 1, 1
    if kind == "seq":
        lo = sum(_bounds(n)[0] for n in node[1])
        hi = sum(_bounds(n)[1] for n in node[1])
        return lo, hi
    if kind == "alt":
        bounds = [_bounds(n) for n in node[1]]
        return min(b[0] for b in bounds), max(b[1] for b in bounds)
    _, lo, hi, sub = node
    sub_lo, sub_hi = _bounds(sub)
    return lo * sub_lo, (0 if hi == 0 else hi * sub_hi if sub_hi else 0)


class _Generator:
    """Builds a string of an exact length matching a compiled pattern, preferring characters in
    ``order``. Depth-first with memoisation; good enough for the short patterns names use."""

    def __init__(self, order: str):
        self.order = order
        self.memo: dict[tuple, str | None] = {}

    def pick(self, chars: frozenset[str]) -> str | None:
        return next((c for c in self.order if c in chars), None)

    def gen(self, node: tuple, n: int) -> str | None:
        lo, hi = _bounds(node)
        if not lo <= n <= hi:
            return None
        key = (id(node), n)
        if key in self.memo:
            return self.memo[key]
        kind = node[0]
        if kind == "set":
            result = self.pick(node[1])
        elif kind == "seq":
            result = self.gen_seq(node[1], 0, n)
        elif kind == "alt":
            result = next((s for s in (self.gen(alt, n) for alt in node[1]) if s is not None), None)
        else:
            result = self.gen_rep(node[3], node[1], node[2], n)
        self.memo[key] = result
        return result

    def gen_seq(self, items: tuple, i: int, n: int) -> str | None:
        if i == len(items):
            return "" if n == 0 else None
        key = (id(items), i, n)
        if key in self.memo:
            return self.memo[key]
        rest_lo = sum(_bounds(x)[0] for x in items[i + 1:])
        rest_hi = sum(_bounds(x)[1] for x in items[i + 1:])
        lo, hi = _bounds(items[i])
        result = None
        top = int(min(hi, n - rest_lo))
        bottom = int(max(lo, n - rest_hi, 0))
        for length in range(top, bottom - 1, -1):
            head = self.gen(items[i], length)
            if head is None:
                continue
            tail = self.gen_seq(items, i + 1, n - length)
            if tail is not None:
                result = head + tail
                break
        self.memo[key] = result
        return result

    def gen_rep(self, sub: tuple, lo: float, hi: float, n: int) -> str | None:
        sub_lo, sub_hi = _bounds(sub)
        if n == 0:
            return "" if lo == 0 or self.gen(sub, 0) == "" else None
        if hi == 0:
            return None
        if sub_lo == sub_hi and sub_lo > 0:  # fixed width: n // width copies of one piece
            width = int(sub_lo)
            count = n // width
            if n % width or not lo <= count <= hi:
                return None
            piece = self.gen(sub, width)
            return None if piece is None else piece * count
        key = ("rep", id(sub), lo, hi, n)
        if key in self.memo:
            return self.memo[key]
        result = None
        for length in range(int(min(sub_hi, n)), max(int(sub_lo), 1) - 1, -1):
            head = self.gen(sub, length)
            if head is None:
                continue
            tail = self.gen_rep(sub, max(lo - 1, 0), hi - 1, n - length)
            if tail is not None:
                result = head + tail
                break
        self.memo[key] = result
        return result


def _order(prefer: str) -> str:
    return prefer + _UNIVERSE.replace(prefer, "") if prefer else _UNIVERSE


def _max_width(pattern: str) -> int | None:
    """The longest string ``pattern`` can match, or None when unbounded or unparsable."""
    try:
        hi = _sre.parse(pattern).getwidth()[1]
    except (re.error, TypeError, ValueError):
        return None
    return None if hi >= _sre.MAXREPEAT else hi


@functools.lru_cache(maxsize=1024)
def _longest(patterns: tuple[str, ...], max_length: int, min_length: int, prefer: str) -> str | None:
    def ok(s: str) -> bool:
        return all(re.fullmatch(p, s) for p in patterns)

    order = _order(prefer)
    generators = [(_compile(p), _Generator(order)) for p in patterns]
    for n in range(max_length, max(min_length, 0) - 1, -1):
        if max_length - n > 256:  # nothing near the maximum matches: give up rather than search on
            break
        candidates = [prefer * n] if prefer else []
        for tree, gen in generators:
            if tree is not None:
                try:
                    candidates.append(gen.gen(tree, n))
                except RecursionError:
                    pass
        candidates += [c * n for c in order[:40]]
        for candidate in candidates:
            if candidate is not None and ok(candidate):
                return candidate
    return None


def longest_matching(
    pattern: str | None, max_length: int, min_length: int = 0, prefer: str = "a"
) -> str | None:
    """The longest string of at most ``max_length`` characters that ``pattern`` fully matches,
    made of ``prefer`` where the pattern allows it (e.g. ``'a' * 32`` for
    ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}``); None when there is none."""
    patterns = (pattern,) if pattern else ()
    if pattern:
        try:
            re.compile(pattern)
        except re.error:
            return None
    return _longest(patterns, max_length, min_length, prefer)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _pattern_of(spec: Mapping[str, Any]) -> str | None:
    pattern = spec.get("AllowedPattern")
    if not isinstance(pattern, str):
        return None
    try:
        re.compile(pattern)
    except re.error:
        return None
    return pattern


def _parameter_bound(
    name: str, spec: Mapping[str, Any]
) -> tuple[tuple[str, ...], int | None, int, str | None]:
    """(patterns, longest length, shortest length, why unbounded) for a String parameter."""
    patterns = [p for p in [_pattern_of(spec)] if p]
    max_length = _as_int(spec.get("MaxLength"))
    if patterns and _max_width(patterns[0]) is not None:
        width = _max_width(patterns[0])
        max_length = width if max_length is None else min(max_length, width)
    if name in SAGEMAKER_PARAMETER_LIMITS:
        api_max, api_pattern = SAGEMAKER_PARAMETER_LIMITS[name]
        max_length = api_max if max_length is None else min(max_length, api_max)
        patterns.append(api_pattern)
    why = None if max_length is not None else f"parameter {name} has no MaxLength or AllowedValues"
    return tuple(patterns), max_length, max(_as_int(spec.get("MinLength")) or 0, 0), why


def _has(char: str, value: str) -> bool:
    """Whether ``value`` contains probe character ``char`` ("A" stands for any uppercase letter)."""
    return any(c.isupper() for c in value) if char == "A" else char in value


def _parameter_value(name: str, spec: Any, prefer: str) -> tuple[str | None, str | None]:
    """(longest value, reason when there is none)."""
    if not isinstance(spec, Mapping):
        return None, f"parameter {name} is not declared properly"
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list) and allowed:
        values = [str(v) for v in allowed]
        if prefer == "a":
            return max(values, key=len), None
        return max(values, key=lambda v: (_has(prefer, v), len(v))), None
    ptype = str(spec.get("Type", "String"))
    if ptype == "Number":
        top, bottom = spec.get("MaxValue"), spec.get("MinValue")
        if top is None or bottom is None:
            return None, f"parameter {name} is a Number without MinValue and MaxValue"
        return max((str(top), str(bottom)), key=len), None
    if ptype != "String":
        return None, f"parameter {name} has type {ptype}, whose values this check cannot bound"
    patterns, max_length, min_length, why = _parameter_bound(name, spec)
    if max_length is None:
        return None, why
    value = _longest(patterns, max_length, min_length, prefer)
    if value is None:
        return None, f"no value of parameter {name} up to {max_length} characters matches its AllowedPattern"
    return value, None


def longest_parameter_value(name: str, template: Mapping[str, Any], prefer: str = "a") -> str | None:
    """The longest value template parameter ``name`` allows (see the module docstring), or None."""
    params = template.get("Parameters") or {}
    return _parameter_value(name, params.get(name), prefer)[0] if name in params else None


# --------------------------------------------------------------------------------------------
# Resolving intrinsic functions
# --------------------------------------------------------------------------------------------


def _getatt_target(args: Any) -> str:
    if isinstance(args, str):
        return args
    return ".".join(map(str, args)) if isinstance(args, list) else "?"


class _NoValue:
    """AWS::NoValue: the property is left out."""


NO_VALUE = _NoValue()


class _Unbounded(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Resolution:
    """What ``explain`` found: the longest ``value`` (None when unbounded, with ``reason``;
    None with ``absent`` when the value is AWS::NoValue) and the parameters it used, with the
    value each took."""

    value: str | None
    used: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    absent: bool = False


class _Resolver:
    def __init__(self, template: Mapping[str, Any], overrides: Mapping[str, str] | None, prefer: str):
        self.template = template
        params = template.get("Parameters")
        self.params = params if isinstance(params, Mapping) else {}
        resources = template.get("Resources")
        self.resources = resources if isinstance(resources, Mapping) else {}
        self.overrides = dict(overrides or {})
        self.prefer = prefer
        self.used: dict[str, str] = {}

    # -- references ---------------------------------------------------------------------------
    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.overrides:
            value = str(self.overrides[name])
        elif name in self.params:
            value, reason = _parameter_value(name, self.params[name], self.prefer)
            if value is None:
                raise _Unbounded(reason or f"parameter {name} cannot be bounded")
        elif name == "AWS::StackName":
            value = _longest((STACK_NAME_LIMIT[1],), STACK_NAME_LIMIT[0], 1, self.prefer) or ""
        elif name == "AWS::StackId":
            value = "arn:{}:cloudformation:{}:{}:stack/{}/{}".format(
                self.ref("AWS::Partition"), self.ref("AWS::Region"), self.ref("AWS::AccountId"),
                self.ref("AWS::StackName"), _STACK_UUID,
            )
        elif name in PSEUDO_PARAMETERS:
            value = PSEUDO_PARAMETERS[name]
        elif name in self.resources:
            raise _Unbounded(
                f"it refers to resource {name}, whose physical id is only known after deployment"
            )
        elif name.startswith("AWS::"):
            raise _Unbounded(f"pseudo parameter {name} has no fixed length")
        else:
            raise _Unbounded(f"{name} is neither a parameter nor a resource of this template")
        self.used[name] = value
        return value

    # -- values -------------------------------------------------------------------------------
    def string(self, value: Any, what: str = "value") -> Any:
        result = self.value(value)
        if result is NO_VALUE or isinstance(result, str):
            return result
        raise _Unbounded(f"the {what} is a list, not a string")

    def value(self, value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        if isinstance(value, list):
            return [v for v in (self.value(v) for v in value) if v is not NO_VALUE]
        if isinstance(value, Mapping) and len(value) == 1:
            (fn, args), = value.items()
            handler = {
                "Ref": self.fn_ref,
                "Fn::Sub": self.fn_sub,
                "Fn::Join": self.fn_join,
                "Fn::If": self.fn_if,
                "Fn::Select": self.fn_select,
                "Fn::Split": self.fn_split,
                "Fn::FindInMap": self.fn_find_in_map,
            }.get(fn)
            if handler is not None:
                return handler(args)
            if fn == "Fn::GetAtt":
                target = _getatt_target(args)
                raise _Unbounded(f"it uses Fn::GetAtt {target}, known only after deployment")
            if fn.startswith("Fn::"):
                raise _Unbounded(f"it uses {fn}, which this check does not evaluate")
        raise _Unbounded("it is not a string or a supported intrinsic function")

    def fn_ref(self, args: Any) -> Any:
        if not isinstance(args, str):
            raise _Unbounded("Ref needs a name")
        return self.ref(args)

    def fn_sub(self, args: Any) -> str:
        if isinstance(args, str):
            text, variables = args, {}
        elif isinstance(args, list) and len(args) == 2 and isinstance(args[1], Mapping):
            text, variables = args
        else:
            raise _Unbounded("Fn::Sub has an unexpected form")
        if not isinstance(text, str):
            raise _Unbounded("Fn::Sub's template is not a string")

        def substitute(match: re.Match) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                result = self.string(variables[name], f"Fn::Sub variable {name}")
                return "" if result is NO_VALUE else result
            if "." in name and not name.startswith("AWS::"):
                raise _Unbounded(f"it uses ${{{name}}}, an attribute known only after deployment")
            result = self.ref(name)
            return "" if result is NO_VALUE else result

        return _SUB_VAR.sub(substitute, text)

    def fn_join(self, args: Any) -> str:
        if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)):
            raise _Unbounded("Fn::Join has an unexpected form")
        items = self.value(args[1])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _Unbounded("Fn::Join's list cannot be evaluated")
        return args[0].join(items)

    def fn_if(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 3):
            raise _Unbounded("Fn::If has an unexpected form")
        before = dict(self.used)
        best: tuple[Any, dict[str, str]] | None = None
        for branch in args[1:]:
            self.used = dict(before)
            result = self.value(branch)
            if result is NO_VALUE:
                continue
            if best is None or (isinstance(result, str) and len(result) > len(best[0])):
                best = (result, dict(self.used))
        if best is None:
            self.used = before
            return NO_VALUE
        self.used = best[1]
        return best[0]

    def fn_select(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            raise _Unbounded("Fn::Select has an unexpected form")
        index = _as_int(self.value(args[0]))
        items = self.value(args[1])
        if index is None or not isinstance(items, list) or not 0 <= index < len(items):
            raise _Unbounded("Fn::Select cannot be evaluated")
        return items[index]

    def fn_split(self, args: Any) -> list:
        if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)):
            raise _Unbounded("Fn::Split has an unexpected form")
        text = self.string(args[1], "Fn::Split source")
        return [] if text is NO_VALUE else text.split(args[0])

    def fn_find_in_map(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) in (3, 4)):
            raise _Unbounded("Fn::FindInMap has an unexpected form")
        mappings = self.template.get("Mappings") or {}
        level: Any = mappings
        for key in args[:3]:
            if not isinstance(level, Mapping):
                raise _Unbounded("Fn::FindInMap's mapping is not a map")
            try:
                name = self.string(key, "Fn::FindInMap key")
            except _Unbounded:
                name = None
            if name in level:
                level = level[name]
            else:  # a key known only at deploy time: any entry may be chosen, take the longest
                options = [self.value(v) if not isinstance(v, Mapping) else v for v in level.values()]
                if not options:
                    raise _Unbounded("Fn::FindInMap refers to an empty map")
                level = _merge_longest(options)
        if isinstance(level, Mapping):
            raise _Unbounded("Fn::FindInMap ends in a map")
        return self.value(level)


def _merge_longest(options: list) -> Any:
    """For FindInMap with an unknown key: one map holding, per key, the longest value anywhere."""
    if all(isinstance(o, Mapping) for o in options):
        merged: dict[str, Any] = {}
        for option in options:
            for key, value in option.items():
                merged.setdefault(key, []).append(value)
        return {k: _merge_longest(v) for k, v in merged.items()}
    strings = [o for o in options if isinstance(o, str)]
    if len(strings) != len(options):
        raise _Unbounded("Fn::FindInMap mixes values of different kinds")
    return max(strings, key=len)


def explain(
    value: Any, template: Mapping[str, Any], parameters: Mapping[str, str] | None = None, prefer: str = "a"
) -> Resolution:
    """Like ``resolve``, with the parameters used and, when unbounded, why."""
    resolver = _Resolver(template, parameters, prefer)
    try:
        result = resolver.string(value)
    except _Unbounded as problem:
        return Resolution(None, dict(resolver.used), problem.reason)
    except RecursionError:
        return Resolution(None, {}, "it is nested too deeply")
    if result is NO_VALUE:
        return Resolution(None, dict(resolver.used), None, absent=True)
    return Resolution(result, dict(resolver.used))


def resolve(value: Any, template: Mapping[str, Any], parameters: Params = None) -> str | None:
    """The string ``value`` (a property value: plain string, Ref, Fn::Sub, Fn::Join, ... nested)
    becomes when every parameter takes its longest allowed value, pseudo parameters their longest
    real values, and the names in ``parameters`` the values given there. None when it cannot be
    bounded statically (Fn::GetAtt, Fn::ImportValue, Ref to a resource, a parameter without a
    length bound) or is AWS::NoValue."""
    return explain(value, template, parameters).value


def to_sub_text(value: Any) -> str:
    """``value`` written as an Fn::Sub template, for messages and comparisons:
    ``{"Fn::Join": ["-", ["a", {"Ref": "P"}]]}`` -> ``a-${P}``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_sub_text(v) for v in value) + "]"
    if isinstance(value, Mapping) and len(value) == 1:
        (fn, args), = value.items()
        if fn == "Ref" and isinstance(args, str):
            return "${" + args + "}"
        if fn == "Fn::GetAtt":
            target = _getatt_target(args)
            return "${" + target + "}"
        if fn == "Fn::Sub":
            if isinstance(args, str):
                return args
            if isinstance(args, list) and len(args) == 2 and isinstance(args[1], Mapping):
                variables = args[1]
                return _SUB_VAR.sub(
                    lambda m: to_sub_text(variables[m.group(1)]) if m.group(1) in variables else m.group(0),
                    str(args[0]),
                )
        if fn == "Fn::Join" and isinstance(args, list) and len(args) == 2 and isinstance(args[1], list):
            return str(args[0]).join(to_sub_text(v) for v in args[1])
        if fn == "Fn::If" and isinstance(args, list) and len(args) == 3:
            return f"{{if {args[0]}: {to_sub_text(args[1])} | {to_sub_text(args[2])}}}"
        return "{" + str(fn) + "}"
    return "{?}"


# --------------------------------------------------------------------------------------------
# Physical names in a template
# --------------------------------------------------------------------------------------------


def _short(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class PhysicalName:
    """One name property of one resource, at its longest."""

    logical_id: str
    resource_type: str
    property: str
    value: str | None  # longest value; None when it cannot be bounded (see reason) or is absent
    limit: NameLimit
    expression: str  # the property as an Fn::Sub template, for messages
    used: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    # (probe character, value made preferring it, parameters that brought it in, its problems)
    probes: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = ()
    given: tuple[str, ...] = ()  # names whose values were given (``parameters``), not the longest

    @property
    def path(self) -> list[str]:
        return ["Resources", self.logical_id, "Properties", self.property]

    @property
    def bounded(self) -> bool:
        return self.value is not None

    def _where(self) -> str:
        return f"{self.logical_id} {self.property} '{_short(self.expression)}'"

    def _used_text(self) -> str:
        if not self.used:
            return ""
        parts = [
            f"{name} ({len(value)}{', given' if name in self.given else ''})" for name, value in self.used.items()
        ]
        return (" with " if self.given else " at the longest ") + _and(parts)

    def violations(self) -> list[str]:
        """Readable messages for every way this name breaks its limit; [] when it fits."""
        if self.value is None:
            return []
        found = []
        limit = self.limit
        length = len(self.value)
        if length > limit.max_length:
            hint = "shorten the fixed text or build the name from fewer or shorter parameters"
            if {"SageMakerProjectName", "SageMakerProjectId"} <= set(self.used):
                hint += " (SageMakerProjectId alone is unique per project)"
            found.append(
                f"{self._where()} is {length} characters{self._used_text()}; {limit.label}s allow at most "
                f"{limit.max_length} ({length - limit.max_length} over). To fix: {hint}."
            )
        elif length < limit.min_length and not self.used:
            found.append(
                f"{self._where()} is {length} characters; {limit.label}s need at least {limit.min_length}."
            )
        problems = limit.problems(self.value)
        if problems:
            found.append(
                f"{self._where()} {'; '.join(problems)} (longest value: '{_short(self.value)}')."
            )
            return found
        for char, value, params, char_problems in self.probes:
            what = _CHAR_WORDS.get(char, f"'{char}'")
            who = _and(list(params)) if params else "a parameter"
            verb = "allows" if len(params) <= 1 else "allow"
            found.append(
                f"{self._where()} can contain {what}: {who} {verb} {'it' if char != 'A' else 'them'} "
                f"(e.g. '{_short(value)}'), and then the name {'; '.join(char_problems)}. To fix: narrow "
                f"the AllowedPattern of {who} to characters {limit.label}s allow, or leave "
                f"{'it' if len(params) <= 1 else 'them'} out of the name."
            )
        return found


def _probe(value: Any, template: Mapping[str, Any], parameters: Mapping[str, str] | None,
           limit: NameLimit, baseline: Resolution) -> tuple:
    found = []
    seen_problems: set[tuple[str, ...]] = set()
    for char in _PROBE_CHARS:
        result = explain(value, template, parameters, prefer=char)
        if result.value is None:
            continue
        problems = tuple(limit.problems(result.value))
        if not problems or problems in seen_problems:
            continue
        seen_problems.add(problems)
        params = tuple(
            name for name, v in result.used.items()
            if v != baseline.used.get(name) and _has(char, v)
        )
        found.append((char, result.value, params, problems))
    return tuple(found)


def _resources(template: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        return
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        rtype, props = resource.get("Type"), resource.get("Properties")
        if isinstance(rtype, str) and isinstance(props, Mapping):
            yield str(logical_id), rtype, props


def physical_names(template: Mapping[str, Any], parameters: Params = None) -> list[PhysicalName]:
    """Every name property in ``template`` that ``NAME_LIMITS`` covers, at its longest.
    Properties left out, or AWS::NoValue, are skipped (CloudFormation then generates a name)."""
    found = []
    for logical_id, rtype, props in _resources(template):
        for (limit_type, prop), limit in NAME_LIMITS.items():
            if limit_type != rtype or prop not in props:
                continue
            raw = props[prop]
            result = explain(raw, template, parameters)
            if result.absent:
                continue
            probes: tuple = ()
            if result.value is not None and not limit.problems(result.value):
                probes = _probe(raw, template, parameters, limit, result)
            found.append(PhysicalName(
                logical_id, rtype, prop, result.value, limit, to_sub_text(raw), result.used, result.reason,
                probes, tuple(n for n in result.used if n in (parameters or {})),
            ))
    return found


def name_violations(template: Mapping[str, Any], parameters: Params = None) -> list[str]:
    """A readable message for every physical name that does not fit its limit or pattern at the
    longest parameter values, e.g. ``ArtifactBucket BucketName 'sagemaker-${SageMakerProjectName}-…'
    is 73 characters at the longest SageMakerProjectName (32) and SageMakerProjectId (20); S3
    bucket names allow at most 63 ...``. Names that cannot be bounded are not included: see
    ``unbounded_names``."""
    return [message for name in physical_names(template, parameters) for message in name.violations()]


def unbounded_names(template: Mapping[str, Any], parameters: Params = None) -> list[PhysicalName]:
    """The physical names whose length cannot be bounded statically (``reason`` says why)."""
    return [name for name in physical_names(template, parameters) if name.value is None]

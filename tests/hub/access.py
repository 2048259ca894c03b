"""A small IAM evaluator over resolved templates: does one side grant what the other side needs?

A `Need` is one request: a principal (its ARN, account and organization), an action, a resource
ARN, and the request's context (condition keys). `Grants` collects the policy statements of
resolved templates: resource policies (bucket, key, model package group, event bus, role trust)
by the resource they protect, identity policies by the role they belong to. Roles AWS creates
(the SageMaker projects' UseRole and split roles, Studio execution roles) have the identity
policies of managed_policies.py, whichever account they are in; a role neither a template nor
that table knows is "unmodelled" (`Grants.unmodelled`) and assumed to allow everything.

`Grants.check(need)` answers like IAM does for the parts modelled here: an explicit Deny wins;
across accounts both the principal's identity policy (when it is modelled) and the
resource's policy must allow; in the same account either may (a KMS key's policy is always
required: its root statement hands the decision to IAM, a statement naming the principal or "*"
decides by itself). Principals match as `*`, an account id,
an account root ARN (any principal of the account) or an exact role ARN; actions and resources
match with `*` and `?` wildcards and policy variables (`${aws:PrincipalAccount}`,
`${aws:PrincipalTag/<key>}` of a principal's session tags), in resources and condition values; conditions
support the operators these templates use, and any other operator is an error, not a silent pass.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from .resolve import PARTITION, REGION


@dataclass(frozen=True)
class Principal:
    arn: str
    org_id: str = ""
    org_paths: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()  # session tags: aws:PrincipalTag/<key>

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def service(self) -> str | None:
        return self.arn if self.arn.endswith(".amazonaws.com") else None


def role(account: str, name: str, org_id: str = "", org_paths: tuple[str, ...] = ()) -> Principal:
    return Principal(f"arn:{PARTITION}:iam::{account}:role/{name}", org_id, org_paths)


@dataclass(frozen=True)
class Need:
    principal: Principal
    action: str
    resource: str
    context: tuple[tuple[str, Any], ...] = ()
    why: str = ""

    def describe(self) -> str:
        return f"{self.principal.arn} {self.action} {self.resource} ({self.why})"


def need(principal: Principal, action: str, resource: str, why: str, **context: Any) -> Need:
    """`context`: the request's condition keys (pass them as **{"kms:ViaService": ...})."""
    return Need(principal, action, resource, tuple(context.items()), why)


@dataclass
class Statement:
    where: str
    body: dict[str, Any]

    @property
    def sid(self) -> str:
        return self.body.get("Sid", "")


@dataclass
class Grants:
    # resource ARN pattern -> statements of the policy protecting it (resolved)
    resource_policies: list[tuple[str, str, Statement]] = field(default_factory=list)
    # principal ARN -> its identity policy statements
    identity_policies: dict[str, list[Statement]] = field(default_factory=dict)

    def add_template(self, resolved: dict[str, Any], account: str) -> Grants:
        resources = resolved["Resources"]
        for logical_id, resource in resources.items():
            props = resource["Properties"]
            kind = resource["Type"]
            if kind == "AWS::IAM::Role":
                arn = f"arn:{PARTITION}:iam::{account}:role/{props['RoleName']}"
                for statement in props["AssumeRolePolicyDocument"]["Statement"]:
                    self._resource(arn, account, Statement(f"{logical_id} trust", statement))
                for policy in props.get("Policies", []):
                    for statement in policy["PolicyDocument"]["Statement"]:
                        self.identity_policies.setdefault(arn, []).append(
                            Statement(f"{logical_id} {policy['PolicyName']}", statement)
                        )
            elif kind == "AWS::IAM::ManagedPolicy" and props.get("Roles"):
                # Attached by name (no path) to existing roles: identity statements of each, under
                # the ARN of the AWS-created service-role/ role of that name if managed_policies.py has it.
                from .managed_policies import policies_of

                for name in props["Roles"]:
                    arn = f"arn:{PARTITION}:iam::{account}:role/{name}"
                    in_service_role = arn.replace(":role/", ":role/service-role/")
                    arn = in_service_role if policies_of(in_service_role) is not None else arn
                    for statement in props["PolicyDocument"]["Statement"]:
                        self.identity_policies.setdefault(arn, []).append(Statement(f"{logical_id} managed", statement))
            elif kind == "AWS::S3::BucketPolicy":
                bucket = props["Bucket"]
                for statement in props["PolicyDocument"]["Statement"]:
                    for arn in (f"arn:{PARTITION}:s3:::{bucket}", f"arn:{PARTITION}:s3:::{bucket}/*"):
                        self._resource(arn, account, Statement(logical_id, statement))
            elif kind == "AWS::KMS::Key":
                key = resource.get("PhysicalId") or _key_id(account, logical_id)
                arn = f"arn:{PARTITION}:kms:{REGION}:{account}:key/{key}"
                for statement in props["KeyPolicy"]["Statement"]:
                    self._resource(arn, account, Statement(logical_id, statement), kms=True)
            elif kind == "AWS::SageMaker::ModelPackageGroup" and "ModelPackageGroupPolicy" in props:
                name = props["ModelPackageGroupName"]
                prefix = f"arn:{PARTITION}:sagemaker:{REGION}:{account}:"
                for statement in props["ModelPackageGroupPolicy"]["Statement"]:
                    for arn in (f"{prefix}model-package-group/{name}", f"{prefix}model-package/{name}/*"):
                        self._resource(arn, account, Statement(logical_id, statement))
            elif kind == "AWS::Events::EventBusPolicy":
                bus = props.get("EventBusName", "default")
                arn = f"arn:{PARTITION}:events:{REGION}:{account}:event-bus/{bus}"
                self._resource(arn, account, Statement(logical_id, props["Statement"]))
        return self

    def _resource(self, arn: str, account: str, statement: Statement, kms: bool = False) -> None:
        statement.body = {**statement.body, "_kms": kms}
        self.resource_policies.append((arn, account, statement))

    def remove(self, sid: str, where: str | None = None) -> int:
        """Deletes the statements with `sid` (of resource `where`, if given); returns how many."""
        before = len(self.resource_policies)
        self.resource_policies = [
            (arn, account, s)
            for arn, account, s in self.resource_policies
            if not (s.sid == sid and (where is None or s.where.startswith(where)))
        ]
        removed = before - len(self.resource_policies)
        for principal, statements in self.identity_policies.items():
            kept = [s for s in statements if not (s.sid == sid and (where is None or s.where.startswith(where)))]
            removed += len(statements) - len(kept)
            self.identity_policies[principal] = kept
        return removed

    # --- evaluation ------------------------------------------------------------------------
    def resource_statements(self, resource: str) -> list[tuple[str, Statement]]:
        return [(account, s) for pattern, account, s in self.resource_policies if _match(pattern, resource, case=True)]

    def check(self, need: Need) -> list[str]:
        """Why `need` is not allowed ([] when it is)."""
        context = _context(need)
        on_resource = self.resource_statements(need.resource)
        owners = {account for account, _ in on_resource}
        owner = next(iter(owners)) if owners else _account_of(need.resource)
        # aws:ResourceAccount is the owner of the resource (S3 ARNs carry no account: the owner
        # is the account whose template made the bucket), unless the need says otherwise.
        if owner:
            context.setdefault("aws:resourceaccount", owner)
        cross_account = owner != need.principal.account
        resource_side = _decide([s for _, s in on_resource], need, context, with_principal=True)
        identity = self.identity_of(need.principal.arn)
        identity_side = None if identity is None else _decide(identity, need, context, with_principal=False)
        problems = []
        if "Deny" in (resource_side, identity_side):
            problems.append(f"explicitly denied: {need.describe()}")
        is_kms = any(s.body.get("_kms") for _, s in on_resource)
        if is_kms and not cross_account and identity is not None and identity_side != "Allow":
            # A key policy statement naming the principal (or "*" under conditions) is enough on
            # its own; the account-root statement only hands the decision to IAM.
            root = f"arn:{PARTITION}:iam::{owner}:root"
            direct = [s for _, s in on_resource if root not in _list(_aws_principals(s.body))]
            if _decide(direct, need, context, with_principal=True) != "Allow":
                problems.append(f"the identity policy of {need.principal.arn} does not allow {need.describe()}")
            elif resource_side != "Allow":
                problems.append(f"no resource policy statement allows {need.describe()}")
        elif cross_account or is_kms:
            if resource_side != "Allow":
                problems.append(f"no resource policy statement allows {need.describe()}")
            # A known identity policy must allow it too (an unknown one, of a role no template
            # and no table of managed_policies.py knows, is assumed to: see `unmodelled`).
            if identity is not None and identity_side != "Allow":
                problems.append(f"the identity policy of {need.principal.arn} does not allow {need.describe()}")
        elif "Allow" not in (resource_side, identity_side):
            problems.append(f"nothing allows {need.describe()}")
        return problems

    def identity_of(self, arn: str) -> list[Statement] | None:
        """The identity policy of a principal: the statements templates give it (its own role's, or
        policies a template attaches to it) plus, for roles AWS creates (the projects' UseRole and
        split roles, Studio execution roles), their policies from managed_policies.py; None when
        neither knows it."""
        from .managed_policies import policies_of

        policies = policies_of(arn)
        if arn not in self.identity_policies and policies is None:
            return None
        aws_created = [
            Statement(f"AWS-created role: {name}", body) for name, bodies in policies or [] for body in bodies
        ]
        return self.identity_policies.get(arn, []) + aws_created

    def unmodelled(self, arn: str) -> bool:
        """Whether `arn` is a principal whose identity policy nothing here models (the evaluator then
        assumes it allows everything): not a service, not an account root, not a role of a template
        or of managed_policies.py."""
        if arn.endswith(".amazonaws.com") or arn.endswith(":root"):
            return False
        return self.identity_of(arn) is None

    def allowing(self, need: Need) -> list[str]:
        """The Sids of the resource policy statements that allow `need` (for the record)."""
        context = _context(need)
        return [
            s.sid
            for _, s in self.resource_statements(need.resource)
            if s.body.get("Effect") == "Allow" and _applies(s.body, need, context, with_principal=True)
        ]


def _key_id(account: str, logical_id: str) -> str:
    from .resolve import key_id

    return key_id(account, logical_id)


def _aws_principals(body: dict[str, Any]) -> Any:
    principal = body.get("Principal")
    return principal.get("AWS") if isinstance(principal, dict) else principal


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else ""


def _context(need: Need) -> dict[str, Any]:
    principal = need.principal
    context: dict[str, Any] = {
        "aws:principalarn": principal.arn,
        "aws:principalaccount": principal.account,
        "aws:securetransport": "true",
    }
    if principal.org_id:
        context["aws:principalorgid"] = principal.org_id
    if principal.org_paths:
        context["aws:principalorgpaths"] = list(principal.org_paths)
    for key, value in principal.tags:
        context[f"aws:principaltag/{key.lower()}"] = value
    context.update({k.lower(): v for k, v in need.context})
    return context


def _decide(statements: list[Statement], need: Need, context: dict[str, Any], with_principal: bool) -> str | None:
    effects = {s.body["Effect"] for s in statements if _applies(s.body, need, context, with_principal)}
    if "Deny" in effects:
        return "Deny"
    return "Allow" if "Allow" in effects else None


def _applies(body: dict[str, Any], need: Need, context: dict[str, Any], with_principal: bool) -> bool:
    if "NotPrincipal" in body:
        raise ValueError("NotPrincipal is not modelled")
    if with_principal and ("NotAction" in body or "NotResource" in body):
        raise ValueError("NotAction/NotResource in a resource policy are not modelled")
    if with_principal and not _principal_matches(body.get("Principal"), need.principal):
        return False
    if "NotAction" in body:  # identity policies of AWS managed policies (managed_policies.py)
        if any(_match(a, need.action) for a in _list(body["NotAction"])):
            return False
    elif not any(_match(a, need.action) for a in _list(body.get("Action"))):
        return False
    if "NotResource" in body:
        resources = [_substitute(r, context) for r in _list(body["NotResource"])]
        if any(r is None or _match(r, need.resource, case=True) for r in resources):
            return False
    elif "Resource" in body:
        resources = [_substitute(r, context) for r in _list(body["Resource"])]
        # A variable whose key the request lacks matches nothing (IAM's rule for Resource).
        if not any(r is not None and _match(r, need.resource, case=True) for r in resources):
            return False
    return _conditions_hold(body.get("Condition", {}), context)


def _principal_matches(principal: Any, who: Principal) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        for value in _list(values):
            if kind == "Service" and value == who.service:
                return True
            if kind != "AWS":
                continue
            if value == "*" or value == who.arn:
                return True
            if value == who.account or value == f"arn:{PARTITION}:iam::{who.account}:root":
                return who.service is None
    return False


def _conditions_hold(conditions: dict[str, Any], context: dict[str, Any]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            values = [_substitute(e, context) if isinstance(e, str) else e for e in _list(expected)]
            if not _condition(operator, context.get(key.lower()), [v for v in values if v is not None]):
                return False
    return True


# Operators that require the key NOT to match: on a key the request lacks they are true (IAM user
# guide, reference_policies_elements_condition_operators: "If the policy condition requires that the
# key is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the
# condition is true"), and their values combine as NOR.
NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _condition(operator: str, actual: Any, expected: list[Any]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    quantifier, _, base = base.rpartition(":")
    if operator == "Null":  # true: the key must be absent; false: present
        return (actual is None) == (str(expected[0]).lower() == "true")
    if actual is None:
        return if_exists or (base in NEGATED and not quantifier)
    values = _list(actual)
    if base in ("StringEquals", "ArnEquals"):
        test = lambda value: any(value == e for e in expected)  # noqa: E731
    elif base in ("StringLike", "ArnLike"):
        test = lambda value: any(_match(e, value, case=True) for e in expected)  # noqa: E731
    elif base in ("StringNotEquals", "ArnNotEquals"):
        test = lambda value: all(value != e for e in expected)  # noqa: E731
    elif base in ("StringNotLike", "ArnNotLike"):
        test = lambda value: not any(_match(e, value, case=True) for e in expected)  # noqa: E731
    elif base == "StringEqualsIgnoreCase":
        test = lambda value: any(str(value).lower() == str(e).lower() for e in expected)  # noqa: E731
    elif base == "Bool":
        test = lambda value: any(str(value).lower() == str(e).lower() for e in expected)  # noqa: E731
    else:
        raise ValueError(f"condition operator {operator} is not modelled")
    if quantifier == "ForAnyValue":
        return any(test(v) for v in values)
    if quantifier == "ForAllValues":
        return all(test(v) for v in values)
    if quantifier:
        raise ValueError(f"condition operator {operator} is not modelled")
    return test(values[0]) if len(values) == 1 else False


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(text: str, context: dict[str, Any]) -> str | None:
    """IAM policy variables (`${aws:PrincipalAccount}`, `${aws:PrincipalTag/k}`) replaced by the
    request's values; None when the request lacks one (the element then matches nothing)."""
    missing = False

    def value(match: re.Match) -> str:
        nonlocal missing
        found = context.get(match.group(1).lower())
        if not isinstance(found, str):
            missing = True
            return ""
        return found

    text = _VARIABLE.sub(value, text)
    return None if missing else text


def _match(pattern: str, value: str, case: bool = False) -> bool:
    pattern = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, pattern) if case else fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def pattern_matches(pattern: Any, event: Any) -> bool:
    """EventBridge pattern matching for the forms these templates use: lists of values, nested
    objects, and {"prefix": ...}."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            key in event and pattern_matches(value, event[key]) for key, value in pattern.items()
        )
    return any(
        (isinstance(option, dict) and "prefix" in option and str(event).startswith(option["prefix"])) or option == event
        for option in pattern
    )

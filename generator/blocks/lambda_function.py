"""A Lambda function whose code is a module of `generator/lambdas/`, embedded inline.

CloudFormation's inline `Code.ZipFile` holds at most 4096 bytes and is saved as `index.py`.
The module keeps its docstrings and comments in the repository; the template gets the same code
without them (`inline_source`), which must fit. Stripping works on tokens, not on `ast.unparse`,
so the bytes do not depend on the Python version that builds the catalog.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path
from typing import Any

from troposphere import GetAtt, Sub, Tags, awslambda, logs

LAMBDAS = Path(__file__).resolve().parents[1] / "lambdas"
INLINE_LIMIT = 4096
RUNTIME = "python3.12"
PASS = "pass"


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def inline_source(module: str) -> str:
    """`generator/lambdas/<module>.py` without comments, docstrings and blank lines, indented
    by one space per level (the module must indent by multiples of four spaces, as ruff does).

    Raises ValueError when the result does not fit CloudFormation's inline-code limit.
    """
    source = (LAMBDAS / f"{module}.py").read_text()
    drop: set[int] = set()  # line numbers (1-based) to leave out entirely
    cut: dict[int, int] = {}  # line number -> column where a trailing comment starts
    verbatim: set[int] = set()  # lines continuing a multi-line string: kept as they are
    previous = tokenize.NEWLINE
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = token.type
        if kind == tokenize.COMMENT:
            cut[token.start[0]] = token.start[1]
        elif kind == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            # A string that is a statement of its own: a docstring.
            drop.update(range(token.start[0], token.end[0] + 1))
        elif kind == tokenize.STRING:
            verbatim.update(range(token.start[0] + 1, token.end[0] + 1))
        if kind not in (tokenize.NL, tokenize.COMMENT):
            previous = kind
    lines = []
    for number, line in enumerate(source.splitlines(), start=1):
        if number in drop:
            if number - 1 not in drop:  # a block may hold nothing but its docstring
                body = line.lstrip(" ")
                lines.append(" " * ((len(line) - len(body)) // 4) + PASS)
            continue
        if number in verbatim:
            lines.append(line)
            continue
        line = line[: cut.get(number, len(line))].rstrip()
        if line:
            # One space per indentation level of four: same structure, fewer bytes.
            body = line.lstrip(" ")
            lines.append(" " * ((len(line) - len(body)) // 4) + body)
    # A `pass` stays only where its block has nothing else: at the end, or before a shallower line.
    kept = [
        line
        for i, line in enumerate(lines)
        if line.strip() != PASS or i + 1 == len(lines) or _depth(lines[i + 1]) < _depth(line)
    ]
    code = "\n".join(kept) + "\n"
    size = len(code.encode())
    if size > INLINE_LIMIT:
        raise ValueError(
            f"generator/lambdas/{module}.py is {size} bytes without comments and docstrings; "
            f"inline Lambda code may be at most {INLINE_LIMIT}"
        )
    return code


def log_group_name(function_name: Any) -> Sub:
    return Sub("/aws/lambda/${Name}", Name=function_name)


def log_group(
    logical_id: str, function_name: Any, tags: Tags, key: Any = None, retention_days: int = 365
) -> logs.LogGroup:
    """The function's log group, made by the stack so that it has a retention (and, given `key`,
    KMS encryption: the key policy must then admit CloudWatch Logs, see `logs_use_key`)."""
    group = logs.LogGroup(
        logical_id, LogGroupName=log_group_name(function_name), RetentionInDays=retention_days, Tags=tags
    )
    if key is not None:
        group.KmsKeyId = GetAtt(key, "Arn")
    return group


def logs_use_key(function_name: Any, sid: str = "CloudWatchLogsUseKey") -> dict[str, Any]:
    """Key policy statement: CloudWatch Logs may use the key for this function's log group only."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": Sub("logs.${AWS::Region}.amazonaws.com")},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {
            "ArnEquals": {
                "kms:EncryptionContext:aws:logs:arn": Sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Name}",
                    Name=log_group_name(function_name),
                )
            }
        },
    }


def inline_function(
    logical_id: str,
    name: Any,
    description: str,
    module: str,
    role: Any,
    environment: dict[str, Any],
    tags: Tags,
    dead_letter_queue: Any = None,
    timeout: int = 900,
    memory: int = 512,
    reserved_concurrency: int | None = None,
) -> awslambda.Function:
    """A Python function running `generator/lambdas/<module>.py` (`index.handler`)."""
    function = awslambda.Function(
        logical_id,
        FunctionName=name,
        Description=description,
        Runtime=RUNTIME,
        Handler="index.handler",
        Code=awslambda.Code(ZipFile=inline_source(module)),
        Role=role,
        Timeout=timeout,
        MemorySize=memory,
        Environment=awslambda.Environment(Variables=environment),
        Tags=tags,
    )
    if reserved_concurrency is not None:
        function.ReservedConcurrentExecutions = reserved_concurrency
    if dead_letter_queue is not None:
        function.DeadLetterConfig = awslambda.DeadLetterConfig(TargetArn=GetAtt(dead_letter_queue, "Arn"))
    return function

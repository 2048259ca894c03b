"""Custom resource of the seeding (generator/blocks/seeding.py): runs the seed check-in build once.

On Create and Update it starts the CodeBuild project named by the resource's ProjectName and waits
for the build: SUCCEEDED answers SUCCESS (the seed is pushed, or the repository already held it);
any other end (the check-in refused a repository with others' commits, or git failed) answers
FAILED with the build's status and the link to its log, where the check-in wrote its one line. A
build still running when the function's time is nearly up answers FAILED too: CloudFormation must
get an answer before the custom resource's ServiceTimeout. On Delete it does nothing: the
repository and its history belong to the user.

This mirrors what AWS's own SageMaker project templates for third-party Git repositories do (a
Lambda-backed custom resource starting the "seed code checkin" CodeBuild project and polling it).
Uses the standard library and boto3 only.
"""

import json
import time
import urllib.request

POLL_SECONDS = 10
MARGIN_MS = 30000


def log(level, message, **fields):
    print(json.dumps({"level": level, "message": message, **fields}, default=str))


def client():
    import boto3
    from botocore.config import Config

    return boto3.client("codebuild", config=Config(retries={"mode": "standard", "max_attempts": 8}))


def remaining_ms(context):
    return context.get_remaining_time_in_millis() if context is not None else 840000


def run_build(codebuild, project, token, context, sleep):
    """Starts the build and waits for its end; returns the last description of the build."""
    build = codebuild.start_build(projectName=project, idempotencyToken=token)["build"]
    log("INFO", "seeding build started", build=build["id"])
    while build.get("buildStatus", "IN_PROGRESS") == "IN_PROGRESS":
        if remaining_ms(context) < MARGIN_MS + POLL_SECONDS * 1000:
            raise RuntimeError(f"the seeding build {build['id']} is still running; see {link(build)}")
        sleep(POLL_SECONDS)
        build = codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]
    return build


def link(build):
    return (build.get("logs") or {}).get("deepLink") or f"the CodeBuild log of build {build['id']}"


def handler(event, context=None, codebuild=None, sleep=time.sleep):
    kind = event.get("RequestType")
    props = event.get("ResourceProperties") or {}
    physical = event.get("PhysicalResourceId") or f"seed-{props.get('ProjectName', 'unknown')}"
    status, reason, data = "SUCCESS", "", {}
    try:
        if kind in ("Create", "Update"):
            token = "".join(c for c in event.get("RequestId", "") if c.isalnum() or c == "-")[:64] or None
            build = run_build(codebuild or client(), props["ProjectName"], token, context, sleep)
            if build["buildStatus"] != "SUCCEEDED":
                raise RuntimeError(f"the seeding build {build['id']} ended {build['buildStatus']}; "
                                   f"its log says why: {link(build)}")
            data = {"BuildId": build["id"]}
            log("INFO", "seeding build succeeded", build=build["id"])
        elif kind == "Delete":
            log("INFO", "nothing to delete: the repository keeps its history", request=kind)
        else:
            raise ValueError(f"unknown RequestType {kind!r}")
    except Exception as error:
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:1000]
        log("ERROR", reason, request=kind)
    respond(event, status, reason, physical, data)
    return {"Status": status, "Reason": reason, "Data": data}


def respond(event, status, reason, physical, data):
    """PUT the answer to the pre-signed ResponseURL (with an empty Content-Type, as it was signed)."""
    body = json.dumps({
        "Status": status,
        "Reason": reason or "See the function's log group",
        "PhysicalResourceId": physical,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": data,
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()

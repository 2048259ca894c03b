"""Custom resource of the s3-templates-domains product: tags the SageMaker domains of the account
(in the stack's region) with the location of the SageMaker project templates kept in S3.

Studio lists the S3 templates of a domain only when the domain carries the tag
`sagemaker:projectS3TemplatesLocation` = `s3://bucket/prefix/` (SageMaker Developer Guide, "Using a
template from an Amazon S3 bucket"). On Create and Update the function lists the domains
(ListDomains), reads each one's tags (ListTags) and calls AddTags only where the tag is missing or
holds another value, so a repeated event writes nothing. Domains being deleted are left alone.

On Delete the tags stay, on purpose: the stack cannot know whether it set the tag or found it
(set by `smcat domains tag`, by hand, or by an earlier stack), and a StackSet removes its instance
from an account that leaves the OU, which must not hide the templates from that account's Studio
users without anyone asking. Remove the tag explicitly (`aws sagemaker delete-tags`) if intended.

Every event gets an answer (CloudFormation otherwise waits for the custom resource's
ServiceTimeout): SUCCESS with the ids of the domains it tagged, or FAILED with the reason.
`smcat domains plan|tag` (generator/publish/domains.py) uses the same reading and decision.
Uses the standard library and boto3 only.
"""

import json
import re
import urllib.request

TAG_KEY = "sagemaker:projectS3TemplatesLocation"
# s3://bucket or s3://bucket/prefix/: an S3 bucket name, then path segments of characters that both
# S3 keys and SageMaker tag values ([\p{L}\p{Z}\p{N}_.:/=+\-@]*, no commas) allow.
LOCATION = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9_.:=+@-]+)*/?"
PHYSICAL_ID = "sagemaker-domain-templates-location"


def log(level, message, **fields):
    print(json.dumps({"level": level, "message": message, **fields}, default=str))


def normalise(location):
    """The tag value: the location ending in exactly one "/"."""
    if not isinstance(location, str) or not re.fullmatch(LOCATION, location) or ".." in location:
        raise ValueError(f"TemplatesLocation {location!r} is not s3://bucket/prefix/")
    return location.rstrip("/") + "/"


def tag_values(sm, arn):
    """Every value the domain's tags give TAG_KEY: one on AWS (keys are unique per resource), none
    when untagged. A list, so that a double that appends repeated keys cannot hide a stale one."""
    pages = sm.get_paginator("list_tags").paginate(ResourceArn=arn)
    return [tag.get("Value", "") for page in pages for tag in page.get("Tags", []) if tag["Key"] == TAG_KEY]


def decide(values, location):
    """'create' (no tag), 'update' (another value) or 'no-op'."""
    if not values:
        return "create"
    return "no-op" if all(value == location for value in values) else "update"


def domains(sm):
    """The region's domains, but those being deleted (AddTags would fail on them)."""
    for page in sm.get_paginator("list_domains").paginate():
        for domain in page.get("Domains", []):
            if domain.get("Status") != "Deleting":
                yield domain


def tag_domains(sm, location):
    """Tags every domain that needs it; returns the ids of those it tagged."""
    tagged = []
    for domain in domains(sm):
        if decide(tag_values(sm, domain["DomainArn"]), location) != "no-op":
            sm.add_tags(ResourceArn=domain["DomainArn"], Tags=[{"Key": TAG_KEY, "Value": location}])
            tagged.append(domain["DomainId"])
    return tagged


def client():
    import boto3
    from botocore.config import Config

    return boto3.client("sagemaker", config=Config(retries={"mode": "standard", "max_attempts": 8},
                                                   connect_timeout=10, read_timeout=30))


def handler(event, context=None, sm=None):
    kind = event.get("RequestType")
    physical = event.get("PhysicalResourceId") or PHYSICAL_ID
    status, reason, data = "SUCCESS", "", {}
    try:
        if kind in ("Create", "Update"):
            location = normalise(event["ResourceProperties"].get("TemplatesLocation"))
            tagged = tag_domains(sm or client(), location)
            data = {"Location": location, "Tagged": ",".join(tagged) or "none"}
            log("INFO", f"{len(tagged)} domains tagged", request=kind, location=location, tagged=tagged)
        elif kind == "Delete":
            log("INFO", "tags left on the domains", request=kind)
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

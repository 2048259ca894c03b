"""`smcat domains plan|tag`: the SageMaker domains of an account tagged with the S3 templates' location.

moto plays SageMaker. Two of its quirks are handled here, not in the code under test: domains are
created with `Tags=[...]` (moto crashes on a domain created without tags), and AddTags is given the
documented semantics ("Adds or overwrites one or more tags ... Tag keys must be unique per
resource", botocore model) because moto appends a repeated key instead; one test keeps moto's
append to show that the command reads every value ListTags returns. Every request is checked
against the botocore model (patterns and lengths too: tests/hub/service_model.py).
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sagemaker.models import SageMakerModelBackend

from generator.cli import main, parser
from generator.publish.aws import CallCounter, Runtime
from generator.publish.domains import parse_location
from tests.hub.service_model import request_violations, validate_requests

KEY = "sagemaker:projectS3TemplatesLocation"
LOCATION = "s3://my-sagemaker-templates/sagemaker-templates/"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-1"


class ValidatingRuntime(Runtime):
    """The CLI's runtime, with every client's requests checked against the botocore model."""

    def client(self, service, region=None):
        return validate_requests(super().client(service, region))


def upsert(self, arn, tags):
    """AddTags as AWS documents it: a key already present gets the new value."""
    resource = self._get_resource_from_arn(arn)
    keys = {tag["Key"] for tag in tags}
    resource.tags = [tag for tag in resource.tags if tag["Key"] not in keys] + list(tags)
    return resource.tags


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        monkeypatch.setattr(SageMakerModelBackend, "add_tags", upsert)
        yield


def domain(name: str, tags: dict[str, str] | None = None, region: str = "us-east-1") -> str:
    sm = boto3.client("sagemaker", region_name=region)
    return sm.create_domain(
        DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE}, SubnetIds=["subnet-1"],
        VpcId="vpc-1", Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )["DomainArn"]


def tags_of(arn: str) -> list[tuple[str, str]]:
    region = arn.split(":")[3]
    return [(t["Key"], t["Value"]) for t in boto3.client("sagemaker", region_name=region).list_tags(
        ResourceArn=arn)["Tags"]]


def run(*argv: str, runtime: Runtime | None = None) -> tuple[int, str, str, Runtime]:
    runtime = runtime or ValidatingRuntime()
    args = parser().parse_args(["domains", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = args.func(args, runtime=runtime, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue(), runtime


def writes(runtime: Runtime) -> int:
    return CallCounter.summarize(runtime.counter.snapshot())["writes"]


def calls(runtime: Runtime) -> dict[str, int]:
    return {op: n for (_, op), n in runtime.counter.snapshot().items()}


# --- plan ------------------------------------------------------------------------------------------

def test_plan_says_per_domain_create_update_or_no_op_and_writes_nothing(aws):
    fresh = domain("fresh", {"team": "a"})
    moved = domain("moved", {KEY: "s3://old-templates/x/"})
    done = domain("done", {KEY: LOCATION})
    before = {arn: tags_of(arn) for arn in (fresh, moved, done)}
    code, out, err, runtime = run("plan", "--location", LOCATION)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Domains in us-east-1 (tag {KEY}):",
        f"  + create d-fresh (fresh)  tag {LOCATION}",
        f"  ~ update d-moved (moved)  s3://old-templates/x/ -> {LOCATION}",
        "  = no-op  d-done (done)  already tagged",
        "Summary: 1 create, 1 update, 1 unchanged; 2 write actions.",
    ]
    assert writes(runtime) == 0 and calls(runtime) == {"ListDomains": 1, "ListTags": 3}
    assert {arn: tags_of(arn) for arn in before} == before


def test_tag_applies_exactly_the_plan_and_a_second_run_writes_nothing(aws):
    fresh = domain("fresh", {"team": "a"})
    moved = domain("moved", {KEY: "s3://old-templates/x/"})
    done = domain("done", {KEY: LOCATION})
    code, out, err, runtime = run("tag", "--location", LOCATION)
    assert (code, err) == (0, "")
    assert calls(runtime) == {"ListDomains": 1, "ListTags": 3, "AddTags": 2}
    assert out.splitlines()[-3:] == ["tagged d-fresh (us-east-1)", "tagged d-moved (us-east-1)",
                                     "Done: 2 tagged, 1 unchanged."]
    assert tags_of(fresh) == [("team", "a"), (KEY, LOCATION)]
    assert tags_of(moved) == [(KEY, LOCATION)] and tags_of(done) == [(KEY, LOCATION)]

    code, out, _, again = run("tag", "--location", LOCATION)
    assert code == 0 and writes(again) == 0
    assert "Summary: 0 create, 0 update, 3 unchanged; 0 write actions." in out
    assert out.splitlines()[-1] == "Done: 0 tagged, 3 unchanged."


@pytest.mark.parametrize(("given", "value"), [
    ("s3://my-sagemaker-templates/sagemaker-templates", LOCATION),
    ("s3://my-sagemaker-templates/sagemaker-templates/", LOCATION),
    ("s3://my-sagemaker-templates", "s3://my-sagemaker-templates/"),
    ("s3://my-sagemaker-templates/", "s3://my-sagemaker-templates/"),
    ("s3://b.example-1/a/b_c/d=e/", "s3://b.example-1/a/b_c/d=e/"),
])
def test_the_location_is_normalised_to_end_with_one_slash(aws, given, value):
    arn = domain("studio")
    assert run("tag", "--location", given)[0] == 0
    assert tags_of(arn) == [(KEY, value)]
    assert parse_location(given) == (value, [])


@pytest.mark.parametrize(("given", "problem"), [
    ("my-bucket/prefix/", "not an S3 location; write s3://bucket/prefix/"),
    ("https://my-bucket.s3.amazonaws.com/p/", "not an S3 location; write s3://bucket/prefix/"),
    ("s3://My_Bucket/p/", "'My_Bucket' is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' and '-', "
                          "starting and ending with a letter or digit)"),
    ("s3://ab/", "'ab' is not a valid S3 bucket name"),
    ("s3://a..b/", "'a..b' is not a valid S3 bucket name"),
    ("s3://192.168.1.1/", "'192.168.1.1' is not a valid S3 bucket name"),
    ("s3://xn--abc/", "'xn--abc' is not a valid S3 bucket name"),
    ("s3://abc-s3alias/", "'abc-s3alias' is not a valid S3 bucket name"),
    ("s3://bucket//p/", "the prefix has an empty segment ('//')"),
    ("s3://bucket/a/../b/", "the prefix has a '.' or '..' segment"),
    ("s3://bucket/a,b/", "the prefix has characters a SageMaker tag value or a safe S3 key cannot hold (','); "
                         "use letters, digits and _ . : = + @ -"),
    ("s3://bucket/a b;c/", "cannot hold (' ' ';')"),
    ("s3://bucket/" + "p" * 250 + "/", "263 characters; a SageMaker tag value holds at most 256"),
])
def test_a_bad_location_is_one_line_exit_2_before_any_call(aws, given, problem):
    arn = domain("studio")
    code, out, err, runtime = run("tag", "--location", given)
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"error: --location {given!r}: ") and problem in line
    assert runtime.counter.snapshot() == {} and tags_of(arn) == []


def test_what_the_location_check_refuses_aws_refuses_too():
    """The tag value rules are the botocore model's (TagValue pattern, 256 characters): the values
    parse_location returns pass them; the characters it refuses in a prefix fail them."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    arn = "arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc"

    def problems(value: str) -> list[str]:
        return request_violations(sm, "AddTags", {"ResourceArn": arn, "Tags": [{"Key": KEY, "Value": value}]})

    for given in ("s3://bucket/a/", "s3://b.example-1/a/b_c/d=e/x:y+z@w/", "s3://bucket/" + "p" * 242 + "/"):
        value, found = parse_location(given)
        assert found == [] and problems(value) == []
    for bad in (",", ";", "|", "!", "*", "'", "(", "#"):
        assert problems(f"s3://bucket/a{bad}b/") and parse_location(f"s3://bucket/a{bad}b/")[1]
    assert problems("s3://bucket/" + "p" * 244 + "/") and parse_location("s3://bucket/" + "p" * 244 + "/")[1]


def test_bad_regions_domain_ids_and_numbers_are_one_line_each(aws):
    code, out, err, runtime = run("plan", "--location", LOCATION, "--region", "moon-1", "--domain-id", "D_1",
                                  "--max-attempts", "0", "--timeout", "0")
    assert code == 2 and out == "" and runtime.counter.snapshot() == {}
    assert err.splitlines() == [
        "error: --region 'moon-1' is not an AWS region name (such as us-east-1)",
        "error: --domain-id 'D_1' is not a SageMaker domain id (d- and 1-61 lowercase letters or digits)",
        "error: --max-attempts must be at least 1",
        "error: --timeout must be positive",
    ]


def test_no_region_says_where_boto3_reads_it(aws, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    code, _, err, _ = run("plan", "--location", LOCATION)
    assert code == 2 and err.startswith("error: no region: pass --region, or set AWS_DEFAULT_REGION")


def test_no_domains_says_so_and_tag_writes_nothing(aws):
    code, out, err, runtime = run("tag", "--location", LOCATION)
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"Domains in us-east-1 (tag {KEY}):", "  no SageMaker domains",
                                "Summary: no SageMaker domains; nothing to tag.", "Done: 0 tagged, 0 unchanged."]
    assert calls(runtime) == {"ListDomains": 1}


# --- choosing domains and regions ------------------------------------------------------------------

def test_domain_id_picks_domains_and_an_unknown_one_is_refused_before_any_write(aws):
    one, two = domain("one"), domain("two")
    code, out, _, runtime = run("tag", "--location", LOCATION, "--domain-id", "d-two")
    assert code == 0 and calls(runtime)["AddTags"] == 1
    assert tags_of(one) == [] and tags_of(two) == [(KEY, LOCATION)]

    code, out, err, runtime = run("tag", "--location", LOCATION, "--domain-id", "d-one", "--domain-id", "d-nope",
                                  "--region", "us-east-1", "--region", "eu-west-1")
    assert (code, out) == (2, "") and writes(runtime) == 0 and tags_of(one) == []
    assert err.splitlines() == ["error: --domain-id d-nope: no such domain in us-east-1, eu-west-1"]


def test_every_region_given_is_planned_and_tagged_with_its_own_client(aws):
    east = domain("east", region="us-east-1")
    west = domain("west", region="eu-west-1")
    code, out, _, runtime = run("tag", "--location", LOCATION, "--region", "us-east-1", "--region", "eu-west-1")
    assert code == 0 and calls(runtime) == {"ListDomains": 2, "ListTags": 2, "AddTags": 2}
    assert f"Domains in eu-west-1 (tag {KEY}):\n  + create d-west (west)" in out
    assert tags_of(east) == [(KEY, LOCATION)] and tags_of(west) == [(KEY, LOCATION)]


def test_json_format(aws):
    domain("fresh")
    domain("done", {KEY: LOCATION})
    code, out, _, _ = run("plan", "--location", LOCATION, "--format", "json")
    plan = json.loads(out)
    assert code == 0 and plan["status"] == "planned" and plan["location"] == LOCATION
    assert plan["counts"] == {"create": 1, "update": 0, "no-op": 1}
    assert [(d["domain_id"], d["kind"], d["current"]) for d in plan["domains"]] == [
        ("d-fresh", "create", []), ("d-done", "no-op", [LOCATION])]
    code, out, _, _ = run("tag", "--location", LOCATION, "--format", "json")
    assert code == 0 and json.loads(out)["tagged"] == ["d-fresh"]


# --- reading ListTags, failures, conventions -------------------------------------------------------

def test_every_value_listtags_returns_is_read(monkeypatch):
    """With moto's own AddTags (it appends a repeated key), a domain ends up with two values; AWS keeps
    one. The command does not trust either: the domain is planned as an update, showing both."""
    with mock_aws():
        arn = domain("twice", {KEY: LOCATION})
        boto3.client("sagemaker", region_name="us-east-1").add_tags(
            ResourceArn=arn, Tags=[{"Key": KEY, "Value": "s3://other-templates/"}])
        assert tags_of(arn) == [(KEY, LOCATION), (KEY, "s3://other-templates/")]
        code, out, _, _ = run("plan", "--location", LOCATION)
    assert code == 0
    assert f"  ~ update d-twice (twice)  {LOCATION}, s3://other-templates/ -> {LOCATION}" in out


def test_a_failed_write_stops_lists_what_was_done_and_a_rerun_converges(aws):
    first, second, third = domain("a"), domain("b"), domain("c")
    runtime = ValidatingRuntime()
    real = runtime.client

    def failing_second(service, region=None):
        client = real(service, region)

        def deny(params, **_):
            if params.get("ResourceArn") == second:
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "AddTags")

        client.meta.events.register("provide-client-params.sagemaker.AddTags", deny)
        return client

    runtime.client = failing_second
    code, out, err, _ = run("tag", "--location", LOCATION, runtime=runtime)
    assert code == 1
    assert out.splitlines()[-2:] == ["tagged d-a (us-east-1)", "tagged: d-a; failed: d-b; not attempted: d-c"]
    assert err.splitlines() == ["error: AddTags on d-b (us-east-1) failed: AccessDeniedException from AddTags: "
                                "not allowed"]
    assert tags_of(first) == [(KEY, LOCATION)] and tags_of(second) == [] and tags_of(third) == []

    code, out, _, again = run("tag", "--location", LOCATION)
    assert code == 0 and calls(again)["AddTags"] == 2
    assert all(tags_of(arn) == [(KEY, LOCATION)] for arn in (first, second, third))


def test_a_refused_read_is_one_line_exit_1_and_nothing_written(aws):
    domain("a")
    runtime = ValidatingRuntime()
    real = runtime.client

    def denied(service, region=None):
        client = real(service, region)

        def deny(**_):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no ListTags"}}, "ListTags")

        client.meta.events.register("provide-client-params.sagemaker.ListTags", deny)
        return client

    runtime.client = denied
    code, out, err, _ = run("tag", "--location", LOCATION, runtime=runtime)
    assert (code, out) == (1, "")
    assert err.splitlines() == ["error: while reading the domains: AccessDeniedException from ListTags: no ListTags"]
    assert writes(runtime) == 0


def test_the_publishers_call_settings_apply(aws):
    """--max-attempts, --timeout and --max-wait tune the runtime as for plan/publish."""
    code, _, _, runtime = run("plan", "--location", LOCATION, "--max-attempts", "3", "--timeout", "5",
                              "--max-wait", "20")
    assert code == 0 and (runtime.max_attempts, runtime.timeout, runtime.max_wait) == (3, 5.0, 20.0)
    client = runtime.client("sagemaker", "us-east-1")
    assert client.meta.config.connect_timeout == 5.0 and client.meta.config.read_timeout == 5.0
    assert client.meta.config.retries["total_max_attempts"] == 3


def test_the_command_line_end_to_end(aws, capsys):
    arn = domain("studio")
    assert main(["domains", "plan", "--location", LOCATION]) == 0
    assert "+ create d-studio (studio)" in capsys.readouterr().out and tags_of(arn) == []
    assert main(["domains", "tag", "--location", "s3://my-sagemaker-templates/sagemaker-templates"]) == 0
    assert tags_of(arn) == [(KEY, LOCATION)]
    assert main(["domains", "tag", "--location", "s3://Bad/"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_:
        main(["domains"])
    assert exit_.value.code == 2


def test_registering_the_command_imports_no_boto3():
    import subprocess
    import sys

    code = ("import sys, argparse; from generator.publish.commands import register; "
            "register(argparse.ArgumentParser().add_subparsers()); print('boto3' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_the_readme_example_as_written(aws):
    """The README's plan command, run as written, prints the README's output (moto names a domain
    d-<name>; the README shows ids of the real shape)."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### Tagging the SageMaker domains", 1)[1]
    command, output = re.findall(r"```(?:sh)?\n(.*?)```", section, flags=re.S)[:2]
    plan, tag = command.splitlines()
    assert plan.split()[:4] == [".venv/bin/python", "build.py", "domains", "plan"]
    assert tag.split()[:4] == [".venv/bin/python", "build.py", "domains", "tag"]
    assert plan.split()[4:] == tag.split()[4:]
    location = "s3://my-sagemaker-templates/sagemaker-templates/"
    domain("studio")
    domain("research", {KEY: "s3://old-templates/"})
    domain("sandbox", {KEY: location})
    code, out, _, _ = run(*shlex.split(plan)[3:])
    ids = {"d-studio": "d-abc123", "d-research": "d-def456", "d-sandbox": "d-ghi789"}
    shown = re.sub(r"d-(studio|research|sandbox)", lambda m: ids[m[0]], out)
    assert code == 0 and shown == output

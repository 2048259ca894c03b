"""plan and publish for portfolios whose publish_to has s3: S3 templates against moto S3 (object
versions and their tags, CORS, bucket policy, versioning), with the Service Catalog double where a
portfolio publishes to both targets."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl

import pytest
import yaml
from botocore.awsrequest import AWSResponse

from generator.publish.aws import is_read_operation
from generator.publish.s3planner import STUDIO_CORS_RULE
from tests.fakes.catalog import MEMBER, ORG, OU, build_dist, default_spec
from tests.fakes.s3templates import PREFIX, TEMPLATES_BUCKET, bucket_state, build_s3_dist, change_template, s3_spec
from tests.publish.conftest import REGION, client, make_session

STUDIO = ("sagemaker:studio-visibility", "true")
PRODUCTS = ("batch-inference", "model-build", "model-deploy")


def writes(runtime) -> list[str]:
    return sorted(f"{svc}:{op}" for (svc, op), n in runtime.counter.counts.items() for _ in range(n)
                  if not is_read_operation(op))


class Recorder:
    """A session factory that records each S3 call's parameters (botocore's provide-client-params
    event), and can fail the Nth write: before it reaches S3, or after S3 did it (the answer lost)."""

    def __init__(self, fail_at: int | None = None, after: bool = False):
        self.calls: list[tuple[str, dict]] = []
        self.fail_at, self.after, self.writes = fail_at, after, 0
        self.failed: str | None = None

    def __call__(self, **kwargs):
        session = make_session(**kwargs)
        session.events.register("provide-client-params.s3.*", self._record)
        session.events.register("before-call.s3.*", self._before)
        session.events.register("after-call.s3.*", self._after)
        return session

    def _record(self, params, model, **_kwargs):
        self.calls.append((model.name, dict(params)))

    def _is_target(self, model) -> bool:
        if is_read_operation(model.name):
            return False
        self.writes += 1
        return self.writes == self.fail_at

    def _before(self, model, **_kwargs):
        if self.fail_at is None or self.after or not self._is_target(model):
            return None
        self.failed = model.name
        body = {"Error": {"Code": "InjectedFault", "Message": "connection reset"},
                "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://s3.amazonaws.com", 400, {}, None), body

    def _after(self, model, http_response=None, parsed=None, **_kwargs):
        if self.fail_at is None or not self.after or not self._is_target(model):
            return
        self.failed = model.name
        parsed.clear()
        parsed.update({"Error": {"Code": "InjectedFault", "Message": "answer lost"},
                       "ResponseMetadata": {"HTTPStatusCode": 400}})
        http_response.status_code = 400

    def ops(self, name: str) -> list[dict]:
        return [params for op, params in self.calls if op == name]


@pytest.fixture
def s3_dist(tmp_path):
    return build_s3_dist(tmp_path / "v1")


def template_keys() -> list[str]:
    return [f"{PREFIX}{p}.yaml" for p in PRODUCTS]


# ------------------------------------------------------------------------------------------ first publish


def test_first_publish_uploads_tagged_templates_seed_zips_cors_policy_and_versioning(
        templates_bucket, s3_dist, run_s3, runtime_factory):
    recorder = Recorder()
    runtime = runtime_factory(session_factory=recorder)
    run = run_s3("publish", s3_dist, runtime=runtime)
    assert run.code == 0, run.err + run.out
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket=TEMPLATES_BUCKET)["Status"] == "Enabled"

    # the templates: stable keys, the Studio tag in the PutObject request itself, one version each
    puts = {p["Key"]: p for p in recorder.ops("PutObject")}
    for key in template_keys():
        assert dict(parse_qsl(puts[key]["Tagging"])) == dict([STUDIO])
        assert puts[key]["Metadata"]["smcat-sha256"] == hashlib.sha256(puts[key]["Body"]).hexdigest()
        versions = s3.list_object_versions(Bucket=TEMPLATES_BUCKET, Prefix=key)["Versions"]
        assert len(versions) == 1
        tags = s3.get_object_tagging(Bucket=TEMPLATES_BUCKET, Key=key)["TagSet"]
        assert tags == [{"Key": STUDIO[0], "Value": STUDIO[1]}]
    assert recorder.ops("PutObjectTagging") == []  # never a window with an untagged version

    # the content hash is the one of the manifest, the same as Service Catalog's
    manifest = json.loads((s3_dist / "manifest.json").read_text())
    head = s3.head_object(Bucket=TEMPLATES_BUCKET, Key=f"{PREFIX}model-build.yaml")
    assert head["Metadata"]["smcat-content-hash"] == manifest["products"]["model-build"]["content_hash"]

    # the uploaded YAML is the built one, the seed-code defaults pointing at the content-addressed zips
    seed_sha = manifest["products"]["model-build"]["seedcode"]["modelbuild"]["sha256"]
    seed_key = f"{PREFIX}seedcode/modelbuild-{seed_sha[:12]}.zip"
    body = s3.get_object(Bucket=TEMPLATES_BUCKET, Key=f"{PREFIX}model-build.yaml")["Body"].read()
    uploaded = yaml.safe_load(body)
    built = yaml.safe_load((s3_dist / "templates" / "model-build.yaml").read_bytes())
    assert uploaded["Parameters"]["SeedCodeBucket"]["Default"] == TEMPLATES_BUCKET
    assert uploaded["Parameters"]["SeedCodeModelbuildKey"]["Default"] == seed_key
    for parameter in ("SeedCodeBucket", "SeedCodeModelbuildKey"):
        del uploaded["Parameters"][parameter]["Default"]
    assert uploaded == built
    assert s3.get_object(Bucket=TEMPLATES_BUCKET, Key=seed_key)["Body"].read() == (
        s3_dist / "seedcode" / "modelbuild.zip").read_bytes()
    # a template without seed code is uploaded byte for byte as built
    assert s3.get_object(Bucket=TEMPLATES_BUCKET, Key=f"{PREFIX}batch-inference.yaml")["Body"].read() == (
        s3_dist / "templates" / "batch-inference.yaml").read_bytes()

    # CORS: Studio's rule; the policy: the shares as non-public statements
    cors = s3.get_bucket_cors(Bucket=TEMPLATES_BUCKET)["CORSRules"]
    assert [{k: v for k, v in rule.items() if k != "ID"} for rule in cors] == [STUDIO_CORS_RULE]
    policy = json.loads(s3.get_bucket_policy(Bucket=TEMPLATES_BUCKET)["Policy"])
    sids = {s["Sid"] for s in policy["Statement"]}
    assert all(sid.startswith("Smcat") for sid in sids)
    principals = [s["Principal"] for s in policy["Statement"]]
    assert {"AWS": f"arn:aws:iam::{MEMBER}:root"} in principals
    for statement in policy["Statement"]:
        if statement["Principal"] == "*":
            assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == ORG
    assert any(OU in json.dumps(s) for s in policy["Statement"])

    # no Service Catalog call at all: every portfolio went to S3 only
    assert {svc for svc, _ in runtime.counter.counts} == {"s3"}
    assert "Plan for S3 templates in us-east-1 (bucket smcat-templates, prefix sagemaker-templates/):" in run.out
    assert "s3://smcat-templates (us-east-1): 8 actions applied." in run.out


def test_plan_is_read_only_and_lists_the_s3_actions(templates_bucket, s3_dist, run_s3, runtime_factory, tmp_path):
    runtime = runtime_factory()
    saved = tmp_path / "plan.json"
    run = run_s3("plan", s3_dist, "--format", "json", "--out", str(saved), runtime=runtime)
    assert run.code == 0, run.err
    assert writes(runtime) == []
    region = run.json["plan"]["regions"][0]
    assert region["target"] == "s3" and region["bucket"] == TEMPLATES_BUCKET and region["prefixes"] == [PREFIX]
    kinds = [(a["kind"], a["resource"]) for a in region["actions"]]
    assert kinds == [("update", "s3-versioning"), ("create", "s3-seed"), ("create", "s3-seed"),
                     *[("create", "s3-template")] * 3, ("update", "s3-cors"), ("create", "s3-policy")]
    assert client("s3").list_objects_v2(Bucket=TEMPLATES_BUCKET).get("KeyCount") == 0
    # the saved plan is applied as it is
    applied = run_s3("publish", s3_dist, "--plan", str(saved))
    assert applied.code == 0, applied.err + applied.out
    assert len(client("s3").list_objects_v2(Bucket=TEMPLATES_BUCKET)["Contents"]) == 5


def test_a_saved_plan_the_bucket_no_longer_gives_is_refused(templates_bucket, s3_dist, run_s3, tmp_path):
    saved = tmp_path / "plan.json"
    assert run_s3("plan", s3_dist, "--out", str(saved)).code == 0
    assert run_s3("publish", s3_dist).code == 0
    before = bucket_state(client("s3"), TEMPLATES_BUCKET)
    run = run_s3("publish", s3_dist, "--plan", str(saved))
    assert run.code == 1
    assert "the live state or the build changed since this plan was made (the actions differ in us-east-1)" in run.err
    assert bucket_state(client("s3"), TEMPLATES_BUCKET) == before


# ------------------------------------------------------------------------------------------ no-op


def test_second_publish_makes_zero_writes(templates_bucket, s3_dist, run_s3, runtime_factory):
    assert run_s3("publish", s3_dist).code == 0
    before = bucket_state(client("s3"), TEMPLATES_BUCKET)
    runtime = runtime_factory()
    run = run_s3("publish", s3_dist, runtime=runtime)
    assert run.code == 0, run.err + run.out
    assert writes(runtime) == []
    assert "nothing to change" in run.out
    # reads: HeadBucket, versioning, CORS, policy, one listing, the tags of each template; no HeadObject
    reads = {f"{svc}:{op}": n for (svc, op), n in runtime.counter.counts.items()}
    assert reads == {"s3:HeadBucket": 1, "s3:GetBucketVersioning": 1, "s3:GetBucketCors": 1,
                     "s3:GetBucketPolicy": 1, "s3:ListObjectsV2": 1, "s3:GetObjectTagging": 3}
    assert bucket_state(client("s3"), TEMPLATES_BUCKET) == before


def test_others_cors_rules_and_policy_statements_are_kept(templates_bucket, s3_dist, run_s3, runtime_factory):
    s3 = client("s3")
    theirs_rule = {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"]}
    s3.put_bucket_cors(Bucket=TEMPLATES_BUCKET, CORSConfiguration={"CORSRules": [theirs_rule]})
    theirs = {"Sid": "TheirAuditReader", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
              "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{TEMPLATES_BUCKET}/audit/*"}
    s3.put_bucket_policy(Bucket=TEMPLATES_BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [theirs]}))
    run = run_s3("publish", s3_dist)
    assert run.code == 0, run.err + run.out
    assert "1 other rule kept" in run.out and "1 other statement kept" in run.out
    rules = s3.get_bucket_cors(Bucket=TEMPLATES_BUCKET)["CORSRules"]
    assert rules[0] == theirs_rule and len(rules) == 2
    statements = json.loads(s3.get_bucket_policy(Bucket=TEMPLATES_BUCKET)["Policy"])["Statement"]
    assert statements[0] == theirs and len(statements) > 1
    # Studio's rule set by the console (no ID, other order) counts as in place: still no write
    s3.put_bucket_cors(Bucket=TEMPLATES_BUCKET, CORSConfiguration={"CORSRules": [
        {**STUDIO_CORS_RULE, "AllowedMethods": list(reversed(STUDIO_CORS_RULE["AllowedMethods"]))}]})
    runtime = runtime_factory()
    assert run_s3("publish", s3_dist, runtime=runtime).code == 0
    assert writes(runtime) == []


# ------------------------------------------------------------------------------------------ changes


def test_one_changed_template_makes_exactly_one_new_version(templates_bucket, tmp_path, run_s3, runtime_factory):
    assert run_s3("publish", build_s3_dist(tmp_path / "v1")).code == 0
    changed = build_s3_dist(tmp_path / "v2")
    change_template(changed, "model-build", lambda t: t.update(Description="model-build project, v1.1"))

    recorder = Recorder()
    runtime = runtime_factory(session_factory=recorder)
    run = run_s3("publish", changed, runtime=runtime)
    assert run.code == 0, run.err + run.out
    assert writes(runtime) == ["s3:PutObject"]  # the seed zip is present: skipped
    assert [p["Key"] for p in recorder.ops("PutObject")] == [f"{PREFIX}model-build.yaml"]
    s3 = client("s3")
    versions = s3.list_object_versions(Bucket=TEMPLATES_BUCKET, Prefix=f"{PREFIX}model-build.yaml")["Versions"]
    assert len(versions) == 2
    latest = next(v for v in versions if v["IsLatest"])
    # the new version is tagged from the start; the old one keeps its tag
    for version in versions:
        tags = s3.get_object_tagging(Bucket=TEMPLATES_BUCKET, Key=f"{PREFIX}model-build.yaml",
                                     VersionId=version["VersionId"])["TagSet"]
        assert tags == [{"Key": STUDIO[0], "Value": STUDIO[1]}]
    assert "1 action applied" in run.out
    assert latest["VersionId"] != next(v for v in versions if not v["IsLatest"])["VersionId"]
    for key in (f"{PREFIX}model-deploy.yaml", f"{PREFIX}batch-inference.yaml"):
        assert len(s3.list_object_versions(Bucket=TEMPLATES_BUCKET, Prefix=key)["Versions"]) == 1


def test_changed_seed_uploads_a_new_zip_and_a_new_template_version(templates_bucket, tmp_path, run_s3):
    spec = s3_spec()
    assert run_s3("publish", build_s3_dist(tmp_path / "v1", spec)).code == 0
    spec["products"]["model-build"]["seeds"]["modelbuild"]["pipeline.py"] = "print('build v2')\n"
    run = run_s3("publish", build_s3_dist(tmp_path / "v2", spec))
    assert run.code == 0, run.err + run.out
    s3 = client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=TEMPLATES_BUCKET)["Contents"]]
    assert len([k for k in keys if k.startswith(f"{PREFIX}seedcode/modelbuild-")]) == 2  # the old one kept
    versions = s3.list_object_versions(Bucket=TEMPLATES_BUCKET, Prefix=f"{PREFIX}model-build.yaml")["Versions"]
    assert len(versions) == 2


def test_drifted_tags_are_reconciled_on_the_current_version(templates_bucket, tmp_path, run_s3, runtime_factory):
    dist = build_s3_dist(tmp_path / "v1")
    assert run_s3("publish", dist).code == 0
    s3 = client("s3")
    key = f"{PREFIX}model-deploy.yaml"
    s3.put_object_tagging(Bucket=TEMPLATES_BUCKET, Key=key,
                          Tagging={"TagSet": [{"Key": "owner", "Value": "ml"}]})  # Studio tag lost, another added
    runtime = runtime_factory()
    run = run_s3("publish", dist, runtime=runtime)
    assert run.code == 0, run.err + run.out
    assert writes(runtime) == ["s3:PutObjectTagging"]
    tags = s3.get_object_tagging(Bucket=TEMPLATES_BUCKET, Key=key)["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("owner", "ml"), STUDIO]


def test_studio_visibility_false_leaves_templates_untagged(templates_bucket, tmp_path, run_s3):
    spec = s3_spec()
    for portfolio in spec["portfolios"].values():
        portfolio["studio_visibility"] = False
    assert run_s3("publish", build_s3_dist(tmp_path / "v1", spec)).code == 0
    for key in template_keys():
        assert client("s3").get_object_tagging(Bucket=TEMPLATES_BUCKET, Key=key)["TagSet"] == []


# ------------------------------------------------------------------------------------------ prune


def test_a_template_that_left_the_catalog_is_removed_only_with_prune(templates_bucket, tmp_path, run_s3,
                                                                     runtime_factory):
    spec = s3_spec()
    assert run_s3("publish", build_s3_dist(tmp_path / "v1", spec)).code == 0
    del spec["products"]["batch-inference"]
    for portfolio in spec["portfolios"].values():
        portfolio["products"] = [p for p in portfolio["products"] if p != "batch-inference"]
    spec["portfolios"]["data-science"]["products"] = ["model-deploy"]
    smaller = build_s3_dist(tmp_path / "v2", spec)
    key = f"{PREFIX}batch-inference.yaml"
    s3 = client("s3")

    runtime = runtime_factory()
    run = run_s3("publish", smaller, runtime=runtime)
    assert run.code == 0, run.err + run.out
    assert writes(runtime) == []
    assert (f"note: template s3://{TEMPLATES_BUCKET}/{key} (product batch-inference) is no longer in the catalog "
            f"for this location; run with --prune to remove it (kept)") in run.out
    assert s3.head_object(Bucket=TEMPLATES_BUCKET, Key=key)["ContentLength"] > 0

    runtime = runtime_factory()
    run = run_s3("publish", smaller, "--prune", runtime=runtime)
    assert run.code == 0, run.err + run.out
    assert writes(runtime) == ["s3:DeleteObject"]
    assert f"- delete    s3-template s3://{TEMPLATES_BUCKET}/{key}" in run.out
    versions = s3.list_object_versions(Bucket=TEMPLATES_BUCKET, Prefix=key)
    assert len(versions["Versions"]) == 1  # the template's history stays
    assert [m["IsLatest"] for m in versions["DeleteMarkers"]] == [True]
    # and a re-run has nothing left to prune
    runtime = runtime_factory()
    assert run_s3("publish", smaller, "--prune", runtime=runtime).code == 0
    assert writes(runtime) == []


def test_prune_leaves_templates_smcat_did_not_write(templates_bucket, s3_dist, run_s3, runtime_factory):
    assert run_s3("publish", s3_dist).code == 0
    client("s3").put_object(Bucket=TEMPLATES_BUCKET, Key=f"{PREFIX}hand-made.yaml", Body=b"Resources: {}\n")
    runtime = runtime_factory()
    run = run_s3("publish", s3_dist, "--prune", runtime=runtime)
    assert run.code == 0 and writes(runtime) == []
    assert f"s3://{TEMPLATES_BUCKET}/{PREFIX}hand-made.yaml was not published by smcat" in run.out


def test_a_removed_share_leaves_the_policy_only_with_prune(templates_bucket, tmp_path, run_s3):
    spec = s3_spec()
    assert run_s3("publish", build_s3_dist(tmp_path / "v1", spec)).code == 0
    shares = spec["portfolios"]["sagemaker-projects"]["shares"]
    spec["portfolios"]["sagemaker-projects"]["shares"] = [s for s in shares if s["type"] != "ACCOUNT"]
    dist = build_s3_dist(tmp_path / "v2", spec)

    def principals():
        policy = json.loads(client("s3").get_bucket_policy(Bucket=TEMPLATES_BUCKET)["Policy"])
        return [s["Principal"] for s in policy["Statement"]]

    run = run_s3("publish", dist)
    assert run.code == 0 and "is no longer configured; run with --prune to remove it (kept)" in run.out
    assert {"AWS": f"arn:aws:iam::{MEMBER}:root"} in principals()
    run = run_s3("publish", dist, "--prune")
    assert run.code == 0, run.err + run.out
    assert {"AWS": f"arn:aws:iam::{MEMBER}:root"} not in principals()


# ------------------------------------------------------------------------------------------ faults

FIRST_PUBLISH_WRITES = 8  # versioning, 2 seed zips, 3 templates, CORS, policy


@pytest.mark.parametrize("after", [False, True], ids=["refused", "answer-lost"])
@pytest.mark.parametrize("nth", range(1, FIRST_PUBLISH_WRITES + 1))
def test_a_fault_at_each_write_then_a_rerun_converges(aws_env, tmp_path, run_s3, runtime_factory, nth, after):
    from moto import mock_aws

    dist = build_s3_dist(tmp_path / "v1")
    with mock_aws():
        client("s3").create_bucket(Bucket=TEMPLATES_BUCKET)
        assert run_s3("publish", dist).code == 0
        expected = bucket_state(client("s3"), TEMPLATES_BUCKET)
    with mock_aws():
        client("s3").create_bucket(Bucket=TEMPLATES_BUCKET)
        recorder = Recorder(fail_at=nth, after=after)
        first = run_s3("publish", dist, runtime=runtime_factory(session_factory=recorder))
        assert first.code == 1, first.out + first.err
        assert recorder.failed is not None
        assert "FAILED at" in first.out and "InjectedFault" in first.out
        assert f"Applied before the failure ({nth - 1})" in first.out
        assert f"Not attempted ({FIRST_PUBLISH_WRITES - nth})" in first.out
        second = run_s3("publish", dist)
        assert second.code == 0, second.out + second.err
        assert bucket_state(client("s3"), TEMPLATES_BUCKET) == expected  # one version each: no duplicates
        runtime = runtime_factory()
        assert run_s3("publish", dist, runtime=runtime).code == 0
        assert writes(runtime) == []


def test_failure_in_json_has_applied_and_remaining(templates_bucket, s3_dist, run_s3, runtime_factory):
    recorder = Recorder(fail_at=4)
    run = run_s3("publish", s3_dist, "--format", "json", runtime=runtime_factory(session_factory=recorder))
    assert run.code == 1
    data = run.json
    assert data["status"] == "failed" and "InjectedFault" in data["error"]
    assert [a["resource"] for a in data["applied"]] == ["s3-versioning", "s3-seed", "s3-seed"]
    assert [a["resource"] for a in data["remaining"]] == ["s3-template", "s3-template", "s3-cors", "s3-policy"]


# ------------------------------------------------------------------------------------------ both targets


def test_a_portfolio_publishing_to_both_targets_gets_both(double, tmp_path, run_cli, runtime_factory):
    client("s3").create_bucket(Bucket=TEMPLATES_BUCKET)
    spec = s3_spec(publish_to=("service-catalog", "s3"))
    spec["portfolios"]["data-science"] = default_spec()["portfolios"]["data-science"]  # Service Catalog only
    dist = build_s3_dist(tmp_path / "v1", spec)
    run = run_cli("publish", dist)
    assert run.code == 0, run.err + run.out
    sc = double.region(REGION)
    assert len(sc.portfolios) == 2 and len(sc.products) == 3
    keys = {o["Key"] for o in client("s3").list_objects_v2(Bucket=TEMPLATES_BUCKET)["Contents"]}
    assert {f"{PREFIX}{p}.yaml" for p in PRODUCTS} <= keys
    assert "Plan for us-east-1 (bucket smcat-artifacts, prefix smcat):" in run.out
    assert "Plan for S3 templates in us-east-1" in run.out
    double.reset_calls()
    runtime = runtime_factory()
    assert run_cli("publish", dist, runtime=runtime).code == 0
    assert writes(runtime) == [] and double.writes() == []


def test_s3_only_portfolios_are_left_out_of_service_catalog(double, tmp_path, run_cli):
    client("s3").create_bucket(Bucket=TEMPLATES_BUCKET)
    spec = default_spec()
    s3_only = s3_spec()["portfolios"]["data-science"]
    spec["portfolios"]["data-science"] = s3_only
    spec["portfolios"]["sagemaker-projects"]["products"] = ["model-build", "model-deploy"]
    dist = build_s3_dist(tmp_path / "v1", spec)
    run = run_cli("publish", dist)
    assert run.code == 0, run.err + run.out
    sc = double.region(REGION)
    assert sorted(p["DisplayName"] for p in sc.portfolios.values()) == ["SageMaker MLOps project templates"]
    assert sorted(p["Name"] for p in sc.products.values()) == ["model-build", "model-deploy"]
    keys = {o["Key"] for o in client("s3").list_objects_v2(Bucket=TEMPLATES_BUCKET)["Contents"]}
    assert {k for k in keys if k.endswith(".yaml")} == {f"{PREFIX}batch-inference.yaml"}


def test_service_catalog_needs_bucket_but_s3_only_does_not(double, tmp_path, run_s3, s3_dist, dist):
    run = run_s3("plan", dist)  # a Service Catalog catalog without --bucket
    assert run.code == 2
    assert "error: --bucket is required to publish to Service Catalog (portfolios sagemaker-projects, " \
           "data-science): the S3 bucket for its templates and seed code" in run.err
    assert double.calls == []


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("bucket", ["Bad_Name", "a..b", "192.168.1.1", "ab", "-abc", "smcat-s3alias"])
def test_invalid_bucket_name_is_one_line_and_exit_2(templates_bucket, tmp_path, run_s3, runtime_factory, bucket):
    dist = build_s3_dist(tmp_path / "v1", s3_spec(bucket=bucket))
    runtime = runtime_factory()
    run = run_s3("publish", dist, runtime=runtime)
    assert run.code == 2
    lines = run.err.splitlines()
    bad = [line for line in lines if bucket in line]
    assert len(bad) == 2  # one line per portfolio
    assert bad[0].startswith(f"error: {dist}/manifest.json: portfolio sagemaker-projects s3_templates: "
                             f"'{bucket}' is not a valid S3 bucket name")
    assert "Traceback" not in run.err and run.out == ""
    assert not runtime.counter.counts  # no AWS call


def test_bucket_name_invalid_once_region_is_known_is_bad_input(templates_bucket, tmp_path, run_s3, runtime_factory):
    dist = build_s3_dist(tmp_path / "v1", s3_spec(bucket="templates-{region}-x" + "x" * 40))
    runtime = runtime_factory()
    run = run_s3("plan", dist, "--region", "ap-southeast-1", runtime=runtime)
    assert run.code == 2 and "is not a valid S3 bucket name" in run.err
    assert not runtime.counter.counts


def test_ou_share_without_organization_id_is_one_line_and_exit_2(templates_bucket, tmp_path, run_s3,
                                                                 runtime_factory):
    dist = build_s3_dist(tmp_path / "v1", s3_spec(organization_id=None))
    runtime = runtime_factory()
    run = run_s3("publish", dist, runtime=runtime)
    assert run.code == 2
    lines = [line for line in run.err.splitlines() if "organization_id" in line]
    assert lines == [
        f"error: {dist}/manifest.json: portfolio sagemaker-projects: an OU share of S3 templates needs "
        f"organization_id (aws:PrincipalOrgPaths)",
        f"error: {dist}/manifest.json: portfolio data-science: an OU share of S3 templates needs "
        f"organization_id (aws:PrincipalOrgPaths)",
    ]
    assert not runtime.counter.counts
    assert client("s3").list_objects_v2(Bucket=TEMPLATES_BUCKET).get("KeyCount") == 0


def test_a_build_without_yaml_renderings_is_bad_input(templates_bucket, tmp_path, run_s3, runtime_factory):
    dist = build_dist(tmp_path / "old", s3_spec())  # manifest keys for S3, but no YAML (an older build)
    runtime = runtime_factory()
    run = run_s3("publish", dist, runtime=runtime)
    assert run.code == 2
    assert (f"error: {dist}/manifest.json: product model-build: template_yaml: missing (a build before S3 "
            f"templates): rebuild with `smcat build`") in run.err
    assert not runtime.counter.counts


def test_missing_templates_bucket_fails_before_any_write(aws_env, s3_dist, run_s3, runtime_factory):
    from moto import mock_aws

    with mock_aws():
        runtime = runtime_factory()
        run = run_s3("publish", s3_dist, runtime=runtime)
    assert run.code == 1
    assert (f"error: S3 templates bucket {TEMPLATES_BUCKET} does not exist (s3_templates.bucket, us-east-1); "
            f"create it first") in run.err
    assert writes(runtime) == []


def test_region_placeholder_gives_one_bucket_per_region(moto_aws, tmp_path, run_s3):
    s3 = client("s3")
    s3.create_bucket(Bucket="smcat-templates-us-east-1")
    client("s3", region_name="eu-west-1").create_bucket(
        Bucket="smcat-templates-eu-west-1", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    dist = build_s3_dist(tmp_path / "v1", s3_spec(bucket="smcat-templates-{region}"))
    run = run_s3("publish", dist, "--region", "us-east-1", "--region", "eu-west-1")
    assert run.code == 0, run.err + run.out
    assert "Plan for S3 templates in eu-west-1 (bucket smcat-templates-eu-west-1" in run.out
    for region in ("us-east-1", "eu-west-1"):
        bucket = f"smcat-templates-{region}"
        body = client("s3", region_name=region).get_object(Bucket=bucket, Key=f"{PREFIX}model-build.yaml")["Body"]
        assert yaml.safe_load(body.read())["Parameters"]["SeedCodeBucket"]["Default"] == bucket

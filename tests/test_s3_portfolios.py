"""Portfolios published as S3 templates (issue 11, point 2): the portfolio keys, their validation (one line
per problem, exit 2, dist/ untouched), the manifest keys, and the bucket policy the shares map to."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import main, tree

from generator.publish import s3policy
from generator.publish.manifest import ManifestError, S3Templates, load_catalog
from tests.hub import public_policy

FILE = "portfolios/sagemaker-projects.yaml"
S3_ONLY = """\
display_name: Test portfolio
description: For tests.
provider: Tests
products: [model-build]
publish_to: [s3]
organization_id: o-abcdefghij
s3_templates:
  bucket: my-sagemaker-templates-{region}
  prefix: sagemaker-templates/
  regions: [us-east-1]
shares:
  - target: ou-ab12-abcdefgh
"""
LAUNCH = "launch_constraint: {local_role_name: SageMakerProjectsLaunchRole}\n"


def write(catalog, text: str, name: str = "sagemaker-projects.yaml") -> None:
    (catalog / "portfolios" / name).write_text(textwrap.dedent(text))


def errors(catalog, capsys, tmp_path) -> list[str]:
    out = tmp_path / "dist"
    out.mkdir(exist_ok=True)
    (out / "manifest.json").write_text("{}")  # an earlier build, which a failed one must leave alone
    before = tree(out)
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q", "--no-lint"]) == 2
    assert tree(out) == before, "dist/ must stay as it was"
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err.strip().splitlines()


def build(catalog, capsys, tmp_path) -> tuple[dict, list[str]]:
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q", "--no-lint"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: portfolios/")]
    return json.loads((out / "manifest.json").read_text()), warnings


E = f"error: {FILE}"
CASES = [
    (
        "bucket characters",
        S3_ONLY.replace("my-sagemaker-templates-{region}", "My_Templates"),
        f"{E}:8: s3_templates.bucket: 'My_Templates' is not a valid S3 bucket name: has characters S3 bucket "
        "names cannot have: 'M' 'T' '_' (only lowercase letters, digits, . and -)",
    ),
    (
        "bucket too long in a listed region",
        S3_ONLY.replace("my-sagemaker-templates-{region}", "a" * 50 + "-{region}").replace(
            "[us-east-1]", "[us-east-1, ap-southeast-1]"
        ),
        f"{E}:8: s3_templates.bucket: '{'a' * 50}-{{region}}' is not a valid S3 bucket name in ap-southeast-1 "
        f"('{'a' * 50}-ap-southeast-1'): has 65 characters; S3 bucket names have 3-63",
    ),
    (
        "bucket with {region} too long for some region, no regions listed",
        S3_ONLY.replace("my-sagemaker-templates-{region}", "a" * 49 + "-{region}").replace(
            "  regions: [us-east-1]\n", ""
        ),
        f"{E}:8: s3_templates.bucket: '{'a' * 49}-{{region}}' is not a valid S3 bucket name: has 64 characters "
        "with {region} as the longest region name (14 characters); S3 bucket names have 3-63 (or list the regions)",
    ),
    (
        "bucket placeholder other than region",
        S3_ONLY.replace("{region}", "{account}"),
        f"{E}:8: s3_templates.bucket: 'my-sagemaker-templates-{{account}}': only {{region}} is replaced "
        "(by each region); no other braces",
    ),
    (
        "bucket as an IP address",
        S3_ONLY.replace("my-sagemaker-templates-{region}", "'192.168.5.4'"),
        f"{E}:8: s3_templates.bucket: '192.168.5.4' is not a valid S3 bucket name: must not be formatted as an "
        "IP address",
    ),
    (
        "bucket reserved prefix",
        S3_ONLY.replace("my-sagemaker-templates-{region}", "xn--templates"),
        f"{E}:8: s3_templates.bucket: 'xn--templates' is not a valid S3 bucket name: must not start with 'xn--' "
        "(reserved by S3)",
    ),
    (
        "bucket reserved suffix",
        S3_ONLY.replace("my-sagemaker-templates-{region}", "templates-s3alias"),
        f"{E}:8: s3_templates.bucket: 'templates-s3alias' is not a valid S3 bucket name: must not end with "
        "'-s3alias' (reserved by S3)",
    ),
    (
        "bucket two periods",
        S3_ONLY.replace("my-sagemaker-templates-{region}", "my..templates"),
        f"{E}:8: s3_templates.bucket: 'my..templates' is not a valid S3 bucket name: must not have two adjacent "
        "periods",
    ),
    (
        "bucket missing",
        S3_ONLY.replace("  bucket: my-sagemaker-templates-{region}\n", ""),
        f"{E}:7: s3_templates.bucket: is required",
    ),
    (
        "prefix leading slash",
        S3_ONLY.replace("prefix: sagemaker-templates/", "prefix: /sagemaker-templates/"),
        f"{E}:9: s3_templates.prefix: '/sagemaker-templates/' must not start with '/' (S3 keys are relative to "
        "the bucket)",
    ),
    (
        "prefix characters",
        S3_ONLY.replace("prefix: sagemaker-templates/", "prefix: 'team a/*'"),
        f"{E}:9: s3_templates.prefix: 'team a/*' has characters that cannot be used: ' ' '*' (letters, digits "
        "and _ . / - only: the prefix is part of S3 keys, of the domain tag sagemaker:projectS3TemplatesLocation "
        "and of bucket policy patterns)",
    ),
    (
        "prefix empty folder",
        S3_ONLY.replace("prefix: sagemaker-templates/", "prefix: teams//a/"),
        f"{E}:9: s3_templates.prefix: 'teams//a/' has an empty, '.' or '..' folder; write folders as name/name/",
    ),
    (
        "location longer than the domain tag takes",
        S3_ONLY.replace("prefix: sagemaker-templates/", "prefix: " + "p" * 230),
        f"{E}:9: s3_templates.prefix: the location 's3://my-sagemaker-templates-us-east-1/{'p' * 230}/' has 269 "
        "characters; the domain tag sagemaker:projectS3TemplatesLocation takes at most 256",
    ),
    (
        "region name",
        S3_ONLY.replace("[us-east-1]", "[us-east-1, US-West-2]"),
        f"{E}:10: s3_templates.regions[1]: 'US-West-2' is not an AWS region name (such as us-east-1)",
    ),
    (
        "region twice",
        S3_ONLY.replace("[us-east-1]", "[us-east-1, us-east-1]"),
        f"{E}:10: s3_templates.regions[1]: 'us-east-1' is listed twice",
    ),
    (
        "launch role",
        S3_ONLY.replace("  regions: [us-east-1]\n", "  regions: [us-east-1]\n  launch_role: service-role/Launch\n"),
        f"{E}:11: s3_templates.launch_role: 'service-role/Launch' is not an IAM role name (1-64 of letters, "
        "digits and +=,.@_-; no path)",
    ),
    (
        "unknown s3_templates key",
        S3_ONLY.replace("  regions:", "  region:"),
        f"{E}:10: s3_templates.region: unknown key 'region'; did you mean 'regions'?",
    ),
    (
        "OU share without organization_id",
        S3_ONLY.replace("organization_id: o-abcdefghij\n", ""),
        f"{E}:11: shares[0].target: sharing S3 templates with OU 'ou-ab12-abcdefgh' needs organization_id "
        "(o-...): the bucket policy confines the OU with aws:PrincipalOrgID and aws:PrincipalOrgPaths",
    ),
    (
        "organization share of another organization",
        S3_ONLY + "  - target: o-zyxwvutsrq\n",
        f"{E}:13: shares[1].target: 'o-zyxwvutsrq' is not organization_id 'o-abcdefghij'; an S3 portfolio shares "
        "within one organization",
    ),
    (
        "organization_id malformed",
        S3_ONLY.replace("o-abcdefghij", "o-ABC"),
        f"{E}:6: organization_id: 'o-ABC' is not a valid organization id (o-, 10-32 lowercase letters or digits)",
    ),
    (
        "tag_options with s3",
        S3_ONLY + "tag_options: {cost-center: [ml]}\n",
        f"{E}:13: tag_options: S3 templates have no TagOptions; publish_to: [s3] cannot express them",
    ),
    (
        "tag_options during a migration",
        S3_ONLY.replace("[s3]", "[service-catalog, s3]") + LAUNCH + "tag_options: {cost-center: [ml]}\n",
        f"{E}:14: tag_options: S3 templates have no TagOptions; publish_to: [s3] cannot express them",
    ),
    (
        "s3 without s3_templates",
        "\n".join(line for line in S3_ONLY.splitlines() if not line.startswith("  ") or "target" in line)
        .replace("s3_templates:\n", "") + "\n",
        f"{E}: s3_templates: is required with publish_to: s3; give at least its bucket",
    ),
    (
        "s3_templates without s3",
        S3_ONLY.replace("publish_to: [s3]\n", LAUNCH),
        f"{E}:7: s3_templates: is used only when publish_to includes s3 (the default is [service-catalog]); "
        "add s3 to publish_to or remove s3_templates",
    ),
    (
        "unknown publish target",
        S3_ONLY.replace("[s3]", "[s3, servicecatalog]"),
        f"{E}:5: publish_to[1]: 'servicecatalog' is not one of service-catalog, s3",
    ),
    (
        "publish target twice",
        S3_ONLY.replace("[s3]", "[s3, s3]"),
        f"{E}:5: publish_to[1]: 's3' is listed twice",
    ),
    (
        "no publish target",
        S3_ONLY.replace("[s3]", "[]"),
        f"{E}:5: publish_to: must list at least one value",
    ),
    (
        "a migration still needs the launch constraint",
        S3_ONLY.replace("[s3]", "[service-catalog, s3]"),
        f"{E}: launch_constraint: is required: the role Service Catalog creates the products' stacks with; give "
        "local_role_name: SageMakerProjectsLaunchRole (the project-roles product's launch role) or your own role, "
        "not the AWS-managed AmazonSageMakerServiceCatalogProductsLaunchRole, which cannot create these templates' "
        "resources",
    ),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_s3_problem_is_one_exact_line(catalog, capsys, tmp_path, text, expected):
    write(catalog, text)
    lines = errors(catalog, capsys, tmp_path)
    assert lines == [expected]


def test_every_s3_problem_in_one_run(catalog, capsys, tmp_path):
    text = (
        S3_ONLY.replace("organization_id: o-abcdefghij\n", "")
        .replace("my-sagemaker-templates-{region}", "Bad_Bucket")
        .replace("prefix: sagemaker-templates/", "prefix: /x/")
        + "tag_options: {cost-center: [ml]}\n"
    )
    write(catalog, text)
    lines = errors(catalog, capsys, tmp_path)
    assert [line.split(": ")[2] for line in lines] == [
        "s3_templates.bucket",
        "s3_templates.prefix",
        "shares[0].target",
        "tag_options",
    ], lines


def test_portfolios_sharing_a_bucket_use_one_prefix(catalog, capsys, tmp_path):
    write(catalog, S3_ONLY)
    other = S3_ONLY.replace("Test portfolio", "Other portfolio").replace("prefix: sagemaker-templates/", "prefix: b/")
    write(catalog, other, "team-b.yaml")
    lines = errors(catalog, capsys, tmp_path)
    assert lines == [
        "error: portfolios/team-b.yaml:9: s3_templates.prefix: 'b/', but portfolios/sagemaker-projects.yaml "
        "publishes to bucket 'my-sagemaker-templates-{region}' with prefix 'sagemaker-templates/'; portfolios "
        "sharing a bucket use one prefix (one template location per bucket)"
    ]


def test_s3_only_portfolio_builds_without_launch_constraint_and_the_manifest_carries_the_keys(
    catalog, capsys, tmp_path
):
    write(catalog, S3_ONLY.replace("prefix: sagemaker-templates/", "prefix: teams/ml//"))
    manifest, warnings = build(catalog, capsys, tmp_path)
    portfolio = manifest["portfolios"]["sagemaker-projects"]
    assert portfolio["publish_to"] == ["s3"]
    assert portfolio["organization_id"] == "o-abcdefghij"
    assert portfolio["s3_templates"] == {
        "bucket": "my-sagemaker-templates-{region}",
        "prefix": "teams/ml/",  # normalised to end with one /
        "regions": ["us-east-1"],
        "launch_role": "SageMakerProjectsS3LaunchRole",
    }
    assert portfolio["launch_constraint"] == {}
    assert warnings == []
    # the Service Catalog portfolio next to it keeps its meaning, with the defaults written out
    admin = manifest["portfolios"]["ml-admin"]
    assert admin["publish_to"] == ["service-catalog"] and admin["organization_id"] is None
    assert "s3_templates" not in admin

    catalog_read = load_catalog(tmp_path / "dist", allow_lint_findings=True)
    read = catalog_read.portfolios["sagemaker-projects"]
    assert read.publish_to == ("s3",) and read.s3 and not read.service_catalog
    assert read.s3_templates == S3Templates(
        "my-sagemaker-templates-{region}", "teams/ml/", ("us-east-1",), "SageMakerProjectsS3LaunchRole"
    )
    assert read.s3_templates.bucket_in("eu-west-1") == "my-sagemaker-templates-eu-west-1"
    assert read.organization_id == "o-abcdefghij" and read.launch_parameters == {}
    admin_read = catalog_read.portfolios["ml-admin"]
    assert admin_read.publish_to == ("service-catalog",) and admin_read.s3_templates is None


def test_migration_portfolio_defaults(catalog, capsys, tmp_path):
    text = S3_ONLY.replace("[s3]", "[s3, service-catalog]").replace("  prefix: sagemaker-templates/\n", "")
    write(catalog, text.replace("  regions: [us-east-1]\n", "") + LAUNCH)
    manifest, warnings = build(catalog, capsys, tmp_path)
    portfolio = manifest["portfolios"]["sagemaker-projects"]
    assert portfolio["publish_to"] == ["service-catalog", "s3"]  # canonical order
    assert portfolio["s3_templates"]["prefix"] == s3policy.DEFAULT_PREFIX == "sagemaker-templates/"
    assert portfolio["s3_templates"]["regions"] == []  # the --region options
    assert portfolio["launch_constraint"] == {"LocalRoleName": "SageMakerProjectsLaunchRole"}
    assert warnings == []  # principals and tags keep their meaning in Service Catalog


def test_keys_s3_cannot_express_are_build_warnings(catalog, capsys, tmp_path):
    text = (
        S3_ONLY
        + LAUNCH
        + "principals:\n  - arn:aws:iam:::role/service-role/AmazonSageMaker-ExecutionRole-*\n"
        + "tags: {team: ml}\n"
    )
    write(catalog, text)
    _, warnings = build(catalog, capsys, tmp_path)
    assert warnings == [
        f"warning: {FILE}:13: launch_constraint: applies to Service Catalog only; publish_to: [s3] launches with "
        "s3_templates.launch_role (SageMakerProjectsS3LaunchRole), which the project's RoleARN names",
        f"warning: {FILE}:14: principals: apply to Service Catalog only; S3 templates have no launch principals: "
        "who can create projects from them is decided by the execution roles' IAM policy (iam:PassRole on the "
        "S3 launch role) and the bucket policy (shares)",
        f"warning: {FILE}:16: tags: apply to the Service Catalog portfolio only; publish_to: [s3] has no "
        "portfolio to tag",
    ]


# ------------------------------------------------------------------------------------------ manifest reader


@pytest.fixture
def dist(catalog, capsys, tmp_path):
    write(catalog, S3_ONLY)
    build(catalog, capsys, tmp_path)
    return tmp_path / "dist"


def _edit(dist, change) -> None:
    path = dist / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest["portfolios"]["sagemaker-projects"])
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda p: p.update(publish_to=["s3", "s3"]), "publish_to must list service-catalog and/or s3, each once"),
        (lambda p: p.update(publish_to="s3"), "publish_to must list service-catalog and/or s3, each once"),
        (lambda p: p.pop("s3_templates"), "publish_to has s3 but s3_templates is not an object"),
        (lambda p: p.update(publish_to=["service-catalog"], launch_constraint={"LocalRoleName": "Launch"}),
         "s3_templates is given but publish_to has no s3"),
        (lambda p: p["s3_templates"].update(bucket="Bad_Bucket"),
         "s3_templates: 'Bad_Bucket' is not a valid S3 bucket name"),
        (lambda p: p["s3_templates"].update(prefix="x"), "s3_templates: prefix 'x' must end with one '/'"),
        (lambda p: p["s3_templates"].update(prefix="/x/"), "s3_templates: '/x/' must not start with '/'"),
        (lambda p: p["s3_templates"].update(regions=["nowhere"]), "s3_templates: regions must be a list of region"),
        (lambda p: p["s3_templates"].update(launch_role="a/b"), "s3_templates: launch_role is not an IAM role name"),
        (lambda p: p.update(organization_id=None), "an OU share of S3 templates needs organization_id"),
        (lambda p: p.update(organization_id="o-x"), "organization_id is not an organization id (o-...)"),
        (lambda p: p.update(tag_options={"a": ["b"]}), "S3 templates have no TagOptions"),
        (lambda p: p.update(publish_to=["service-catalog", "s3"]),
         "Studio needs a launch constraint on every product of the portfolio"),
    ],
)
def test_manifest_reader_checks_the_s3_keys(dist, change, expected):
    _edit(dist, change)
    with pytest.raises(ManifestError) as raised:
        load_catalog(dist, allow_lint_findings=True)
    lines = [line for line in raised.value.lines if "portfolio sagemaker-projects" in line]
    assert any(expected in line for line in lines), raised.value.lines
    # one problem, one line: a wrong key does not cascade (a missing launch constraint is two, as before)
    assert len(lines) == (2 if "launch constraint" in expected else 1), raised.value.lines


def test_manifest_from_before_s3_templates_reads_as_service_catalog(dist):
    def old(p):
        for key in ("publish_to", "s3_templates", "organization_id"):
            p.pop(key)
        p["launch_constraint"] = {"LocalRoleName": "SageMakerProjectsLaunchRole"}

    _edit(dist, old)
    portfolio = load_catalog(dist, allow_lint_findings=True).portfolios["sagemaker-projects"]
    assert portfolio.publish_to == ("service-catalog",) and portfolio.s3_templates is None


# ------------------------------------------------------------------------------------------ bucket policy

ORG = "o-abcdefghij"
SHARES = [
    {"type": "ACCOUNT", "value": "111122223333"},
    {"type": "ORGANIZATION", "value": ORG},
    {"type": "ORGANIZATIONAL_UNIT", "value": "ou-ab12-abcdefgh"},
]


def test_bucket_policy_statements_map_each_share_target():
    statements = s3policy.bucket_policy_statements(
        {"shares": SHARES, "organization_id": ORG}, "my-templates-us-east-1", "sagemaker-templates/"
    )
    objects = ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"]
    resource = "arn:aws:s3:::my-templates-us-east-1/sagemaker-templates/*"
    listing = {"StringLike": {"s3:prefix": "sagemaker-templates/*"}}
    org = {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    ou = {**org, "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/*/ou-ab12-abcdefgh/*"}}
    account = {"AWS": "arn:aws:iam::111122223333:root"}
    assert statements == [
        {"Sid": "SmcatReadAccount111122223333Objects", "Effect": "Allow", "Principal": account, "Action": objects,
         "Resource": resource},
        {"Sid": "SmcatReadAccount111122223333List", "Effect": "Allow", "Principal": account,
         "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::my-templates-us-east-1", "Condition": listing},
        {"Sid": "SmcatReadOrgabcdefghijObjects", "Effect": "Allow", "Principal": "*", "Action": objects,
         "Resource": resource, "Condition": org},
        {"Sid": "SmcatReadOrgabcdefghijList", "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::my-templates-us-east-1", "Condition": {**org, **listing}},
        {"Sid": "SmcatReadOuab12XabcdefghObjects", "Effect": "Allow", "Principal": "*", "Action": objects,
         "Resource": resource, "Condition": ou},
        {"Sid": "SmcatReadOuab12XabcdefghList", "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::my-templates-us-east-1", "Condition": {**ou, **listing}},
    ]


def test_every_statement_is_non_public_under_s3s_rules():
    statements = s3policy.bucket_policy_statements(
        {"shares": SHARES, "organization_id": ORG}, "my-templates-us-east-1", "sagemaker-templates/"
    )
    assert len(statements) == 6
    assert public_policy.public_statements({"Statement": statements}) == []
    # the checker can fail: without the fixed aws:PrincipalOrgID, the OU statement is public (the
    # aws:PrincipalOrgPaths wildcard does not count)
    ou = dict(statements[4])
    ou["Condition"] = {k: v for k, v in ou["Condition"].items() if k != "StringEquals"}
    assert public_policy.statement_is_public(ou)


def test_bucket_policy_from_the_manifest_portfolio(dist):
    portfolio = load_catalog(dist, allow_lint_findings=True).portfolios["sagemaker-projects"]
    statements = s3policy.bucket_policy_statements(portfolio, "b-us-gov-west-1", "", partition="aws-us-gov")
    assert [s["Sid"] for s in statements] == ["SmcatReadOuab12XabcdefghObjects", "SmcatReadOuab12XabcdefghList"]
    assert statements[0]["Resource"] == "arn:aws-us-gov:s3:::b-us-gov-west-1/*"
    # the whole bucket: the listing needs no s3:prefix condition, the organization still confines it
    assert set(statements[1]["Condition"]) == {"StringEquals", "ForAnyValue:StringLike"}
    assert not public_policy.is_public({"Statement": statements})


def test_sids_are_stable_and_distinct_per_target():
    targets = [("ORGANIZATIONAL_UNIT", "ou-ab12-abcdefgh"), ("ORGANIZATIONAL_UNIT", "ou-ab12a-bcdefghi"),
               ("ORGANIZATIONAL_UNIT", "ou-ab12-abcdefghi"), ("ACCOUNT", "111122223333"),
               ("ORGANIZATION", "o-ab12abcdefgh")]
    sids = [s3policy.share_sid(*t) for t in targets]
    assert len(set(sids)) == len(sids)
    assert all(sid.isalnum() and sid.startswith("SmcatRead") for sid in sids)
    assert sids == [s3policy.share_sid(*t) for t in targets]


def test_an_ou_share_without_organization_id_is_refused():
    with pytest.raises(ValueError, match="needs the portfolio's organization_id"):
        s3policy.bucket_policy_statements({"shares": SHARES[2:], "organization_id": None}, "b", "p/")


def test_the_readme_example_is_a_valid_portfolio(tmp_path):
    from conftest import ROOT

    from generator.portfolio import load_portfolios

    text = (ROOT / "README.md").read_text()
    section = text.split("## Service Catalog or S3 templates?", 1)[1].split("\n## ", 1)[0]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme.yaml"
    path.write_text("display_name: X\nprovider: Y\nproducts: [model-build]\n" + LAUNCH + example)
    (portfolio,) = load_portfolios([path], {"model-build"})
    assert portfolio.config["publish_to"] == ["service-catalog", "s3"]
    assert portfolio.config["s3_templates"]["regions"] == ["us-east-1", "eu-west-1"]
    statements = s3policy.bucket_policy_statements(portfolio.config, "my-sagemaker-templates-us-east-1",
                                                   portfolio.config["s3_templates"]["prefix"])
    assert len(statements) == 4 and not public_policy.is_public({"Statement": statements})

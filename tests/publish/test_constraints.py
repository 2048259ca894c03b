"""Issue 13 point 1: RESOURCE_UPDATE (tag update) and NOTIFICATION constraints, declared per portfolio and applied
to each of its products, reconciled like the LAUNCH constraint against the Service Catalog double: created,
changed in place, left alone when they match (no write), removed only with --prune (a plan note without it).
Also the double's own strictness about their Parameters, and the portfolio-file validation of the two keys."""

from __future__ import annotations

import json
import textwrap

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT, main, tree
from tests.fakes.catalog import build_dist, default_spec
from tests.publish.conftest import REGION

TOPIC = "arn:aws:sns:{region}:123456789012:project-stack-events"
HERE = TOPIC.replace("{region}", REGION)
OTHER = f"arn:aws:sns:{REGION}:123456789012:platform-alerts"
ALLOWED = {"Version": "2.0", "Properties": {"TagUpdateOnProvisionedProduct": "ALLOWED"}}
PRODUCTS = ["model-build", "model-deploy", "batch-inference"]  # sagemaker-projects' products in the default spec


def ok(double, operation: str) -> list:
    return [c for c in double.ops(operation) if c.error is None]


def constraint_writes(double) -> list[str]:
    """The constraint write calls (the applied-digest tags written beside them are another feature's)."""
    return [c.operation for c in double.writes() if c.error is None and c.operation.endswith("Constraint")]


def constraints(double, kind: str) -> list[dict]:
    """The live constraints of ``kind`` on sagemaker-projects' products, as (product name, parameters)."""
    state = double.region(REGION)
    portfolio = next(pid for pid, p in state.portfolios.items()
                     if p["DisplayName"] == "SageMaker MLOps project templates")
    names = {pid: p["Name"] for pid, p in state.products.items()}
    found = [(names[c["ProductId"]], json.loads(c["Parameters"]))
             for c in state.constraints.values() if c["PortfolioId"] == portfolio and c["Type"] == kind]
    return sorted(found, key=lambda item: (item[0], json.dumps(item[1], sort_keys=True)))


def spec_with(tag_update: str | None = "ALLOWED", topics: list[str] | None = None) -> dict:
    spec = default_spec()
    portfolio = spec["portfolios"]["sagemaker-projects"]
    if tag_update is not None:
        portfolio["tag_update_constraint"] = tag_update
    if topics is not None:
        portfolio["notification_constraints"] = topics
    return spec


def publish(run_cli, tmp_path, name: str, spec: dict, *extra: str):
    run = run_cli("publish", build_dist(tmp_path / name, spec), *extra)
    assert run.code == 0, run.out + run.err
    return run


# ------------------------------------------------------------------------------------------ reconciling


def test_constraints_are_created_with_the_documented_parameters(double, tmp_path, run_cli):
    publish(run_cli, tmp_path, "a", spec_with("ALLOWED", [TOPIC]))
    creates = ok(double, "CreateConstraint")
    by_type = {kind: [c.params for c in creates if c.params["Type"] == kind] for kind in
               ("LAUNCH", "RESOURCE_UPDATE", "NOTIFICATION")}
    # one of each per product of sagemaker-projects (data-science configures neither: LAUNCH only)
    assert len(by_type["RESOURCE_UPDATE"]) == len(by_type["NOTIFICATION"]) == 3 and len(by_type["LAUNCH"]) == 4
    for params in by_type["RESOURCE_UPDATE"]:
        assert params["Parameters"] == '{"Properties": {"TagUpdateOnProvisionedProduct": "ALLOWED"}, "Version": "2.0"}'
        assert params["Description"] == (
            'smcat tag updates {"Properties":{"TagUpdateOnProvisionedProduct":"ALLOWED"},"Version":"2.0"}')
    for params in by_type["NOTIFICATION"]:
        assert json.loads(params["Parameters"]) == {"NotificationArns": [HERE]}  # {region} replaced
    assert constraints(double, "RESOURCE_UPDATE") == [(p, ALLOWED) for p in sorted(PRODUCTS)]
    assert constraints(double, "NOTIFICATION") == [(p, {"NotificationArns": [HERE]}) for p in sorted(PRODUCTS)]


def test_publishing_again_writes_nothing_and_describes_nothing(double, tmp_path, run_cli):
    spec = spec_with("ALLOWED", [TOPIC, OTHER])
    publish(run_cli, tmp_path, "a", spec)
    double.reset_calls()
    run = publish(run_cli, tmp_path, "b", spec)
    assert double.writes() == []
    # read in full (--refresh), the constraints need no DescribeConstraint: smcat's descriptions carry the parameters
    double.reset_calls()
    publish(run_cli, tmp_path, "c", spec, "--refresh")
    assert double.writes() == [] and double.ops("ListConstraintsForPortfolio")
    assert double.ops("DescribeConstraint") == []
    assert "run with --prune" not in run.out


def test_changing_the_tag_update_value_updates_in_place(double, tmp_path, run_cli):
    publish(run_cli, tmp_path, "a", spec_with("ALLOWED"))
    double.reset_calls()
    publish(run_cli, tmp_path, "b", spec_with("NOT_ALLOWED"))
    assert constraint_writes(double) == ["UpdateConstraint"] * 3  # no delete, no create
    update = ok(double, "UpdateConstraint")[0].params
    assert json.loads(update["Parameters"]) == {"Version": "2.0", "Properties": {"TagUpdateOnProvisionedProduct":
                                                                                 "NOT_ALLOWED"}}
    assert update["Description"].startswith("smcat tag updates ")
    values = [p["Properties"]["TagUpdateOnProvisionedProduct"] for _, p in constraints(double, "RESOURCE_UPDATE")]
    assert values == ["NOT_ALLOWED"] * 3


def test_a_hand_made_tag_update_constraint_is_adopted_after_one_describe(double, tmp_path, run_cli):
    publish(run_cli, tmp_path, "a", spec_with(None))
    state = double.region(REGION)
    for c in list(state.constraints.values()):
        if c["Type"] == "LAUNCH":
            sc = boto3.client("servicecatalog", region_name=REGION)
            sc.create_constraint(PortfolioId=c["PortfolioId"], ProductId=c["ProductId"], Type="RESOURCE_UPDATE",
                                 Parameters=json.dumps(ALLOWED), IdempotencyToken=f"by-hand-{c['ConstraintId']}")
    double.reset_calls()
    publish(run_cli, tmp_path, "b", spec_with("ALLOWED"), "--refresh")  # made by hand: read everything
    assert constraint_writes(double) == []  # the same value: nothing to change, even with someone else's description
    assert len(double.ops("DescribeConstraint")) == 3  # sagemaker-projects' hand-made ones (not described later)


def test_removed_constraints_stay_without_prune_with_a_note_and_go_with_it(double, tmp_path, run_cli):
    publish(run_cli, tmp_path, "a", spec_with("ALLOWED", [TOPIC]))
    double.reset_calls()
    spec = spec_with(None, [])
    plan = run_cli("plan", build_dist(tmp_path / "b", spec))
    assert plan.code == 0, plan.err
    [note] = [line for line in plan.out.splitlines() if "constraints its configuration does not have" in line]
    assert note.startswith("  note: portfolio sagemaker-projects has constraints its configuration does not have "
                           "(model-build: tag update constraint cons-")
    assert note.count("tag update constraint") == note.count("notification constraint") == 3
    assert note.endswith("; run with --prune to remove them")
    publish(run_cli, tmp_path, "b", spec)
    assert constraint_writes(double) == []
    assert len(constraints(double, "RESOURCE_UPDATE")) == len(constraints(double, "NOTIFICATION")) == 3

    publish(run_cli, tmp_path, "c", spec, "--prune")
    assert len(ok(double, "DeleteConstraint")) == 6
    assert constraints(double, "RESOURCE_UPDATE") == constraints(double, "NOTIFICATION") == []
    assert len(constraints(double, "LAUNCH")) == 3  # the launch constraints stay
    double.reset_calls()
    publish(run_cli, tmp_path, "d", spec, "--prune")
    assert constraint_writes(double) == []


def test_a_replaced_topic_is_added_and_the_old_one_kept_until_prune(double, tmp_path, run_cli):
    publish(run_cli, tmp_path, "a", spec_with(None, [TOPIC]))
    double.reset_calls()
    publish(run_cli, tmp_path, "b", spec_with(None, [OTHER]))
    assert [c.params["Type"] for c in ok(double, "CreateConstraint")] == ["NOTIFICATION"] * 3
    assert "DeleteConstraint" not in constraint_writes(double)
    assert {tuple(p["NotificationArns"]) for _, p in constraints(double, "NOTIFICATION")} == {(HERE,), (OTHER,)}
    publish(run_cli, tmp_path, "c", spec_with(None, [OTHER]), "--prune")
    assert constraints(double, "NOTIFICATION") == [(p, {"NotificationArns": [OTHER]}) for p in sorted(PRODUCTS)]


def test_a_hand_made_constraint_with_an_extra_topic_is_narrowed_in_place_only_with_prune(double, tmp_path, run_cli):
    publish(run_cli, tmp_path, "a", spec_with(None))
    state = double.region(REGION)
    sc = boto3.client("servicecatalog", region_name=REGION)
    for c in [c for c in state.constraints.values() if c["Type"] == "LAUNCH"]:
        sc.create_constraint(PortfolioId=c["PortfolioId"], ProductId=c["ProductId"], Type="NOTIFICATION",
                             Parameters=json.dumps({"NotificationArns": [HERE, OTHER]}),
                             IdempotencyToken=f"by-hand-{c['ConstraintId']}")
    double.reset_calls()
    spec = spec_with(None, [TOPIC])
    run = publish(run_cli, tmp_path, "b", spec, "--refresh")  # made by hand: read everything
    assert constraint_writes(double) == []  # the wanted topic is notified already; the extra one is only reported
    assert f"also notifies {OTHER}" in run.out
    publish(run_cli, tmp_path, "c", spec, "--prune", "--refresh")
    # narrowed in sagemaker-projects; deleted in data-science, which configures no topic
    assert sorted(constraint_writes(double)) == ["DeleteConstraint"] + ["UpdateConstraint"] * 3
    assert constraints(double, "NOTIFICATION") == [(p, {"NotificationArns": [HERE]}) for p in sorted(PRODUCTS)]


def test_a_topic_of_another_region_gets_no_constraint_and_a_note(double, tmp_path, run_cli):
    elsewhere = "arn:aws:sns:eu-west-1:123456789012:project-stack-events"
    run = publish(run_cli, tmp_path, "a", spec_with(None, [elsewhere, TOPIC]))
    assert f"notification topic {elsewhere} is not in {REGION}" in run.out
    assert constraints(double, "NOTIFICATION") == [(p, {"NotificationArns": [HERE]}) for p in sorted(PRODUCTS)]


def test_a_pruned_product_takes_its_new_constraints_with_it(double, tmp_path, run_cli):
    spec = spec_with("ALLOWED", [TOPIC])
    publish(run_cli, tmp_path, "a", spec)
    spec["portfolios"]["sagemaker-projects"]["products"] = ["model-build"]
    publish(run_cli, tmp_path, "b", spec, "--prune")
    assert [p for p, _ in constraints(double, "RESOURCE_UPDATE")] == ["model-build"]
    assert [p for p, _ in constraints(double, "NOTIFICATION")] == ["model-build"]


# ------------------------------------------------------------------------------------------ the double


@pytest.fixture
def pair(double, tmp_path, run_cli):
    """(client, portfolio id, product id) of a published product, with no RESOURCE_UPDATE/NOTIFICATION yet."""
    publish(run_cli, tmp_path, "a", spec_with(None))
    launch = next(c for c in double.region(REGION).constraints.values() if c["Type"] == "LAUNCH")
    return boto3.client("servicecatalog", region_name=REGION), launch["PortfolioId"], launch["ProductId"]


def _error(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


@pytest.mark.parametrize("parameters", [
    {"Version": "2.0", "Properties": {"TagUpdateOnProvisionedProduct": "allowed"}},
    {"Properties": {"TagUpdateOnProvisionedProduct": "ALLOWED"}},
    {"Version": "1.0", "Properties": {"TagUpdateOnProvisionedProduct": "ALLOWED"}},
    {"TagUpdateOnProvisionedProduct": "ALLOWED"},
    ["ALLOWED"],
])
def test_the_double_refuses_resource_update_parameters_aws_does_not_document(pair, parameters):
    sc, portfolio, product = pair
    assert _error(lambda: sc.create_constraint(
        PortfolioId=portfolio, ProductId=product, Type="RESOURCE_UPDATE", Parameters=json.dumps(parameters),
        IdempotencyToken="t1")) == "InvalidParametersException"


@pytest.mark.parametrize("parameters", [
    {"NotificationArns": []},
    {"NotificationArns": "arn:aws:sns:us-east-1:123456789012:t"},
    {"NotificationArns": ["arn:aws:sqs:us-east-1:123456789012:q"]},
    {"NotificationArns": [f"arn:aws:sns:us-east-1:123456789012:t{n}" for n in range(6)]},
    {"NotificationArns": ["arn:aws:sns:eu-west-1:123456789012:t"]},  # not the region of the stacks
    {"TopicArns": ["arn:aws:sns:us-east-1:123456789012:t"]},
])
def test_the_double_refuses_notification_parameters_aws_does_not_document(pair, parameters):
    sc, portfolio, product = pair
    assert _error(lambda: sc.create_constraint(
        PortfolioId=portfolio, ProductId=product, Type="NOTIFICATION", Parameters=json.dumps(parameters),
        IdempotencyToken="t1")) == "InvalidParametersException"


def test_the_double_allows_one_tag_update_constraint_and_one_per_topic(pair):
    sc, portfolio, product = pair

    def create(kind: str, parameters: dict, token: str) -> str:
        return sc.create_constraint(PortfolioId=portfolio, ProductId=product, Type=kind,
                                    Parameters=json.dumps(parameters), IdempotencyToken=token)

    create("RESOURCE_UPDATE", ALLOWED, "a")
    assert _error(lambda: create("RESOURCE_UPDATE", ALLOWED, "b")) == "DuplicateResourceException"
    first = create("NOTIFICATION", {"NotificationArns": [HERE]}, "c")["ConstraintDetail"]["ConstraintId"]
    create("NOTIFICATION", {"NotificationArns": [OTHER]}, "d")  # another topic: another constraint
    assert _error(lambda: create("NOTIFICATION", {"NotificationArns": [HERE]}, "e")) == "DuplicateResourceException"
    # UpdateConstraint answers only ResourceNotFoundException and InvalidParametersException
    assert _error(lambda: sc.update_constraint(Id=first, Parameters=json.dumps({"NotificationArns": [OTHER]}))) == (
        "InvalidParametersException")


# ------------------------------------------------------------------------------------------ validation


PORTFOLIO = "portfolios/sagemaker-projects.yaml"


def _build_errors(catalog, capsys, tmp_path) -> list[str]:
    out = tmp_path / "dist"
    out.mkdir(exist_ok=True)
    (out / "manifest.json").write_text("{}")
    before = tree(out)
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q", "--no-lint"]) == 2
    assert tree(out) == before
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err.strip().splitlines()


def test_bad_constraint_keys_are_one_line_each_naming_file_and_key(catalog, capsys, tmp_path):
    path = catalog / PORTFOLIO
    text = path.read_text().replace("tag_update_constraint: ALLOWED\n", textwrap.dedent("""\
        tag_update_constraint: allowed
        notification_constraints:
          - arn:aws:sns:{region}:123456789012:events
          - arn:aws:sns:{account}:123456789012:events
          - arn:aws:sqs:us-east-1:123456789012:queue
          - arn:aws:sns:{region}:123456789012:events
        """))
    path.write_text(text)
    lines = _build_errors(catalog, capsys, tmp_path)
    line = text.splitlines().index("tag_update_constraint: allowed") + 1
    assert lines == [
        f"error: {PORTFOLIO}:{line}: tag_update_constraint: 'allowed' is not one of ALLOWED, NOT_ALLOWED",
        f"error: {PORTFOLIO}:{line + 3}: notification_constraints[1]: 'arn:aws:sns:{{account}}:123456789012:events': "
        "'{account}' is not a region name; use {region} for the region each publish goes to",
        f"error: {PORTFOLIO}:{line + 4}: notification_constraints[2]: 'arn:aws:sqs:us-east-1:123456789012:queue' is "
        "not an SNS topic ARN (arn:aws:sns:<region or {region}>:<12-digit account>:<topic name>)",
        f"error: {PORTFOLIO}:{line + 5}: notification_constraints[3]: 'arn:aws:sns:{{region}}:123456789012:events' "
        "is listed twice",
    ]


def test_more_topics_than_a_stack_notifies_are_refused(catalog, capsys, tmp_path):
    path = catalog / PORTFOLIO
    topics = "".join(f"  - arn:aws:sns:{{region}}:123456789012:t{n}\n" for n in range(6))
    path.write_text(path.read_text() + "notification_constraints:\n" + topics)
    [line] = _build_errors(catalog, capsys, tmp_path)
    assert line.endswith("notification_constraints: has 6 entries; at most 5 allowed"), line


def test_the_bundled_studio_portfolio_allows_tag_updates_on_every_product(double, tmp_path, run_cli):
    """SageMaker UpdateProject with tags needs a tag update constraint: the bundled portfolio has one."""
    out = tmp_path / "dist"
    assert main(["--root", str(ROOT), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    studio = manifest["portfolios"]["sagemaker-projects"]
    assert studio["tag_update_constraint"] == "ALLOWED"
    assert run_cli("publish", out, "--allow-lint-findings").code == 0
    made = {(c.params["ProductId"], c.params["PortfolioId"]) for c in ok(double, "CreateConstraint")
            if c.params["Type"] == "RESOURCE_UPDATE" and json.loads(c.params["Parameters"]) == ALLOWED}
    state = double.region(REGION)
    portfolio = next(pid for pid, p in state.portfolios.items() if p["DisplayName"] == studio["display_name"])
    products = {p["Name"]: pid for pid, p in state.products.items()}
    assert made == {(products[name], portfolio) for name in studio["products"]}


def test_the_readme_examples_hold_valid_constraint_keys(tmp_path):
    from generator.portfolio import load_portfolios

    text = (ROOT / "README.md").read_text()
    portfolios = text.split("\n## Portfolios\n", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    constraints_section = text.split("\n### Constraints: tag updates and stack notifications\n", 1)[1]
    keys = constraints_section.split("```yaml\n", 1)[1].split("```", 1)[0]
    base = "display_name: X\nprovider: Y\nproducts: [model-build]\nlaunch_constraint: {local_role_name: R}\n"
    for name, body in (("portfolios", portfolios), ("constraints", base + keys)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(body)
        (portfolio,) = load_portfolios([path], {"model-build"})
        assert portfolio.config["tag_update_constraint"] == "ALLOWED", name
        assert portfolio.config["notification_constraints"] == [
            "arn:aws:sns:{region}:111122223333:project-stack-events"], name


def test_the_manifest_reader_refuses_what_the_build_would_not_write(tmp_path):
    from generator.publish.manifest import ManifestError, load_catalog

    dist = build_dist(tmp_path, spec_with("allowed", [TOPIC, TOPIC, "arn:aws:sns:mars-1:123456789012:t"]))
    with pytest.raises(ManifestError) as caught:
        load_catalog(dist)
    where = f"{dist / 'manifest.json'}: portfolio sagemaker-projects"
    assert caught.value.lines == [
        f"{where}: tag_update_constraint must be ALLOWED or NOT_ALLOWED",
        f"{where}: notification_constraints: 'arn:aws:sns:mars-1:123456789012:t': 'mars-1' is not a region name; "
        "use {region} for the region each publish goes to",
        f"{where}: notification_constraints lists a topic twice",
    ]
    older = load_catalog(build_dist(tmp_path / "older", default_spec())).portfolios["sagemaker-projects"]
    assert older.tag_update is None and older.notification_topics == ()  # a manifest from before the keys


# ------------------------------------------------------------------------------------------ Studio's tag updates


@pytest.mark.parametrize(("tag_update", "allowed"), [("ALLOWED", True), ("NOT_ALLOWED", False), (None, False)])
def test_studio_project_tag_updates_follow_the_published_tag_update_constraint(double, tmp_path, run_cli, tag_update,
                                                                                allowed):
    """Issue 13 point 4: the bundled sagemaker-projects portfolio declares ``tag_update_constraint: ALLOWED``
    so that Studio can update a project's tags.  FACTS.md: "SageMaker UpdateProject with tags requires the
    product to have a tag update (RESOURCE_UPDATE) constraint."  The SageMaker projects double models it
    (tests/fakes/sagemakerprojects.py): UpdateProject's Tags go to the Service Catalog double's
    UpdateProvisionedProduct, refused without a RESOURCE_UPDATE constraint with TagUpdateOnProvisionedProduct
    ALLOWED, and that refusal comes back from SageMaker as ValidationException."""
    import yaml

    from tests.fakes.provisioning import product_ids, s3_template_reader, versions_of
    from tests.fakes.sagemakerprojects import SageMakerProjectsDouble

    bundled = yaml.safe_load((ROOT / "portfolios" / "sagemaker-projects.yaml").read_text())
    assert bundled["tag_update_constraint"] == "ALLOWED"  # what the ALLOWED case publishes
    double.template_reader = s3_template_reader
    with SageMakerProjectsDouble(double) as world:
        publish(run_cli, tmp_path, "a", spec_with(tag_update))
        assert constraints(double, "RESOURCE_UPDATE") == (
            [(p, {"Version": "2.0", "Properties": {"TagUpdateOnProvisionedProduct": tag_update}})
             for p in sorted(PRODUCTS)] if tag_update else [])
        sm = boto3.client("sagemaker", region_name=REGION)
        (version,) = versions_of(double, "model-build").values()
        sm.create_project(ProjectName="churn", ServiceCatalogProvisioningDetails={
            "ProductId": product_ids(double)["model-build"], "ProvisioningArtifactId": version["Id"]})
        world.wait()
        assert sm.describe_project(ProjectName="churn")["ProjectStatus"] == "CreateCompleted"
        tags = [{"Key": "team", "Value": "fraud-detection"}]
        if allowed:
            sm.update_project(ProjectName="churn", Tags=tags)
            world.wait()
            assert sm.describe_project(ProjectName="churn")["ProjectStatus"] == "UpdateCompleted"
            (pp,) = double.provisioned_products()
            assert pp["Tags"]["team"] == "fraud-detection"
            assert [c.params["Tags"] for c in ok(double, "UpdateProvisionedProduct")] == [tags]
        else:
            with pytest.raises(ClientError) as refused:
                sm.update_project(ProjectName="churn", Tags=tags)
            assert refused.value.response["Error"]["Code"] == "ValidationException"
            assert "RESOURCE_UPDATE" in refused.value.response["Error"]["Message"]
            (pp,) = double.provisioned_products()
            assert "team" not in pp["Tags"]
            assert sm.describe_project(ProjectName="churn")["ProjectStatus"] == "CreateCompleted"

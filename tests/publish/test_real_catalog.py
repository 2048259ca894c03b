"""The repository's own catalog, built for real, published through the Service Catalog double."""

from __future__ import annotations

import json
import shlex
import shutil

from generator.publish.planner import artifact_location
from tests.conftest import ROOT, main
from tests.publish.conftest import BUCKET, REGION

README = ROOT / "README.md"

LOCATION = artifact_location(BUCKET, "smcat", REGION)
#: the builds here skip lint (--no-lint, for speed), which plan/publish refuse without this flag
ALLOW = "--allow-lint-findings"


def build_real_dist(tmp_path):
    out = tmp_path / "dist"
    assert main(["--root", str(ROOT), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    return out


def test_real_catalog_publishes_and_republishes_with_no_writes(double, tmp_path, run_cli):
    dist = build_real_dist(tmp_path)
    manifest = json.loads((dist / "manifest.json").read_text())
    first = run_cli("publish", dist, ALLOW)
    assert first.code == 0, first.err + first.out

    created = {c.params["Name"]: c.params for c in double.ops("CreateProduct") if c.error is None}
    assert set(created) == set(manifest["products"])
    studio = {"Key": "sagemaker:studio-visibility", "Value": "true"}
    # the products of every Studio-visible portfolio (read from the catalog: new portfolios count too)
    projects = {product for portfolio in manifest["portfolios"].values() if portfolio.get("studio_visibility")
                for product in portfolio["products"]}
    for name, params in created.items():
        assert (studio in params["Tags"]) == (name in projects), name
        assert params["ProvisioningArtifactParameters"]["Description"] == (
            f"sha256:{manifest['products'][name]['content_hash']} location:{LOCATION}"
        )

    constraints = [json.loads(c.params["Parameters"]) for c in double.ops("CreateConstraint") if c.error is None]
    assert {"LocalRoleName": "SageMakerProjectsLaunchRole"} in constraints
    assert {"LocalRoleName": "MLPlatformAdminLaunchRole"} in constraints
    shares = [c.params for c in double.ops("CreatePortfolioShare") if c.error is None]
    assert {"Type": "ORGANIZATIONAL_UNIT", "Value": "ou-ab12-mlworkloads"} in [s["OrganizationNode"] for s in shares]

    writes = len(double.writes())
    again = run_cli("publish", dist, ALLOW)
    assert again.code == 0, again.err + again.out
    assert len(double.writes()) == writes


def test_rebuilt_catalog_in_another_place_is_still_a_no_op(double, tmp_path, run_cli):
    """The content hash does not depend on where the catalog was built from."""
    assert run_cli("publish", build_real_dist(tmp_path / "a"), ALLOW).code == 0
    writes = len(double.writes())
    copy = tmp_path / "elsewhere"
    for name in ("products", "portfolios", "seedcode"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", ".venv*"))
    out = tmp_path / "b" / "dist"
    assert main(["--root", str(copy), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert run_cli("publish", out, ALLOW).code == 0
    assert len(double.writes()) == writes


def test_the_bundled_catalog_moves_to_s3_templates_with_a_portfolio_change_and_two_commands(
    templates_bucket, tmp_path, run_s3
):
    """Issue 11's "done when": each portfolio file gains publish_to/s3_templates/organization_id (and
    loses tag_options, which S3 cannot express), then `plan` and `publish` (no Service Catalog bucket)."""
    import yaml

    from tests.fakes.s3templates import PREFIX, bucket_state

    catalog = tmp_path / "catalog"
    for name in ("products", "portfolios", "seedcode"):
        shutil.copytree(ROOT / name, catalog / name, ignore=shutil.ignore_patterns("__pycache__", ".venv*"))
    visible = {}
    for path in sorted((catalog / "portfolios").glob("*.yaml")):
        config = yaml.safe_load(path.read_text())
        config.pop("tag_options", None)
        config.update(publish_to=["s3"], s3_templates={"bucket": templates_bucket, "prefix": PREFIX},
                      organization_id="o-abcdefghij")
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        for product in config["products"]:
            visible[product] = visible.get(product, False) or bool(config.get("studio_visibility"))
    out = catalog / "dist"
    assert main(["--root", str(catalog), "build", "-q"]) == 0  # linted: plan and publish need no flag

    # The two commands of the README's "Publishing S3 templates", as written (build.py = main, on the copy).
    section = README.read_text().split("### Publishing S3 templates", 1)[1]
    commands = section.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [c.split()[2] for c in commands] == ["plan", "publish"]
    for command in commands:
        words = shlex.split(command)
        assert words[:2] == [".venv/bin/python", "build.py"] and "--region" in words, command
        assert main([*words[2:], "--root", str(catalog)]) == 0, command

    from tests.publish.conftest import client

    state = bucket_state(client("s3"), templates_bucket)
    assert set(state["tags"]) == {f"{PREFIX}{product}.yaml" for product in visible}
    for product, studio in visible.items():
        assert (("sagemaker:studio-visibility", "true") in state["tags"][f"{PREFIX}{product}.yaml"]) == studio
    assert state["versioning"] == "Enabled" and state["cors"]
    # The OU both portfolios share with reads the templates, confined by the fixed organization id.
    (ou_read,) = [s for s in state["policy"]["Statement"] if s["Sid"].startswith("SmcatReadOu")
                  and s["Sid"].endswith("Objects")]
    assert ou_read["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-abcdefghij"
    assert "ou-ab12-mlworkloads" in json.dumps(ou_read["Condition"])
    again = run_s3("publish", out, "--region", REGION)
    assert again.code == 0 and bucket_state(client("s3"), templates_bucket) == state

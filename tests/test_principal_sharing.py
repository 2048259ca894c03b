"""Issue 13 point 2: sharing IAM_PATTERN principals with an OU or the organization is a build warning naming the
privilege escalation path (Service Catalog API reference, AssociatePrincipalWithPortfolio), unless the share
accepts it with `principal_pattern_risk: accepted`; exact IAM principals and shares without principals are quiet."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from conftest import ROOT, main

FILE = "portfolios/sagemaker-projects.yaml"
PATTERN = "arn:aws:iam:::role/service-role/AmazonSageMaker-ExecutionRole-*"
BASE = f"""\
display_name: Test portfolio
description: For tests.
provider: Tests
products: [model-build]
launch_constraint: {{local_role_name: SageMakerProjectsLaunchRole}}
principals:
  - {PATTERN}
  - arn:aws:iam::111122223333:role/DataScientist
"""
RISK = (
    f"shares the IAM_PATTERN principals {PATTERN} with every account in {{target}}: anyone there who can create "
    "IAM roles can create one whose name matches and launch this portfolio's products (a privilege escalation "
    "path, Service Catalog API reference: AssociatePrincipalWithPortfolio); prefer IAM principals (exact role "
    "ARNs, associated in each account), keep patterns narrow, or accept the risk on this share with "
    "principal_pattern_risk: accepted"
)


def build_warnings(catalog, capsys, tmp_path, text: str) -> list[str]:
    (catalog / FILE).write_text(textwrap.dedent(text))
    assert main(["--root", str(catalog), "build", "--out", str(tmp_path / "dist"), "-q", "--no-lint"]) == 0
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: portfolios/")]


def test_an_ou_share_of_pattern_principals_warns_naming_the_risk(catalog, capsys, tmp_path):
    # share_principals is true by default for an OU: the warning points at the share
    text = BASE + "shares:\n  - target: ou-ab12-abcdefgh\n  - target: '111122223333'\n"
    assert build_warnings(catalog, capsys, tmp_path, text) == [
        f"warning: {FILE}:10: shares[0]: {RISK.format(target='ou-ab12-abcdefgh')}"
    ]


def test_an_organization_share_warns_at_its_share_principals(catalog, capsys, tmp_path):
    text = BASE + "shares:\n  - target: o-abcdefghij\n    share_principals: true\n"
    assert build_warnings(catalog, capsys, tmp_path, text) == [
        f"warning: {FILE}:11: shares[0].share_principals: {RISK.format(target='o-abcdefghij')}"
    ]


@pytest.mark.parametrize("shares", [
    "  - target: ou-ab12-abcdefgh\n    principal_pattern_risk: accepted\n",  # acknowledged
    "  - target: ou-ab12-abcdefgh\n    share_principals: false\n",  # principals stay in this account
    "  - target: '111122223333'\n",  # an account share takes no principals
])
def test_no_warning_when_accepted_or_no_principals_are_shared(catalog, capsys, tmp_path, shares):
    assert build_warnings(catalog, capsys, tmp_path, BASE + "shares:\n" + shares) == []


def test_exact_iam_principals_shared_with_an_ou_are_quiet(catalog, capsys, tmp_path):
    text = BASE.replace(f"  - {PATTERN}\n", "") + "shares:\n  - target: ou-ab12-abcdefgh\n"
    assert build_warnings(catalog, capsys, tmp_path, text) == []


def test_s3_templates_have_no_principals_to_share(catalog, capsys, tmp_path):
    text = BASE.replace("launch_constraint: {local_role_name: SageMakerProjectsLaunchRole}\n", "") + (
        "publish_to: [s3]\norganization_id: o-abcdefghij\ns3_templates: {bucket: 'my-templates-{region}'}\n"
        "shares:\n  - target: ou-ab12-abcdefgh\n"
    )
    warnings = build_warnings(catalog, capsys, tmp_path, text)
    # only "principals: apply to Service Catalog only"
    assert warnings and not any("IAM_PATTERN" in w for w in warnings)


def test_an_acknowledgement_takes_only_its_one_value(catalog, capsys, tmp_path):
    (catalog / FILE).write_text(BASE + "shares:\n  - target: ou-ab12-abcdefgh\n    principal_pattern_risk: ok\n")
    assert main(["--root", str(catalog), "build", "--out", str(tmp_path / "dist"), "-q", "--no-lint"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {FILE}:11: shares[0].principal_pattern_risk: 'ok' is not one of accepted"
    ]


def test_the_bundled_portfolios_accept_the_risk_on_every_pattern_share():
    """Both bundled portfolios share IAM_PATTERN principals with an OU (Studio execution roles and admin roles have
    per-account names), each acknowledged explicitly; so the catalog builds without warnings (test_catalog_problems)."""
    for path in sorted((ROOT / "portfolios").glob("*.yaml")):
        config = yaml.safe_load(path.read_text())
        patterns = [p for p in config.get("principals", []) if ":iam:::" in p]
        assert patterns, path.name
        for share in config["shares"]:
            assert share.get("share_principals") is True and share["principal_pattern_risk"] == "accepted", path.name


# ------------------------------------------------------------------------------------------ the README, as written


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"\n### {title}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


def test_the_readme_warning_is_what_the_build_prints_for_the_scaffolded_portfolio_shared(catalog, capsys, tmp_path):
    """The README's scaffolded team-a portfolio ("Adding a portfolio") with its commented share switched on."""
    scaffolded = _readme_section("Adding a portfolio").split("```yaml\n", 1)[1].split("```", 1)[0]
    shared = scaffolded.replace("# shares:", "shares:  ").replace("#   - target:", "  - target:")
    (catalog / "portfolios" / "team-a.yaml").write_text(shared)
    warnings = build_warnings(catalog, capsys, tmp_path, (catalog / FILE).read_text())
    shown = _readme_section("Sharing principals: what to prefer").split("```\n", 1)[1].split("```", 1)[0]
    assert warnings == shown.strip().splitlines()


def test_the_readme_acknowledgement_silences_the_warning(catalog, capsys, tmp_path):
    block = _readme_section("Sharing principals: what to prefer").split("```yaml\n", 1)[1].split("```", 1)[0]
    assert build_warnings(catalog, capsys, tmp_path, BASE + block) == []

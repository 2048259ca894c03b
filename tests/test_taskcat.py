"""The taskcat configuration the build writes: a test per product, a value per required parameter."""

from __future__ import annotations

import json

import yaml
from conftest import main


def test_taskcat_config_covers_every_product_and_required_parameter(built):
    config = yaml.safe_load((built / ".taskcat.yml").read_text())
    manifest = json.loads((built / "manifest.json").read_text())
    assert config["project"]["name"] == "smcat-catalog"
    assert set(config["tests"]) == set(manifest["products"])
    for name, test in config["tests"].items():
        template = json.loads((built / test["template"]).read_text())
        required = {k for k, v in template["Parameters"].items() if "Default" not in v}
        assert set(test["parameters"]) == required, name
        for seed, entry in manifest["products"][name]["seedcode"].items():
            assert test["parameters"][entry["key_parameter"]] == f"$[taskcat_project_name]/seedcode/{seed}.zip"
        if "SageMakerProjectName" in required:
            assert test["parameters"]["SageMakerProjectId"].startswith("p-")
        named_iam = any(
            r["Type"] == "AWS::IAM::Role" and "RoleName" in r.get("Properties", {})
            for r in template["Resources"].values()
        )
        # Fixed IAM names are global: such a product is tested in one region, others in every region.
        assert test.get("regions", config["project"]["regions"]) == (
            config["project"]["regions"][:1] if named_iam else config["project"]["regions"]
        ), name
    assert any("regions" in t for t in config["tests"].values())


def test_a_required_parameter_without_a_test_value_is_reported(catalog, tmp_path, capsys):
    (catalog / "products" / "needs_value.py").write_text(
        "from troposphere import Parameter, Ref, Template, Output\n"
        "from generator.product import Product\n"
        "def template():\n"
        "    t = Template()\n"
        "    t.add_parameter(Parameter('Mystery', Type='String'))\n"
        "    t.add_output(Output('Echo', Value=Ref('Mystery')))\n"
        "    return t\n"
        "PRODUCT = Product(name='needs-value', description='d', owner='o', version='0.1.0', template=template)\n"
    )
    assert main(["--root", str(catalog), "build", "--out", str(tmp_path / "d"), "--no-lint", "-q"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: products/needs_value.py: test_parameters: taskcat needs a value for parameter 'Mystery'"
    )

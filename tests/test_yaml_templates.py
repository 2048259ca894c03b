"""dist/templates/<product>.yaml: the same template as the JSON, for S3 templates (SageMaker reads
YAML there), written deterministically, linted the same, and outside the content hash."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import main, tree

from generator.builder import sha256
from generator.output import canonical_yaml


def _manifest(dist):
    return json.loads((dist / "manifest.json").read_text())


def test_every_product_has_a_yaml_rendering_equal_to_its_json(built):
    manifest = _manifest(built)
    assert manifest["products"]
    for name, product in manifest["products"].items():
        assert product["template_yaml"] == f"templates/{name}.yaml"
        data = (built / product["template_yaml"]).read_bytes()
        assert sha256(data) == product["template_yaml_sha256"]
        assert yaml.safe_load(data) == json.loads((built / product["template"]).read_bytes()), name
    assert sorted(p.name for p in (built / "templates").iterdir()) == sorted(
        f"{name}.{suffix}" for name in manifest["products"] for suffix in ("json", "yaml")
    )


def test_yaml_keeps_long_form_intrinsics_and_writes_code_as_a_block(built):
    text = (built / "templates" / "model-registry-hub.yaml").read_text()
    assert "Fn::Sub:" in text and "Ref: " in text
    assert "!Sub" not in text and "!Ref" not in text  # no short-form tags: any YAML parser reads it
    assert "ZipFile: |\n" in text  # inline Lambda code stays readable
    assert "&id" not in text and "*id" not in text  # no anchors or aliases


def test_content_hash_covers_the_json_and_seed_zips_only(built):
    """The same content has the same hash on both publish targets: the YAML is not part of it."""
    for product in _manifest(built)["products"].values():
        lines = [f"template {product['template_sha256']}"] + [
            f"seed {seed} {entry['sha256']}" for seed, entry in sorted(product["seedcode"].items())
        ]
        assert product["content_hash"] == sha256("\n".join(lines).encode())
        assert product["template_yaml_sha256"] != product["template_sha256"]


def test_two_builds_write_byte_identical_yaml(catalog, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    assert main(["--root", str(catalog), "build", "--out", str(first), "--no-lint", "-q"]) == 0
    assert main(["--root", str(catalog), "build", "--out", str(second), "--no-lint", "-q"]) == 0
    yamls = {rel: data for rel, data in tree(first).items() if rel.endswith(".yaml")}
    assert len(yamls) == len(_manifest(first)["products"])
    assert yamls == {rel: data for rel, data in tree(second).items() if rel.endswith(".yaml")}


def test_a_damaged_yaml_is_rebuilt_and_an_intact_one_left_alone(catalog, tmp_path, capsys):
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    good = (out / "templates" / "model-build.yaml").read_bytes()
    (out / "templates" / "model-build.yaml").write_text("Resources: {}\n")
    capsys.readouterr()
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert (out / "templates" / "model-build.yaml").read_bytes() == good
    assert capsys.readouterr().out.splitlines()[-1].endswith(", written")
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(", unchanged")


def test_a_changed_template_changes_its_yaml_too(catalog, tmp_path):
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    before = _manifest(out)["products"]["model-build"]
    module = catalog / "products" / "model_build.py"
    source = module.read_text()
    assert source.count('version="1.0.0"') == 1
    module.write_text(source.replace('version="1.0.0"', 'version="1.0.1"'))  # the manifest only
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert _manifest(out)["products"]["model-build"]["template_yaml_sha256"] == before["template_yaml_sha256"]
    description = json.loads((out / "templates" / "model-build.json").read_text())["Description"]
    assert source.count(description[:40]) == 1, "the test edits the template's description in the module"
    module.write_text(source.replace(description[:40], "Changed: " + description[:31]))
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    after = _manifest(out)["products"]["model-build"]
    assert after["template_yaml_sha256"] != before["template_yaml_sha256"]
    assert yaml.safe_load((out / after["template_yaml"]).read_bytes())["Description"].startswith("Changed: ")


@pytest.mark.parametrize("value", [
    "yes", "No", "on", "off", "y", "null", "~", "", "true", "2012-10-17", "0123", "0x1F", "1e3", "1_000", ".inf",
    "!Ref Bucket", "*", "&a", "- x", "a: b", "#x", "x #y", "'q'", '"q"', " lead", "trail ", "%x", "@x", "`x",
    "${AWS::StackName}", "é ü 中", "tab\there", "line1\nline2\n", "line1\n  indented \ntrailing space \n",
    "no final newline\nsecond", "\n", "a\r\nb", "\x07bell", "x" * 300 + " " + "y" * 300,
])
def test_strings_read_back_exactly(value):
    document = {"Resources": {"R": {"Properties": {"Value": value, "List": [value, {"K": value}]}}}}
    assert yaml.safe_load(canonical_yaml(document)) == document


@pytest.mark.parametrize("value", [0, -1, 10**20, 1.5, 1e-7, True, False, None, [], {}, [[]], {"a": {}}])
def test_scalars_and_empty_collections_read_back_exactly(value):
    document = {"Mappings": {"M": {"K": {"V": value}}}}
    assert yaml.safe_load(canonical_yaml(document)) == document


def test_yaml_is_sorted_and_has_no_aliases():
    shared = {"Effect": "Allow"}
    first = canonical_yaml({"b": shared, "a": [shared, shared]})
    assert first == canonical_yaml({"a": [dict(shared), dict(shared)], "b": dict(shared)})
    assert first == b"a:\n- Effect: Allow\n- Effect: Allow\nb:\n  Effect: Allow\n"


def test_cfn_lint_reads_the_yaml_as_it_reads_the_json(built, tmp_path):
    """cfn-lint (with our rules) accepts CloudFormation YAML with long-form intrinsic functions and
    finds exactly what it finds in the JSON: nothing for a built template; the same findings for a
    broken copy written both ways."""
    from generator.lint import lint_paths

    template = json.loads((built / "templates" / "model-build.json").read_text())
    resources = template["Resources"]
    untagged = next(n for n, r in sorted(resources.items()) if r["Type"] == "AWS::KMS::Key")
    del resources[untagged]["Properties"]["Tags"]  # E9102 (ours)
    resources[untagged]["Properties"]["NoSuchProperty"] = 1  # E3002 (cfn-lint's)
    broken_json, broken_yaml = tmp_path / "broken.json", tmp_path / "broken.yaml"
    broken_json.write_text(json.dumps(template, indent=2))
    broken_yaml.write_bytes(canonical_yaml(template))
    clean_yaml = built / "templates" / "model-build.yaml"
    findings = lint_paths([str(clean_yaml), str(broken_json), str(broken_yaml)])
    by_file = {}
    for finding in findings:
        by_file.setdefault(finding.file, set()).add((finding.rule, finding.message))
    assert str(clean_yaml) not in by_file
    assert {rule for rule, _ in by_file[str(broken_json)]} >= {"E9102", "E3002"}
    assert by_file[str(broken_yaml)] == by_file[str(broken_json)]


def test_lint_command_accepts_a_built_yaml(built, capsys):
    assert main(["lint", str(built / "templates" / "project-roles.yaml")]) == 0
    assert capsys.readouterr().out.strip() == ""

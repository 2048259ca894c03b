"""E9150: symmetric KMS keys have automatic key rotation enabled."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch


def _load_common():
    """``_common.py`` from this directory, by path: cfn-lint imports rule files outside any package."""
    here = Path(__file__).resolve().parent
    key = "_smcat_rules_" + hashlib.sha1(str(here).encode()).hexdigest()[:12] + "__common"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, here / "_common.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


common = _load_common()


class KmsKeyRotation(CloudFormationLintRule):
    """Checks that symmetric KMS keys rotate their key material.

    Automatic rotation replaces a key's material yearly (or every ``RotationPeriodInDays``) while
    keeping its id, ARN and the ability to decrypt old data, so it costs nothing to turn on.
    Applies to AWS::KMS::Key with KeySpec SYMMETRIC_DEFAULT (the default) and Origin AWS_KMS (the
    default): asymmetric and HMAC keys, imported key material and custom key stores can't rotate
    automatically. ``EnableKeyRotation`` must be ``true`` in every Fn::If branch.
    """

    id = "E9150"
    shortdesc = "Symmetric KMS keys rotate"
    description = "AWS::KMS::Key with KeySpec SYMMETRIC_DEFAULT and Origin AWS_KMS has EnableKeyRotation: true"
    source_url = "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"
    tags = ["kms", "security"]

    def match(self, cfn):
        matches = []
        for logical_id, rtype, props in common.resources(cfn):
            if rtype != "AWS::KMS::Key":
                continue
            if _setting(props, "KeySpec", "SYMMETRIC_DEFAULT") != {"SYMMETRIC_DEFAULT"}:
                continue  # asymmetric or HMAC (or chosen at deploy time): no automatic rotation
            if _setting(props, "Origin", "AWS_KMS") != {"AWS_KMS"}:
                continue  # imported key material or a custom key store: no automatic rotation
            values = common.branches(props.get("EnableKeyRotation"))
            if values and all(common.text(v).lower() == "true" for v in values):
                continue
            path = ["Resources", logical_id, "Properties"]
            if "EnableKeyRotation" in props:
                path.append("EnableKeyRotation")
            if "EnableKeyRotation" not in props:
                current = "not set"
            elif all(common.text(v).lower() == "false" for v in values):
                current = "false"
            else:
                current = f"{common.text(props['EnableKeyRotation'])!r}, not true in every case"
            matches.append(RuleMatch(path, (
                f"{logical_id} (AWS::KMS::Key) is a symmetric key with EnableKeyRotation {current}. Automatic "
                "rotation replaces the key material yearly without changing the key's id or breaking "
                "decryption of old data; set EnableKeyRotation: true."
            )))
        return matches


def _setting(props, name, default):
    """The values a property can take (every Fn::If branch), AWS::NoValue meaning the default."""
    if name not in props:
        return {default}
    values = common.branches(props[name])
    return {common.text(v) for v in values} or {default}

"""Recording boto calls in-process, and the world they are checked against.

`Recorder` wraps `botocore.client.BaseClient._make_api_call` (the one place every client request
goes through, before moto or a Stubber answers it) and notes service, operation, params and which
credentials signed the request. Credentials name the principal: the run's own (the CodeBuild or
Lambda role the template makes the script run as) unless they came from a recorded AssumeRole, in
which case the request was made by that role.

`runtime_world()` is the fit world (`tests.hub.test_fit.build_world`) plus what these runs need
besides: project-roles in the data science account (the deploy projects' CodeBuild role), and the
AWS managed aws/s3 key of every account with its key policy (`objects.aws_s3_key_template`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.client

from tests.hub.access import Grants, Principal
from tests.hub.conftest import DATA_SCIENCE, HUB, ORGANIZATION, PROD, STAGING
from tests.hub.resolve import resolve
from tests.hub.test_fit import OU_PROD, OU_STAGING, World, build_world, org_paths
from tests.runtime.calls import Call
from tests.runtime.objects import ObjectStore, add_aws_managed_keys

ACCOUNTS = (DATA_SCIENCE, HUB, STAGING, PROD)
OU_OF = {STAGING: OU_STAGING, PROD: OU_PROD}


def principal(arn: str) -> Principal:
    """A role of one of the organization's accounts, with its org paths."""
    account = arn.split(":")[4]
    return Principal(arn, ORGANIZATION, org_paths(OU_OF[account]) if account in OU_OF else ())


class Recorder:
    def __init__(self, run_as: Principal):
        self.run_as = run_as
        self.calls: list[Call] = []
        self._roles: dict[str, Principal] = {}
        self._original: Any = None

    def __enter__(self) -> Recorder:
        self._original = botocore.client.BaseClient._make_api_call
        recorder, original = self, self._original

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            credentials = client._request_signer._credentials
            key = credentials.get_frozen_credentials().access_key if credentials else ""
            who = recorder._roles.get(key, recorder.run_as)
            service = client.meta.service_model.service_name
            recorder.calls.append(Call(service, operation_name, _plain(api_params), who))
            response = original(client, operation_name, api_params)
            if service == "sts" and operation_name == "AssumeRole":
                recorder._roles[response["Credentials"]["AccessKeyId"]] = principal(api_params["RoleArn"])
            return response

        botocore.client.BaseClient._make_api_call = recording
        return self

    def __exit__(self, *exc: Any) -> None:
        botocore.client.BaseClient._make_api_call = self._original


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """The params without bodies (streams, bytes)."""
    return {k: ("<body>" if hasattr(v, "read") or isinstance(v, bytes | bytearray) else v) for k, v in params.items()}


@dataclass
class RuntimeWorld:
    world: World
    grants: Grants
    store: ObjectStore
    project_roles: dict


def project_roles() -> dict:
    from products import project_roles as module

    return resolve(module.PRODUCT.template().to_dict(), DATA_SCIENCE, {"CatalogArtifactBucket": "smcat-catalog"},
                   stack="roles")


def runtime_world(world: World | None = None) -> RuntimeWorld:
    world = world or build_world()
    roles = project_roles()
    grants = world.grants().add_template(roles, DATA_SCIENCE)
    add_aws_managed_keys(grants, list(ACCOUNTS))
    templates = [
        (world.hub, HUB), (world.spoke, DATA_SCIENCE), (world.build, DATA_SCIENCE), (world.endpoint, DATA_SCIENCE),
        (world.multi, DATA_SCIENCE), (world.staging, STAGING), (world.prod, PROD), (world.build_ous, DATA_SCIENCE),
        (roles, DATA_SCIENCE),
    ]
    store = ObjectStore(templates, {account: ORGANIZATION for account in ACCOUNTS})
    return RuntimeWorld(world, grants, store, roles)


def codebuild(resolved: dict, logical_id: str) -> tuple[Principal, dict[str, str]]:
    """The role a template's CodeBuild project runs as, and its environment variables."""
    props = resolved["Resources"][logical_id]["Properties"]
    env = {v["Name"]: v["Value"] for v in props["Environment"]["EnvironmentVariables"]}
    return principal(props["ServiceRole"]), env

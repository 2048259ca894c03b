"""Pre-flight for sharing with AWS Organizations nodes (organization, OU, member account).

Sharing through ``OrganizationNode`` needs:

1. Service Catalog's AWS Organizations access ``ENABLED`` in the region
   (``get_aws_organizations_access_status``; enabled from the management account with
   ``aws servicecatalog enable-aws-organizations-access``);
2. the caller to be the organization's management account (``describe_organization``'s
   ``MasterAccountId`` equals the STS caller account) or a delegated administrator for
   ``servicecatalog.amazonaws.com`` (``list_delegated_administrators``).

A delegated administrator for Service Catalog usually may not call Organizations'
``ListDelegatedAdministrators`` (only the management account or an Organizations delegated admin
may).  ``GetAWSOrganizationsAccessStatus`` itself can only be called by the management account or
a delegated admin, so when it answered and the listing is denied, the caller is taken to be a
delegated admin and the publisher says so.
"""

from __future__ import annotations

from dataclasses import replace

from botocore.exceptions import ClientError

from .aws import Clients, Runtime, describe_exception, error_code
from .manifest import Catalog
from .oupaths import Resolution, has_ou_paths, resolve_ou_paths
from .s3config import S3Config

__all__ = ["PreflightError", "OrgAccess", "SERVICE_PRINCIPAL", "resolve_share_paths"]

SERVICE_PRINCIPAL = "servicecatalog.amazonaws.com"
DENIED = ("AccessDenied", "AccessDeniedException", "AccessDeniedForDependencyException")


class PreflightError(Exception):
    """Sharing cannot work from this account/region; the message says what to enable."""


def _enable_hint(region: str) -> str:
    return (
        "From the organization's management account run:\n"
        f"    aws servicecatalog enable-aws-organizations-access --region {region}"
    )


def _register_hint(account: str) -> str:
    return (
        "From the organization's management account run:\n"
        f"    aws organizations register-delegated-administrator --account-id {account} "
        f"--service-principal {SERVICE_PRINCIPAL}\n"
        "or publish from the management account."
    )


class OrgAccess:
    """Caches the organization checks for one publish run (the caller is checked once)."""

    def __init__(self) -> None:
        self._caller: tuple[str, list[str]] | None = None
        self._regions: set[str] = set()
        self._caller_error: str | None = None

    def check(self, clients: Clients) -> list[str]:
        """Raise PreflightError when org sharing cannot work; return notes for the plan otherwise."""
        region = clients.region
        notes: list[str] = []
        if region not in self._regions:
            try:
                status = clients.sc.get_aws_organizations_access_status()["AccessStatus"]
            except ClientError as exc:
                raise PreflightError(
                    f"cannot read Service Catalog's AWS Organizations access status in {region} "
                    f"({error_code(exc)}): only the management account or a delegated administrator for "
                    f"{SERVICE_PRINCIPAL} may share with organization nodes.\n{_enable_hint(region)}"
                ) from None
            if status != "ENABLED":
                raise PreflightError(
                    f"Service Catalog's AWS Organizations access is {status} in {region}; sharing with an "
                    f"organization, OU or member account needs it ENABLED.\n{_enable_hint(region)}"
                    + ("\n(UNDER_CHANGE: wait a few minutes and run again.)" if status == "UNDER_CHANGE" else "")
                )
            self._regions.add(region)
        if self._caller_error is not None:
            raise PreflightError(self._caller_error)
        if self._caller is None:
            try:
                self._caller = self._check_caller(clients)
            except PreflightError as exc:
                self._caller_error = str(exc)  # the caller is the same in every region: checked once
                raise
        notes.extend(self._caller[1])
        return notes

    @staticmethod
    def _check_caller(clients: Clients) -> tuple[str, list[str]]:
        account = clients.sts.get_caller_identity()["Account"]
        orgs = clients.organizations
        try:
            organization = orgs.describe_organization()["Organization"]
        except ClientError as exc:
            if error_code(exc) == "AWSOrganizationsNotInUseException":
                raise PreflightError(
                    f"account {account} is not in an AWS organization; organization, OU and member-account "
                    f"shares need one"
                ) from None
            if error_code(exc) not in DENIED:
                raise
            organization = {}
        management = organization.get("MasterAccountId")
        if management == account:
            return account, [f"sharing as the organization's management account {account}"]
        try:
            paginator = orgs.get_paginator("list_delegated_administrators")
            admins = {
                a["Id"]
                for page in paginator.paginate(ServicePrincipal=SERVICE_PRINCIPAL)
                for a in page.get("DelegatedAdministrators", [])
            }
        except ClientError as exc:
            if error_code(exc) not in DENIED:
                raise
            return account, [
                f"could not list delegated administrators for {SERVICE_PRINCIPAL} ({error_code(exc)}); "
                f"account {account} answered GetAWSOrganizationsAccessStatus, which only the management "
                f"account or a delegated administrator may call, so it is taken to be a delegated administrator"
            ]
        if account in admins:
            return account, [f"sharing as delegated administrator {account} for {SERVICE_PRINCIPAL}"]
        raise PreflightError(
            f"account {account} is neither the organization's management account"
            + (f" ({management})" if management else "")
            + f" nor a delegated administrator for {SERVICE_PRINCIPAL}, so it cannot share with organization "
            f"nodes.\n{_register_hint(account)}"
        )


def resolve_share_paths(catalog: Catalog, s3: S3Config | None, runtime: Runtime, regions: list[str],
                        progress) -> tuple[Catalog, S3Config | None, list[Resolution]]:
    """The catalog and S3 target with OU path share targets resolved (oupaths.py); unchanged, with no AWS call,
    when no share names a path.  Raises OuPathError (bad input: exit 2) or StateError (Organizations said no)."""
    if not has_ou_paths(catalog):
        return catalog, s3, []
    from .state import StateError

    # Organizations has one endpoint per partition; any region of the run reaches it
    s3_regions = [r for p in (s3.portfolios.values() if s3 else ()) for r in p.regions]
    clients = Clients(runtime, next(iter(regions + s3_regions), None))
    progress.info("resolving OU paths through AWS Organizations ...")
    try:
        resolved, resolutions = resolve_ou_paths(catalog, clients.organizations,
                                                 lambda: clients.sts.get_caller_identity()["Account"])
    except ClientError as exc:
        raise StateError(
            f"cannot resolve the OU paths of share targets: {describe_exception(exc)}; reading the organization "
            f"(ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent) needs the management account or "
            f"a delegated administrator"
        ) from None
    if s3 is not None:
        s3 = replace(s3, portfolios={k: replace(p, shares=resolved.portfolios[k].shares)
                                     for k, p in s3.portfolios.items()})
    return resolved, s3, resolutions

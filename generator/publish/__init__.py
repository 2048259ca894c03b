"""Publish a built catalog (``dist/``) to AWS Service Catalog.

Stages, kept apart so that deciding never does and doing never decides:

* :mod:`.manifest` - load and check ``dist/manifest.json`` (bad input never reaches AWS: exit 2);
* :mod:`.state`    - read the live state of a region (paginated list calls, few describes);
* :mod:`.planner`  - compare and produce a :class:`~.model.Plan` (plain data, JSON-able);
* :mod:`.orgs`     - pre-flight for organization shares (access enabled, management/delegated admin);
* :mod:`.executor` - apply the plan, stop on the first failure with a full account;
* :mod:`.cli`      - ``register(subparsers)`` adds the ``plan`` and ``publish`` subcommands;
* :mod:`.projects` - ``smcat projects`` (report, plan-upgrade, upgrade): reads in projectstate.py,
  decides in projectplan.py, applies in projectapply.py.

What a publish maintains, per region
------------------------------------
* S3: seed zips at ``<prefix>/seedcode/<seed>/<sha256>.zip`` and templates at
  ``<prefix>/templates/<product>/<content_hash>.json`` (seed-code parameters' ``Default`` filled in
  with the bucket and keys), uploaded once, SSE-KMS with ``--kms-key-id``.
* Portfolios, identified by display name + tag ``smcat:portfolio=<id>``: description, provider and
  tags reconciled; TagOptions created or found and associated (extras disassociated); principals
  (IAM, IAM_PATTERN) reconciled.
* Products, identified by name + tag ``smcat:product=<id>``: created with their first version;
  ``sagemaker:studio-visibility=true`` while any portfolio holding them asks for it; a new version
  (Name = version, Description = ``sha256:<content_hash> location:<12 hex>``, the location being a
  short hash of bucket, prefix and the bucket's region) only for content not published there yet;
  versions past ``--keep-versions`` set to DEPRECATED, deleted only with ``--retire-after`` when unused.
* One LAUNCH constraint per product per portfolio (changed in place with UpdateConstraint).
* Shares through ``OrganizationNode`` (ORGANIZATION, ORGANIZATIONAL_UNIT, ACCOUNT).  Account targets
  use ``OrganizationNode{Type: ACCOUNT}`` rather than ``AccountId``: it is the organization-member
  share (no acceptance step in the recipient, a status token to poll, updatable with
  UpdatePortfolioShare).  ``SharePrincipals`` is only supported for ORGANIZATION and
  ORGANIZATIONAL_UNIT nodes under either form, so the manifest check refuses it for accounts.
  Shares no longer configured are reported, and removed with ``--prune``.

Permissions the publishing identity needs: ``servicecatalog:*`` on the portfolios and products it
manages (Create/Update/Describe/List/Search, constraints, principals, TagOptions, shares),
``s3:GetObject``/``s3:PutObject``/``s3:ListBucket`` on the artifact bucket (plus ``kms:GenerateDataKey``,
``kms:Decrypt`` and ``kms:DescribeKey`` for SSE-KMS; objects under another key are re-uploaded),
``sts:GetCallerIdentity``, ``organizations:DescribeOrganization`` and
``organizations:ListDelegatedAdministrators`` (for shares).  A ``LocalRoleName`` launch role must
exist in the publishing account as well as in the launching accounts (CreateConstraint's documentation).
"""

# Nothing is imported here: registering the CLI commands (commands.py) must not load boto3.

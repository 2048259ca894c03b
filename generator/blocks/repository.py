"""A CodeCommit repository seeded from a seed-code zip uploaded at publish time."""

from __future__ import annotations

from typing import Any

from troposphere import Parameter, Ref, Tags, codecommit

SEED_BUCKET = "SeedCodeBucket"


def seed_key_parameter_name(seed: str) -> str:
    """`SeedCode<Seed>Key`: the template parameter naming one seed zip's S3 key."""
    return "SeedCode" + "".join(part.capitalize() for part in seed.replace("_", "-").split("-")) + "Key"


def seed_parameters(*seeds: str) -> list[Parameter]:
    """Where the seed zips are. The publisher fills in the defaults when it uploads them, so the
    built template (and its content hash) does not depend on the bucket, region or account."""
    params = [
        Parameter(
            SEED_BUCKET,
            Type="String",
            Description="S3 bucket holding the seed-code zips (set by the catalog publisher).",
            MinLength=3,
            MaxLength=63,
            AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        )
    ]
    for seed in seeds:
        params.append(
            Parameter(
                seed_key_parameter_name(seed),
                Type="String",
                Description=f"S3 key of the {seed} seed-code zip (set by the catalog publisher).",
                MinLength=1,
                MaxLength=1024,
            )
        )
    return params


def seeded_repository(
    logical_id: str,
    name: Any,
    description: str,
    seed: str,
    tags: Tags,
    branch: str = "main",
    condition: str | None = None,
) -> codecommit.Repository:
    """A repository whose first commit, on `branch`, is the content of the seed zip; created only
    when `condition` holds (the CodeCommit choice of `generator/blocks/source.py`), if given."""
    repository = codecommit.Repository(
        logical_id,
        RepositoryName=name,
        RepositoryDescription=description,
        Code=codecommit.Code(
            BranchName=branch,
            S3=codecommit.S3(Bucket=Ref(SEED_BUCKET), Key=Ref(seed_key_parameter_name(seed))),
        ),
        Tags=tags,
    )
    if condition:
        repository.Condition = condition
    return repository

"""Reusable optional parameters: account ids, lists of accounts, optional names."""

from __future__ import annotations

from troposphere import Parameter

ACCOUNT_ID = r"^(\d{12})?$"


def account_id_parameter(name: str, description: str) -> Parameter:
    """An optional 12-digit account id ('' when not used)."""
    return Parameter(
        name,
        Type="String",
        Description=f"{description} Leave blank when not used.",
        Default="",
        AllowedPattern=ACCOUNT_ID,
        ConstraintDescription="a 12-digit account id or blank",
    )


def account_list_parameter(name: str, description: str) -> Parameter:
    """An optional comma-separated list of 12-digit account ids."""
    return Parameter(
        name,
        Type="CommaDelimitedList",
        Description=f"{description} Comma-separated 12-digit account ids; blank for none.",
        Default="",
        AllowedPattern=ACCOUNT_ID,
        ConstraintDescription="12-digit account ids",
    )


def optional_name_parameter(name: str, description: str, max_length: int) -> Parameter:
    """An optional SageMaker-style name (letters, digits, inner hyphens)."""
    return Parameter(
        name,
        Type="String",
        Description=f"{description} Leave blank when not used.",
        Default="",
        MaxLength=max_length,
        AllowedPattern=f"^([a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{max_length - 1}}})?$",
    )

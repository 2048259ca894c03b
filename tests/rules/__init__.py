"""Tests of the custom cfn-lint rules in generator/rules."""

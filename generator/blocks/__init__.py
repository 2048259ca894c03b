"""Small, named CloudFormation building blocks that any product can reuse.

Each block is a plain function: it takes what it needs (parameters, names, other resources)
and returns troposphere objects. It adds nothing to a template by itself, so a product's
module reads top-down as the resources it makes.
"""

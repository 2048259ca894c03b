"""smcat: build, lint and publish SageMaker project templates as Service Catalog products."""

__version__ = "0.1.0"

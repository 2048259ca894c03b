"""Model build pipelines of this SageMaker project.

Each sub-package (``pipelines.regression``) holds one pipeline: ``pipeline.py`` with a
``get_pipeline()`` function, plus the scripts its steps run.
"""

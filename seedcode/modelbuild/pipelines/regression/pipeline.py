"""SageMaker Pipeline definition: preprocess -> train -> evaluate -> (register | fail).

This module is what ``run-pipeline`` (CodeBuild) and ``get-pipeline-definition`` import.
Its contract is a single function, :func:`get_pipeline`, that returns a
``sagemaker.workflow.pipeline.Pipeline``. Change the steps here; keep the signature.

The workflow::

    PreprocessData (SKLearnProcessor, preprocess.py)
        |  train / validation / test CSV
    TrainModel (SKLearn estimator, train.py)
        |  model.tar.gz
    EvaluateModel (SKLearnProcessor, evaluate.py) -> evaluation.json (PropertyFile)
        |
    CheckMseEvaluation: regression_metrics.mse.value <= MseThreshold ?
        |-- yes: DiabetesModel-RegisterModel (model package in the model package group,
        |        with evaluation.json as model statistics, status = ModelApprovalStatus)
        '-- no:  MseThresholdExceeded (FailStep: the execution ends as Failed)

The model package group may be a plain name (a group in this account) or the ARN of a
group in another account, e.g. a central "hub" model registry::

    arn:aws:sagemaker:eu-west-1:222222222222:model-package-group/my-models

Cross-account registration needs a resource policy on that group allowing
``sagemaker:CreateModelPackage`` (and Describe/List/Update) for this account, and the
model artifacts (in ``default_bucket``) must be readable, and their KMS key usable, by the
accounts that deploy the model.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Optional

import boto3
from sagemaker.inputs import TrainingInput
from sagemaker.model_metrics import MetricsSource, ModelMetrics
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.estimator import SKLearn
from sagemaker.sklearn.model import SKLearnModel
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.workflow.utilities import hash_files_or_dirs

logger = logging.getLogger(__name__)

BASE_DIR = os.path.dirname(os.path.realpath(__file__))

# The SageMaker scikit-learn container used for processing, training and inference.
# Training and inference must use the same version: the model is pickled with joblib.
SKLEARN_FRAMEWORK_VERSION = "1.2-1"

# The bundled sample data set (scikit-learn's diabetes data, see scripts/make_sample_data.py).
SAMPLE_DATA_FILE = os.path.join(BASE_DIR, "sample_data", "diabetes.csv")
TARGET_COLUMN = "target"

# Regression on the diabetes data: predicting the training mean gives a test MSE of about
# 5,900; the ridge model gets about 2,900-3,300. 4,000 rejects models that learned little.
DEFAULT_MSE_THRESHOLD = 4000.0

_MODEL_PACKAGE_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package-group/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
)
_MODEL_PACKAGE_GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def validate_model_package_group(name_or_arn: str) -> str:
    """Return ``name_or_arn`` if it is a valid model package group name or ARN, else raise.

    A typo here would otherwise only show up when the pipeline reaches its last step.
    """
    if _MODEL_PACKAGE_GROUP_NAME.match(name_or_arn) or _MODEL_PACKAGE_GROUP_ARN.match(name_or_arn):
        return name_or_arn
    raise ValueError(
        f"Not a model package group name or ARN: {name_or_arn!r}. Expected a name of 1-63 "
        "characters [a-zA-Z0-9-] or arn:aws:sagemaker:<region>:<account>:model-package-group/<name>."
    )


def get_session(region: str, default_bucket: Optional[str]) -> PipelineSession:
    """Create a ``PipelineSession`` for ``region``.

    Under a ``PipelineSession`` the SDK does not start jobs: ``processor.run()``,
    ``estimator.fit()`` and ``model.register()`` only record the step arguments.
    """
    boto_session = boto3.Session(region_name=region)
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        default_bucket=default_bucket,
    )


def upload_sample_data(sagemaker_session: PipelineSession, base_job_prefix: str) -> str:
    """Upload the bundled sample CSV to the default bucket and return its S3 URI.

    It becomes the default of the ``InputDataUrl`` parameter, so that the pipeline runs out of
    the box. Point ``InputDataUrl`` (or the ``input_data_url`` argument) at your own data.
    """
    return sagemaker_session.upload_data(
        path=SAMPLE_DATA_FILE,
        bucket=sagemaker_session.default_bucket(),
        key_prefix=f"{base_job_prefix}/sample-data",
    )


def get_pipeline(
    region: str,
    role: Optional[str] = None,
    default_bucket: Optional[str] = None,
    model_package_group_name: str = "DiabetesModelPackageGroup",
    pipeline_name: str = "DiabetesPipeline",
    base_job_prefix: str = "diabetes",
    sagemaker_session: Optional[PipelineSession] = None,
    input_data_url: Optional[str] = None,
    processing_instance_type: str = "ml.m5.xlarge",
    training_instance_type: str = "ml.m5.xlarge",
    inference_instance_types: Optional[list] = None,
    transform_instance_types: Optional[list] = None,
    mse_threshold: float = DEFAULT_MSE_THRESHOLD,
    sagemaker_project_name: Optional[str] = None,
) -> Pipeline:
    """Build the model build pipeline.

    Args:
        region: AWS region of the pipeline and its jobs.
        role: IAM role ARN the jobs run as (in a SageMaker project:
            ``AmazonSageMakerServiceCatalogProductsUseRole`` or the project's pipeline role).
            Defaults to the caller's identity, which only works inside SageMaker Studio.
        default_bucket: bucket for code, data and model artifacts (the project's artifact
            bucket). Defaults to ``sagemaker-<region>-<account>``.
        model_package_group_name: model package group name, or the full ARN of a group in
            another account (cross-account registration into a central model registry).
        pipeline_name: name of the pipeline; also the S3 prefix of the uploaded code.
        base_job_prefix: prefix of the processing and training job names and of the S3 keys.
        sagemaker_session: a session to use; a new ``PipelineSession`` if not given.
        input_data_url: S3 URI of the input CSV (default of the ``InputDataUrl`` parameter).
            When not given, the bundled sample data is uploaded to the default bucket.
        processing_instance_type / training_instance_type: defaults of the parameters.
        inference_instance_types / transform_instance_types: instance types recorded in the
            model package for real-time and batch inference.
        mse_threshold: default of the ``MseThreshold`` parameter.
        sagemaker_project_name: accepted for compatibility with the AWS sample seed code; the
            project is linked through the pipeline's tags (see ``run_pipeline.py``).

    Returns:
        a ``Pipeline``; call ``.definition()`` for its JSON, ``.upsert()`` to create it.
    """
    del sagemaker_project_name  # tags on the pipeline link it to the project
    model_package_group_name = validate_model_package_group(model_package_group_name)
    if sagemaker_session is None:
        sagemaker_session = get_session(region, default_bucket)
    if role is None:
        from sagemaker import get_execution_role  # only works inside SageMaker

        role = get_execution_role(sagemaker_session)
    if input_data_url is None:
        input_data_url = upload_sample_data(sagemaker_session, base_job_prefix)
    inference_instance_types = inference_instance_types or ["ml.t2.medium", "ml.m5.large"]
    transform_instance_types = transform_instance_types or ["ml.m5.large"]

    # -- Parameters: can be overridden for each execution (pipeline.start(parameters={...})).
    processing_instance_type_param = ParameterString(
        name="ProcessingInstanceType", default_value=processing_instance_type
    )
    processing_instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    training_instance_type_param = ParameterString(
        name="TrainingInstanceType", default_value=training_instance_type
    )
    model_approval_status = ParameterString(
        name="ModelApprovalStatus", default_value="PendingManualApproval"
    )
    input_data = ParameterString(name="InputDataUrl", default_value=input_data_url)
    mse_threshold_param = ParameterFloat(name="MseThreshold", default_value=float(mse_threshold))

    # -- Step 1: split the raw CSV into train / validation / test.
    sklearn_processor = SKLearnProcessor(
        framework_version=SKLEARN_FRAMEWORK_VERSION,
        instance_type=processing_instance_type_param,
        instance_count=processing_instance_count,
        base_job_name=f"{base_job_prefix}-preprocess",
        sagemaker_session=sagemaker_session,
        role=role,
    )
    step_process = ProcessingStep(
        name="PreprocessData",
        step_args=sklearn_processor.run(
            inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input")],
            outputs=[
                ProcessingOutput(output_name="train", source="/opt/ml/processing/train"),
                ProcessingOutput(output_name="validation", source="/opt/ml/processing/validation"),
                ProcessingOutput(output_name="test", source="/opt/ml/processing/test"),
            ],
            code=os.path.join(BASE_DIR, "preprocess.py"),
            arguments=["--target-column", TARGET_COLUMN],
        ),
    )

    # -- Step 2: fit the model (script mode: train.py runs in the scikit-learn container).
    model_path = f"s3://{sagemaker_session.default_bucket()}/{base_job_prefix}/model"
    estimator = SKLearn(
        entry_point=os.path.join(BASE_DIR, "train.py"),
        framework_version=SKLEARN_FRAMEWORK_VERSION,
        py_version="py3",
        instance_type=training_instance_type_param,
        instance_count=1,
        output_path=model_path,
        base_job_name=f"{base_job_prefix}-train",
        sagemaker_session=sagemaker_session,
        role=role,
        hyperparameters={"alpha": 1.0, "target-column": TARGET_COLUMN},
        metric_definitions=[
            {"Name": "validation:mse", "Regex": r"validation:mse=([0-9.eE+-]+)"},
            {"Name": "validation:r2", "Regex": r"validation:r2=([0-9.eE+-]+)"},
        ],
    )
    outputs = step_process.properties.ProcessingOutputConfig.Outputs
    step_train = TrainingStep(
        name="TrainModel",
        step_args=estimator.fit(
            inputs={
                "train": TrainingInput(
                    s3_data=outputs["train"].S3Output.S3Uri, content_type="text/csv"
                ),
                "validation": TrainingInput(
                    s3_data=outputs["validation"].S3Output.S3Uri, content_type="text/csv"
                ),
            }
        ),
    )

    # -- Step 3: compute the test MSE; evaluation.json is a property file for the condition.
    evaluation_processor = SKLearnProcessor(
        framework_version=SKLEARN_FRAMEWORK_VERSION,
        instance_type=processing_instance_type_param,
        instance_count=1,
        base_job_name=f"{base_job_prefix}-evaluate",
        sagemaker_session=sagemaker_session,
        role=role,
    )
    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    step_eval = ProcessingStep(
        name="EvaluateModel",
        step_args=evaluation_processor.run(
            inputs=[
                ProcessingInput(
                    source=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/model",
                ),
                ProcessingInput(
                    source=outputs["test"].S3Output.S3Uri,
                    destination="/opt/ml/processing/test",
                ),
            ],
            outputs=[
                ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation")
            ],
            code=os.path.join(BASE_DIR, "evaluate.py"),
            arguments=["--target-column", TARGET_COLUMN],
        ),
        property_files=[evaluation_report],
    )

    # -- Step 4a: register the model package, with evaluation.json as its model statistics.
    evaluation_s3_uri = Join(
        on="/",
        values=[
            step_eval.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json",
        ],
    )
    model_metrics = ModelMetrics(
        model_statistics=MetricsSource(s3_uri=evaluation_s3_uri, content_type="application/json")
    )
    # The inference code is uploaded when the definition is built. Its S3 key holds a hash of
    # the code (as the SDK does for step code) so that each model package keeps pointing at
    # the code it was trained with; the SDK default would be a timestamped key.
    inference_code = os.path.join(BASE_DIR, "train.py")  # train.py also holds model_fn
    model = SKLearnModel(
        name="inference",
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        entry_point=inference_code,
        code_location=(
            f"s3://{sagemaker_session.default_bucket()}/{pipeline_name}/code/"
            f"{hash_files_or_dirs([inference_code])}"
        ),
        framework_version=SKLEARN_FRAMEWORK_VERSION,
        py_version="py3",
        sagemaker_session=sagemaker_session,
        role=role,
    )
    step_register = ModelStep(
        name="DiabetesModel",  # the SDK names the registration step "DiabetesModel-RegisterModel"
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=inference_instance_types,
            transform_instances=transform_instance_types,
            model_package_group_name=model_package_group_name,
            approval_status=model_approval_status,
            model_metrics=model_metrics,
        ),
    )

    # -- Step 4b: stop with a clear message when the model is not good enough.
    step_fail = FailStep(
        name="MseThresholdExceeded",
        error_message=Join(
            on=" ",
            values=[
                "Model not registered: test MSE",
                JsonGet(
                    step_name=step_eval.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.mse.value",
                ),
                "is above the threshold MseThreshold =",
                mse_threshold_param,
            ],
        ),
    )

    step_cond = ConditionStep(
        name="CheckMseEvaluation",
        conditions=[
            ConditionLessThanOrEqualTo(
                left=JsonGet(
                    step_name=step_eval.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.mse.value",
                ),
                right=mse_threshold_param,
            )
        ],
        if_steps=[step_register],
        else_steps=[step_fail],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[
            processing_instance_type_param,
            processing_instance_count,
            training_instance_type_param,
            model_approval_status,
            input_data,
            mse_threshold_param,
        ],
        steps=[step_process, step_train, step_eval, step_cond],
        sagemaker_session=sagemaker_session,
    )

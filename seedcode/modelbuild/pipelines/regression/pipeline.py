"""SageMaker Pipeline definition: preprocess -> train -> evaluate -> (register | fail).

This module is what ``run-pipeline`` (CodeBuild) and ``get-pipeline-definition`` import.
Its contract is a single function, :func:`get_pipeline`, that returns a
``sagemaker.mlops.workflow.pipeline.Pipeline`` (SageMaker Python SDK v3). Change the steps
here; keep the signature.

The workflow::

    PreprocessData (ScriptProcessor, preprocess.py)
        |  train / validation / test CSV
    TrainModel (ModelTrainer, train.py in the scikit-learn container's script mode)
        |  model.tar.gz: model.joblib + code/train.py (the inference code)
    EvaluateModel (ScriptProcessor, evaluate.py) -> evaluation.json, model-card.json
        |
    CheckMseEvaluation: regression_metrics.mse.value <= MseThreshold ?
        |-- yes: RegisterModel (model package in the model package group: evaluation.json as
        |        model statistics, status = ModelApprovalStatus, a model card (PendingReview)
        |        and a lifecycle stage = ModelLifeCycleStage / ModelLifeCycleStageStatus)
        '-- no:  MseThresholdExceeded (FailStep: the execution ends as Failed)

The model package group may be a plain name (a group in this account) or the ARN of a
group in another account, e.g. a central "hub" model registry::

    arn:aws:sagemaker:eu-west-1:222222222222:model-package-group/my-models

Cross-account registration needs a resource policy on that group allowing
``sagemaker:CreateModelPackage`` (and Describe/List) for this account, and the model
artifacts (in ``default_bucket``) must be readable, and their KMS key usable, by the accounts
that deploy the model.

Encryption: ``kms_key`` (CodeBuild: ``ARTIFACT_KEY_ARN``) is the customer managed KMS key of
``default_bucket``. Every object the pipeline and the SDK write (code, sample data, job
outputs, the model) is encrypted with it. Without it the SDK and SageMaker fall back to the
account's AWS managed ``aws/s3`` key, which no other account can use: the hub registry and
the deployment accounts could then not read the model.

The inference code is inside ``model.tar.gz`` (``train.py`` copies itself to ``code/`` of the
model directory), because the endpoint runs the model with network isolation, which stops the
container from reading S3 at start-up.

Importing this module needs an AWS region (some SDK v3 modules create a boto3 client when
they are imported); ``run-pipeline`` and ``get-pipeline-definition`` provide it from
``--kwargs``.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import re
import tarfile
import tempfile
from typing import Optional

import boto3
from sagemaker.core import image_uris
from sagemaker.core.model_life_cycle import ModelLifeCycle
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    MetricDefinition,
    ModelPackageModelCard,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.core.workflow.utilities import hash_files_or_dirs
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

logger = logging.getLogger(__name__)

BASE_DIR = os.path.dirname(os.path.realpath(__file__))

# The SageMaker scikit-learn container used for processing, training and inference.
# Training and inference must use the same version: the model is pickled with joblib.
SKLEARN_FRAMEWORK_VERSION = "1.2-1"

# The bundled sample data set (scikit-learn's diabetes data, see scripts/make_sample_data.py).
SAMPLE_DATA_FILE = os.path.join(BASE_DIR, "sample_data", "diabetes.csv")
TARGET_COLUMN = "target"

# train.py trains the model and is also its inference entry point (model_fn); it copies itself
# to code/ inside the model, where the container finds it under network isolation.
TRAINING_SCRIPT = "train.py"
MODEL_CODE_DIR = "/opt/ml/model/code"

# Regression on the diabetes data: predicting the training mean gives a test MSE of about
# 5,900; the ridge model gets about 2,900-3,300. 4,000 rejects models that learned little.
DEFAULT_MSE_THRESHOLD = 4000.0

# The model card (ModelPackageModelCard): its status until someone reviews it; the approver
# sets it to Approved with UpdateModelPackage (botocore sagemaker ModelCardStatus: Draft |
# PendingReview | Approved | Archived).
MODEL_CARD_STATUS = "PendingReview"
DEFAULT_INTENDED_USE = (
    "Example regression: predicts disease progression one year after baseline from ten baseline "
    "measurements (scikit-learn diabetes data). A template to replace, not for clinical use."
)
# Model card intended_uses.risk_rating (sagemaker.core.shapes.model_card_shapes.RiskRating).
RISK_RATINGS = ("High", "Medium", "Low", "Unknown")
# The lifecycle stage registered versions start at. AWS's example policy for a data scientist
# role creates model packages with stage "Development" and status "Approved" (SageMaker developer
# guide, "Set up Staging Construct Examples"); Stage and StageStatus are EntityNames (botocore
# sagemaker ModelLifeCycle: 1-63 characters, [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}).
DEFAULT_LIFECYCLE_STAGE = "Development"
DEFAULT_LIFECYCLE_STAGE_STATUS = "Approved"
# Processing job ContainerArguments are at most 256 characters each (botocore sagemaker
# ContainerArgument); the intended use reaches evaluate.py as one.
MAX_CONTAINER_ARGUMENT = 256

_MODEL_PACKAGE_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package-group/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
)
_ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def validate_model_package_group(name_or_arn: str) -> str:
    """Return ``name_or_arn`` if it is a valid model package group name or ARN, else raise.

    A typo here would otherwise only show up when the pipeline reaches its last step.
    """
    if _ENTITY_NAME.match(name_or_arn) or _MODEL_PACKAGE_GROUP_ARN.match(name_or_arn):
        return name_or_arn
    raise ValueError(
        f"Not a model package group name or ARN: {name_or_arn!r}. Expected a name of 1-63 "
        "characters [a-zA-Z0-9-] or arn:aws:sagemaker:<region>:<account>:model-package-group/<name>."
    )


def validate_registration_defaults(stage: str, stage_status: str, risk_rating: str, intended_use: str) -> None:
    """Reject default values that CreateModelPackage or evaluate.py would only reject at the end of a run."""
    for what, value in (("model_lifecycle_stage", stage), ("model_lifecycle_stage_status", stage_status)):
        if not _ENTITY_NAME.match(value):
            raise ValueError(f"{what} {value!r} is not 1-63 characters [a-zA-Z0-9-] (ModelLifeCycle EntityName)")
    if risk_rating not in RISK_RATINGS:
        raise ValueError(f"risk_rating {risk_rating!r} is not one of {', '.join(RISK_RATINGS)}")
    if not 0 < len(intended_use) <= MAX_CONTAINER_ARGUMENT:
        raise ValueError(f"intended_use must be 1-{MAX_CONTAINER_ARGUMENT} characters, got {len(intended_use)}")


def get_session(region: str, default_bucket: Optional[str]) -> PipelineSession:
    """Create a ``PipelineSession`` for ``region``.

    Under a ``PipelineSession`` the SDK does not start jobs: ``processor.run()``,
    ``trainer.train()`` and ``model_builder.register()`` only record the step arguments.
    """
    boto_session = boto3.Session(region_name=region)
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        default_bucket=default_bucket,
    )


def sse_kms_args(kms_key: Optional[str]) -> Optional[dict]:
    """S3 upload arguments that encrypt with ``kms_key`` (``None``: the bucket's default).

    Name the key: ``ServerSideEncryption: aws:kms`` alone means the AWS managed ``aws/s3`` key,
    not the bucket's default key (S3 API reference, PutObject
    x-amz-server-side-encryption-aws-kms-key-id: when absent with aws:kms, S3 uses aws/s3).
    """
    if not kms_key:
        return None
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}


def upload_sample_data(
    sagemaker_session: PipelineSession, base_job_prefix: str, kms_key: Optional[str] = None
) -> str:
    """Upload the bundled sample CSV to the default bucket and return its S3 URI.

    It becomes the default of the ``InputDataUrl`` parameter, so that the pipeline runs out of
    the box. Point ``InputDataUrl`` (or the ``input_data_url`` argument) at your own data.
    """
    # sagemaker/core/helper/session_helper.py Session.upload_data: extra_args go to S3
    # upload_file as ExtraArgs (it only adds ExpectedBucketOwner for the SDK's own bucket).
    return sagemaker_session.upload_data(
        path=SAMPLE_DATA_FILE,
        bucket=sagemaker_session.default_bucket(),
        key_prefix=f"{base_job_prefix}/sample-data",
        extra_args=sse_kms_args(kms_key),
    )


def source_archive(script: str) -> bytes:
    """``sourcedir.tar.gz`` holding ``script``, the same bytes for the same file."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(os.path.basename(script))
        with open(script, "rb") as f:
            data = f.read()
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def upload_training_code(
    sagemaker_session: PipelineSession, pipeline_name: str, script: str, kms_key: Optional[str]
) -> str:
    """Upload the training script as ``sourcedir.tar.gz`` under a key named by its content.

    ``<pipeline>/code/<sha256 of the script>/sourcedir.tar.gz``, next to the processing scripts
    the SDK uploads the same way (sagemaker/core/processing.py ScriptProcessor._upload_code with
    the step's code hash), so an unchanged script keeps its object and the definition its bytes.
    """
    code_hash = hash_files_or_dirs([script])
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "sourcedir.tar.gz")
        with open(archive, "wb") as f:
            f.write(source_archive(script))
        return sagemaker_session.upload_data(
            path=archive,
            bucket=sagemaker_session.default_bucket(),
            key_prefix=f"{pipeline_name}/code/{code_hash}",
            extra_args=sse_kms_args(kms_key),
        )


def sklearn_image(region: str, scope: str) -> str:
    return image_uris.retrieve(
        framework="sklearn",
        region=region,
        version=SKLEARN_FRAMEWORK_VERSION,
        py_version="py3",
        image_scope=scope,
        instance_type="ml.m5.large",  # scikit-learn has CPU images only; the type picks none
    )


def step_output(bucket: str, pipeline_name: str, step: str, name: str, local_path: str) -> ProcessingOutput:
    """A processing output under ``s3://<bucket>/<pipeline>/<execution id>/<step>/output/<name>``.

    One prefix per execution, so that executions never overwrite each other's data.
    """
    uri = Join(on="/", values=["s3:/", bucket, pipeline_name, ExecutionVariables.PIPELINE_EXECUTION_ID,
                               step, "output", name])
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(s3_uri=uri, local_path=local_path, s3_upload_mode="EndOfJob"),
    )


def step_input(name: str, s3_uri, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(s3_uri=s3_uri, local_path=local_path, s3_data_type="S3Prefix",
                                   s3_input_mode="File"),
    )


def script_mode_hyperparameters(code_uri: str, region: str) -> dict:
    """What the scikit-learn container's training toolkit reads to run our script.

    sagemaker-training-toolkit (the container's entry point) downloads ``sagemaker_submit_directory``
    and runs ``sagemaker_program`` with the other hyperparameters as arguments; values are
    JSON-decoded when they parse (src/sagemaker_training/environment.py read_hyperparameters).
    """
    return {
        "sagemaker_program": json.dumps(TRAINING_SCRIPT),
        "sagemaker_submit_directory": json.dumps(code_uri),
        "sagemaker_region": json.dumps(region),
    }


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
    kms_key: Optional[str] = None,
    intended_use: str = DEFAULT_INTENDED_USE,
    risk_rating: str = "Unknown",
    model_lifecycle_stage: str = DEFAULT_LIFECYCLE_STAGE,
    model_lifecycle_stage_status: str = DEFAULT_LIFECYCLE_STAGE_STATUS,
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
        kms_key: ARN of the KMS key of ``default_bucket`` (CodeBuild: ``ARTIFACT_KEY_ARN``, the
            project's key). Every upload and job output is encrypted with it. If you point
            ``default_bucket`` at another bucket (e.g. a registry spoke's), pass that bucket's
            key. Without it objects use the account's ``aws/s3`` key, which other accounts
            cannot use (a warning is logged): fine for local trials only.
        intended_use / risk_rating: defaults of ``ModelIntendedUse`` / ``ModelRiskRating``,
            written into the model card.
        model_lifecycle_stage / model_lifecycle_stage_status: defaults of
            ``ModelLifeCycleStage`` / ``ModelLifeCycleStageStatus``, the lifecycle stage a
            registered version starts at.

    Returns:
        a ``Pipeline``; call ``.definition()`` for its JSON, ``.upsert()`` to create it.
    """
    del sagemaker_project_name  # tags on the pipeline link it to the project
    model_package_group_name = validate_model_package_group(model_package_group_name)
    validate_registration_defaults(model_lifecycle_stage, model_lifecycle_stage_status, risk_rating, intended_use)
    kms_key = kms_key or None
    if kms_key is None:
        logger.warning(
            "No kms_key given: code, data and models will be encrypted with the account's AWS "
            "managed aws/s3 key, which other accounts (model registry hub, deployment accounts) "
            "cannot use. Pass the KMS key of the default bucket (ARTIFACT_KEY_ARN in CodeBuild)."
        )
    if sagemaker_session is None:
        sagemaker_session = get_session(region, default_bucket)
    if role is None:
        from sagemaker.core.helper.session_helper import get_execution_role  # only inside SageMaker

        role = get_execution_role(sagemaker_session)
    bucket = sagemaker_session.default_bucket()
    if input_data_url is None:
        input_data_url = upload_sample_data(sagemaker_session, base_job_prefix, kms_key)
    inference_instance_types = inference_instance_types or ["ml.t2.medium", "ml.m5.large"]
    transform_instance_types = transform_instance_types or ["ml.m5.large"]
    training_image = sklearn_image(region, "training")
    inference_image = sklearn_image(region, "inference")

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
    intended_use_param = ParameterString(name="ModelIntendedUse", default_value=intended_use)
    risk_rating_param = ParameterString(name="ModelRiskRating", default_value=risk_rating)
    stage_param = ParameterString(name="ModelLifeCycleStage", default_value=model_lifecycle_stage)
    stage_status_param = ParameterString(
        name="ModelLifeCycleStageStatus", default_value=model_lifecycle_stage_status
    )

    # -- Encryption of what the jobs write (SageMaker API reference, botocore
    # data/sagemaker/2017-07-24/service-2.json): OutputDataConfig.KmsKeyId "If you don't provide
    # a KMS key ID, SageMaker uses the default KMS key for Amazon S3 for your role's account"
    # (aws/s3); ProcessingOutputConfig.KmsKeyId is "applied to all outputs" of a processing job.
    # sagemaker/core/processing.py: Processor(output_kms_key=) -> ProcessingOutputConfig.KmsKeyId;
    # ScriptProcessor.run(kms_key=) -> the code upload (s3.S3Uploader.upload: SSE-KMS with that
    # key id). ModelTrainer(output_data_config=OutputDataConfig(kms_key_id=)) ->
    # OutputDataConfig.KmsKeyId (model.tar.gz).

    # -- Step 1: split the raw CSV into train / validation / test.
    preprocessor = ScriptProcessor(
        image_uri=training_image,
        command=["python3"],
        instance_type=processing_instance_type_param,
        instance_count=processing_instance_count,
        base_job_name=f"{base_job_prefix}-preprocess",
        sagemaker_session=sagemaker_session,
        role=role,
        output_kms_key=kms_key,
    )
    step_process = ProcessingStep(
        name="PreprocessData",
        step_args=preprocessor.run(
            inputs=[step_input("input-1", input_data, "/opt/ml/processing/input")],
            outputs=[
                step_output(bucket, pipeline_name, "PreprocessData", name, f"/opt/ml/processing/{name}")
                for name in ("train", "validation", "test")
            ],
            code=os.path.join(BASE_DIR, "preprocess.py"),
            arguments=["--target-column", TARGET_COLUMN],
            kms_key=kms_key,
        ),
    )
    outputs = step_process.properties.ProcessingOutputConfig.Outputs

    # -- Step 2: fit the model. ModelTrainer runs the scikit-learn container's own script mode
    # (see the README, "SageMaker Python SDK v3"): our code archive, not the SDK's SourceCode
    # staging, whose upload key changes on every build and which queries IAM from the build role.
    trainer = ModelTrainer(
        training_image=training_image,
        compute=Compute(instance_type=training_instance_type_param, instance_count=1),
        base_job_name=f"{base_job_prefix}-train",
        sagemaker_session=sagemaker_session,
        role=role,
        hyperparameters={
            "alpha": 1.0,
            "target-column": TARGET_COLUMN,
            **script_mode_hyperparameters(
                upload_training_code(sagemaker_session, pipeline_name, os.path.join(BASE_DIR, TRAINING_SCRIPT),
                                     kms_key),
                region,
            ),
        },
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{bucket}/{base_job_prefix}/model", kms_key_id=kms_key
        ),
        input_data_config=[
            InputData(channel_name=name, data_source=outputs[name].S3Output.S3Uri, content_type="text/csv")
            for name in ("train", "validation")
        ],
    ).with_metric_definitions([
        MetricDefinition(name="validation:mse", regex=r"validation:mse=([0-9.eE+-]+)"),
        MetricDefinition(name="validation:r2", regex=r"validation:r2=([0-9.eE+-]+)"),
    ])
    step_train = TrainingStep(name="TrainModel", step_args=trainer.train())
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts

    # -- Step 3: compute the test metrics (evaluation.json, a property file for the condition)
    # and the model card content (model-card.json), with the data locations and intended use.
    evaluator = ScriptProcessor(
        image_uri=training_image,
        command=["python3"],
        instance_type=processing_instance_type_param,
        instance_count=1,
        base_job_name=f"{base_job_prefix}-evaluate",
        sagemaker_session=sagemaker_session,
        role=role,
        output_kms_key=kms_key,
    )
    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    model_card_file = PropertyFile(name="ModelCard", output_name="evaluation", path="model-card.json")
    step_eval = ProcessingStep(
        name="EvaluateModel",
        step_args=evaluator.run(
            inputs=[
                step_input("model", model_data, "/opt/ml/processing/model"),
                step_input("test", outputs["test"].S3Output.S3Uri, "/opt/ml/processing/test"),
            ],
            outputs=[
                step_output(bucket, pipeline_name, "EvaluateModel", "evaluation", "/opt/ml/processing/evaluation")
            ],
            code=os.path.join(BASE_DIR, "evaluate.py"),
            arguments=[
                "--target-column", TARGET_COLUMN,
                "--intended-use", intended_use_param,
                "--risk-rating", risk_rating_param,
                "--training-data", input_data,
                "--training-data", outputs["train"].S3Output.S3Uri,
                "--test-data", outputs["test"].S3Output.S3Uri,
            ],
            kms_key=kms_key,
        ),
        property_files=[evaluation_report, model_card_file],
    )
    test_mse = JsonGet(
        step_name=step_eval.name, property_file=evaluation_report, json_path="regression_metrics.mse.value"
    )

    # -- Step 4a: register the model package: evaluation.json as its model statistics, the model
    # card, and the lifecycle stage it starts at (CreateModelPackage ModelCard / ModelLifeCycle).
    evaluation_s3_uri = Join(
        on="/",
        values=[
            step_eval.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json",
        ],
    )
    # The inference code is inside the model (train.py copies itself to code/): the endpoint runs
    # the model with network isolation, and an isolated container cannot read S3 at start-up
    # (SageMaker API reference, CreateModel EnableNetworkIsolation: "No inbound or outbound network
    # calls can be made to or from the model container"), so SAGEMAKER_SUBMIT_DIRECTORY is the
    # code directory of the extracted model, never an s3:// URI. No repack job is needed.
    model = ModelBuilder(
        s3_model_data_url=model_data,
        image_uri=inference_image,
        role_arn=role,
        sagemaker_session=sagemaker_session,
        env_vars={"SAGEMAKER_PROGRAM": TRAINING_SCRIPT, "SAGEMAKER_SUBMIT_DIRECTORY": MODEL_CODE_DIR},
        log_level=logging.WARNING,
    )
    step_register = ModelStep(
        name="RegisterModel",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=inference_instance_types,
            transform_instances=transform_instance_types,
            model_package_group_name=model_package_group_name,
            approval_status=model_approval_status,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(s3_uri=evaluation_s3_uri, content_type="application/json")
            ),
            # The card's JSON is written by evaluate.py (which escapes the parameters' text);
            # JsonGet hands it over as the string CreateModelPackage takes.
            model_card=ModelPackageModelCard(
                model_card_content=JsonGet(step_name=step_eval.name, property_file=model_card_file,
                                           json_path="content"),
                model_card_status=MODEL_CARD_STATUS,
            ),
            model_life_cycle=ModelLifeCycle(
                stage=stage_param,
                stage_status=stage_status_param,
                stage_description=Join(
                    on=" ", values=["Registered by pipeline", pipeline_name, "execution",
                                    ExecutionVariables.PIPELINE_EXECUTION_ID]
                ),
            ),
        ),
    )

    # -- Step 4b: stop with a clear message when the model is not good enough.
    step_fail = FailStep(
        name="MseThresholdExceeded",
        error_message=Join(
            on=" ",
            values=[
                "Model not registered: test MSE",
                test_mse,
                "is above the threshold MseThreshold =",
                mse_threshold_param,
            ],
        ),
    )

    step_cond = ConditionStep(
        name="CheckMseEvaluation",
        conditions=[ConditionLessThanOrEqualTo(left=test_mse, right=mse_threshold_param)],
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
            intended_use_param,
            risk_rating_param,
            stage_param,
            stage_status_param,
        ],
        steps=[step_process, step_train, step_eval, step_cond],
        sagemaker_session=sagemaker_session,
    )

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

Encryption: ``kms_key`` (CodeBuild: ``ARTIFACT_KEY_ARN``) is the customer managed KMS key of
``default_bucket``. Every object the pipeline and the SDK write (code, sample data, job
outputs, the model) is encrypted with it. Without it the SDK and SageMaker fall back to the
account's AWS managed ``aws/s3`` key, which no other account can use: the hub registry and
the deployment accounts could then not read the model.

The model is registered with its inference code inside ``model.tar.gz`` (a repack step,
``DiabetesModel-RepackModel-inference``, adds ``train.py`` under ``code/``), because the
endpoint runs the model with network isolation, which stops the container from reading S3
at start-up.
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


def sse_kms_args(kms_key: Optional[str]) -> Optional[dict]:
    """S3 upload arguments that encrypt with ``kms_key`` (``None``: the bucket's default).

    Name the key: ``ServerSideEncryption: aws:kms`` alone means the AWS managed ``aws/s3`` key,
    not the bucket's default key (sagemaker/fw_utils.py tar_and_upload_dir: with no kms_key it
    sends SSE aws:kms without a key id, commented "the default AWS managed KMS key for S3").
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
    # sagemaker/session.py Session.upload_data: extra_args go to S3 upload_file as ExtraArgs
    # unchanged (it only adds ExpectedBucketOwner); without them the object gets no SSE header.
    return sagemaker_session.upload_data(
        path=SAMPLE_DATA_FILE,
        bucket=sagemaker_session.default_bucket(),
        key_prefix=f"{base_job_prefix}/sample-data",
        extra_args=sse_kms_args(kms_key),
    )


def _name_repack_job(step: ModelStep, inference_code: str) -> None:
    """Give the repack job's code an S3 key derived from the code, not from the clock.

    sagemaker/workflow/model_step.py ModelStep._append_repack_model_step builds the repack
    step with an estimator, not step_args, so the SDK has no code hash for it
    (sagemaker/workflow/utilities.py get_code_hash) and Framework._assign_s3_prefix names the
    code ``<job name>/source`` with a timestamped job name: a new object on every build and a
    definition that changes every time. Here the name is a hash of the code
    (sagemaker/workflow/utilities.py hash_files_or_dirs, as the SDK does for the other steps'
    code). The job name itself is dropped from the definition (the pipeline names each
    execution's job), so fixing it only fixes the code key.
    """
    import sagemaker.workflow._utils as repack_utils

    repack_script = os.path.join(os.path.dirname(repack_utils.__file__), repack_utils.REPACK_SCRIPT)
    repack_steps = [s for s in step.steps if isinstance(s, repack_utils._RepackModelStep)]
    if len(repack_steps) != 1:  # the SDK changed: the model would not carry its code
        raise RuntimeError(f"expected one repack step in {step.name}, found {len(repack_steps)}")
    repack_steps[0].job_name = f"repack-{hash_files_or_dirs([inference_code, repack_script])}"


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
            project's key). Every upload, job output and the repacked model is encrypted with
            it. If you point ``default_bucket`` at another bucket (e.g. a registry spoke's),
            pass that bucket's key. Without it objects use the account's ``aws/s3`` key,
            which other accounts cannot use (a warning is logged): fine for local trials only.

    Returns:
        a ``Pipeline``; call ``.definition()`` for its JSON, ``.upsert()`` to create it.
    """
    del sagemaker_project_name  # tags on the pipeline link it to the project
    model_package_group_name = validate_model_package_group(model_package_group_name)
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
        from sagemaker import get_execution_role  # only works inside SageMaker

        role = get_execution_role(sagemaker_session)
    if input_data_url is None:
        input_data_url = upload_sample_data(sagemaker_session, base_job_prefix, kms_key)
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

    # -- Encryption of what the jobs write (SageMaker API reference, botocore
    # data/sagemaker/2017-07-24/service-2.json): OutputDataConfig.KmsKeyId "If you don't provide
    # a KMS key ID, SageMaker uses the default KMS key for Amazon S3 for your role's account"
    # (aws/s3); ProcessingOutputConfig.KmsKeyId is "applied to all outputs" of a processing job.
    # sagemaker/processing.py Processor.__init__/_ProcessingJob.start_new: output_kms_key ->
    # ProcessingOutputConfig.KmsKeyId; Processor.run(kms_key=...) -> the code upload
    # (ScriptProcessor._upload_code -> s3.S3Uploader.upload: SSE-KMS with that key id, else no
    # SSE header at all).

    # -- Step 1: split the raw CSV into train / validation / test.
    sklearn_processor = SKLearnProcessor(
        framework_version=SKLEARN_FRAMEWORK_VERSION,
        instance_type=processing_instance_type_param,
        instance_count=processing_instance_count,
        base_job_name=f"{base_job_prefix}-preprocess",
        sagemaker_session=sagemaker_session,
        role=role,
        output_kms_key=kms_key,
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
            kms_key=kms_key,
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
        # sagemaker/estimator.py _TrainingJob._get_train_args / Session.train: output_kms_key ->
        # OutputDataConfig.KmsKeyId (model.tar.gz); Framework._stage_user_code_in_s3: with no
        # code_location it is also the key of sourcedir.tar.gz (fw_utils.tar_and_upload_dir:
        # no kms_key -> SSE aws:kms without a key id, i.e. aws/s3).
        output_kms_key=kms_key,
        base_job_name=f"{base_job_prefix}-train",
        sagemaker_session=sagemaker_session,
        role=role,
        # Debugger and the profiler write tensors and metrics to S3; DebugHookConfig and
        # ProfilerConfig have no KMS key field (botocore sagemaker service-2.json), and this
        # model does not use them: switch them off (sagemaker/estimator.py
        # EstimatorBase.__init__ debugger_hook_config / disable_profiler).
        debugger_hook_config=False,
        disable_profiler=True,
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
        output_kms_key=kms_key,
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
            kms_key=kms_key,
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
    # The inference code goes inside the model: the endpoint runs the model with network
    # isolation, and an isolated container cannot read S3 at start-up (SageMaker API reference,
    # CreateModel EnableNetworkIsolation: "no inbound or outbound network calls ... including
    # ... Amazon S3"), so SAGEMAKER_SUBMIT_DIRECTORY must not be an s3:// URI.
    # sagemaker/sklearn/model.py SKLearnModel.prepare_container_def: with network isolation it
    # calls Model._upload_code(repack=True) and uses repacked_model_data as ModelDataUrl;
    # sagemaker/model.py Model._upload_code: for a pipeline-variable model_data it defers the
    # repack to a _RepackModelStep (sagemaker/workflow/model_step.py ModelStep: its
    # output_kms_key is model_kms_key) writing under code_location, and
    # Model._script_mode_env_vars sets SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code.
    inference_code = os.path.join(BASE_DIR, "train.py")  # train.py also holds model_fn
    model = SKLearnModel(
        name="inference",
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        entry_point=inference_code,
        # Prefix of the repacked model (model.tar.gz with code/train.py in it).
        code_location=f"s3://{sagemaker_session.default_bucket()}/{base_job_prefix}/repacked-model",
        framework_version=SKLEARN_FRAMEWORK_VERSION,
        py_version="py3",
        sagemaker_session=sagemaker_session,
        role=role,
        enable_network_isolation=True,
        # The repack job's OutputDataConfig.KmsKeyId and the key of its code upload
        # (sagemaker/model.py Model.__init__: "KMS key ARN used to encrypt the repacked model").
        model_kms_key=kms_key,
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
        # The repack job's code (train.py and the SDK's repack script) goes next to the other
        # steps' code, in the same bucket, so it is encrypted with kms_key: sagemaker/estimator.py
        # Framework._stage_user_code_in_s3 uses output_kms_key for a code_location in the
        # output bucket.
        repack_model_step_settings={
            "code_location": f"s3://{sagemaker_session.default_bucket()}/{pipeline_name}/code",
            "debugger_hook_config": False,  # see the estimator above
        },
    )
    _name_repack_job(step_register, inference_code)

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

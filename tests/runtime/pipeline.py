"""A SageMaker Pipeline definition, run on paper: which role reads and writes which S3 objects,
with which KMS key, and the model package the register step creates.

Expressions are evaluated as the service would for one execution: `Parameters.*` take their
defaults, `Execution.PipelineExecutionId` is a stand-in, `Std:Join` joins, and step properties
resolve to what the step wrote: `ProcessingOutputConfig.Outputs['x'].S3Output.S3Uri` to the output's
URI, `ModelArtifacts.S3ModelArtifacts` to `<S3OutputPath>/<job name>/output/model.tar.gz` (SageMaker
developer guide, "Use your own training algorithms": SageMaker writes /opt/ml/model as
model.tar.gz under the job's output path). Any other expression raises: never a silent pass.

Steps run in order; each job reads its inputs (as its RoleArn, through SageMaker: s3:GetObject and
kms:Decrypt via S3) and writes its outputs (s3:PutObject and kms:GenerateDataKey on the output's
KmsKeyId, or the aws/s3 key of the role's account when there is none; see `objects.py`). The
register step is run by the pipeline's own role (CreatePipeline RoleArn): sagemaker:CreateModelPackage
on the group, and iam:PassRole of every job role to SageMaker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.hub.access import Need, Principal, need
from tests.runtime.calls import _model_package_context, group_arn, versions_arn
from tests.runtime.objects import ObjectStore

EXECUTION_ID = "execution-0001"
_OUTPUT = re.compile(r"^Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$")
_MODEL = re.compile(r"^Steps\.([^.]+)\.ModelArtifacts\.S3ModelArtifacts$")


@dataclass
class ModelPackage:
    group: str
    approval_status: str | None
    containers: list[dict[str, Any]]  # resolved: ModelDataUrl, Environment, Image


@dataclass
class Run:
    needs: list[Need] = field(default_factory=list)
    packages: list[ModelPackage] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # inputs nothing recorded wrote


class Evaluator:
    def __init__(self, definition: dict[str, Any], store: ObjectStore, pipeline_role: Principal,
                 principal_for: Any):
        self.definition = definition
        self.store = store
        self.pipeline_role = pipeline_role
        self.principal_for = principal_for  # role ARN -> Principal
        self.parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
        self.outputs: dict[tuple[str, str], str] = {}
        self.models: dict[str, str] = {}
        self.run = Run()

    # --- expressions ----------------------------------------------------------------------------
    def value(self, expression: Any) -> Any:
        if isinstance(expression, list):
            return [self.value(e) for e in expression]
        if not isinstance(expression, dict):
            return expression
        if set(expression) == {"Get"}:
            return self.get(expression["Get"])
        if set(expression) == {"Std:Join"}:
            join = expression["Std:Join"]
            return join["On"].join(str(self.value(v)) for v in join["Values"])
        return {k: self.value(v) for k, v in expression.items()}

    def get(self, path: str) -> Any:
        if path.startswith("Parameters."):
            return self.parameters[path.split(".", 1)[1]]
        if path == "Execution.PipelineExecutionId":
            return EXECUTION_ID
        if path == "Execution.PipelineName":
            return "pipeline"
        if match := _OUTPUT.match(path):
            return self.outputs[(match[1], match[2])]
        if match := _MODEL.match(path):
            return self.models[match[1]]
        raise ValueError(f"pipeline expression {path!r} is not modelled")

    # --- steps ----------------------------------------------------------------------------------
    def evaluate(self) -> Run:
        self.steps(self.definition["Steps"])
        return self.run

    def steps(self, steps: list[dict[str, Any]]) -> None:
        for step in steps:
            kind, args = step["Type"], step.get("Arguments", {})
            if kind == "Processing":
                self.processing(step["Name"], args)
            elif kind == "Training":
                self.training(step["Name"], args)
            elif kind == "Condition":
                self.steps(args.get("IfSteps", []))  # the branch that registers the model
            elif kind == "RegisterModel":
                self.register(step["Name"], args)
            elif kind == "Fail":
                continue
            else:
                raise ValueError(f"pipeline step type {kind} ({step['Name']}) is not modelled")

    def _role(self, args: dict[str, Any], step: str) -> Principal:
        role_arn = self.value(args["RoleArn"])
        self.run.needs.append(need(self.pipeline_role, "iam:PassRole", role_arn, f"pipeline starts {step}",
                                   **{"iam:PassedToService": "sagemaker.amazonaws.com"}))
        return self.principal_for(role_arn)

    def read(self, role: Principal, uri: str, why: str) -> None:
        found = self.store.under(uri)
        if not found:
            self.run.unread.append(f"{uri} ({why})")
            return
        for stored in found:
            self.run.needs += self.store.read_needs(role, stored.bucket, stored.key, why)

    def processing(self, name: str, args: dict[str, Any]) -> None:
        role = self._role(args, name)
        for item in args.get("ProcessingInputs", []):
            if "S3Input" in item:
                self.read(role, self.value(item["S3Input"]["S3Uri"]), f"{name} input {item.get('InputName')}")
        config = args.get("ProcessingOutputConfig", {})
        key_id = self.value(config.get("KmsKeyId"))
        for output in config.get("Outputs", []):
            uri = self.value(output["S3Output"]["S3Uri"])
            self.outputs[(name, output["OutputName"])] = uri
            self.run.needs += self.store.write_needs(
                role, uri.rstrip("/") + "/" + output["OutputName"] + ".out", key_id,
                f"{name} output {output['OutputName']}",
            )

    def training(self, name: str, args: dict[str, Any]) -> None:
        role = self._role(args, name)
        for channel in args.get("InputDataConfig", []):
            source = channel["DataSource"].get("S3DataSource")
            if source:
                self.read(role, self.value(source["S3Uri"]), f"{name} channel {channel['ChannelName']}")
        for key, raw in (args.get("HyperParameters") or {}).items():
            value = self.value(raw)
            text = json.loads(value) if isinstance(value, str) and value.startswith('"') else value
            if isinstance(text, str) and text.startswith("s3://"):
                self.read(role, text, f"{name} hyperparameter {key}")
        output = args["OutputDataConfig"]
        job = f"pipelines-{EXECUTION_ID}-{name}"
        uri = f"{self.value(output['S3OutputPath']).rstrip('/')}/{job}/output/model.tar.gz"
        self.models[name] = uri
        self.run.needs += self.store.write_needs(role, uri, self.value(output.get("KmsKeyId")), f"{name} model")

    def register(self, name: str, args: dict[str, Any]) -> None:
        group = self.value(args["ModelPackageGroupName"])
        status = self.value(args.get("ModelApprovalStatus"))
        arn = group_arn(group, self.pipeline_role.account)
        # the request's condition keys: approval status, and the lifecycle stage it registers at
        context = _model_package_context({k: self.value(args[k]) for k in ("ModelApprovalStatus", "ModelLifeCycle")
                                          if args.get(k) is not None})
        self.run.needs.append(need(self.pipeline_role, "sagemaker:CreateModelPackage",
                                   versions_arn(arn).replace("/*", "/1"), name, **context))
        containers = [self.value(c) for c in args["InferenceSpecification"]["Containers"]]
        self.run.packages.append(ModelPackage(arn, status, containers))


def run_pipeline(definition: dict[str, Any], store: ObjectStore, pipeline_role: Principal, principal_for: Any) -> Run:
    return Evaluator(definition, store, pipeline_role, principal_for).evaluate()

"""A strict test double of SageMaker projects (CreateProject, DescribeProject, ListProjects, UpdateProject,
DeleteProject), answered from the Service Catalog double's provisioned products.

Why: moto 5.2 implements no SageMaker project operation.  It plugs in like the Service Catalog double:
a handler on ``before-send.sagemaker.<Operation>`` for these five operations only (botocore calls it
before moto's catch-all ``before-send`` handler, so moto keeps serving every other SageMaker call), every
request validated against the botocore sagemaker model (required members, types, enums, lengths, whole-
value patterns) and answered in awsJson1.1 with SageMaker's error codes.

A project made from a Service Catalog product is a provisioned product of the Service Catalog double
(ProvisionProduct, named ``SC-<account>-pp-<id>`` with the parameters given plus SageMakerProjectName and
SageMakerProjectId, tagged ``sagemaker:project-name``/``-id``); UpdateProject is that provisioned product's
UpdateProvisionedProduct and DeleteProject its TerminateProvisionedProduct, so the two doubles always agree.
ProjectStatus follows the provisioned product's last record: Pending while it is CREATED, then
<phase>InProgress, <phase>Completed or <phase>Failed.  Each SageMaker call ticks the Service Catalog double's
clock, so polling either service moves records on.

Behaviour and assumptions (the API reference says no more):

* UpdateProject while the project is being created, updated or deleted -> ConflictException (the API's
  modeled error; its note: "You must not update a project that is in use ... being created, or updated");
* ``ServiceCatalogProvisioningUpdateDetails`` without a version -> the product's newest active version
  (documented: "will default to the latest provisioning artifact ID of the product");
* the parameters given are passed as values; SageMakerProjectName/Id and every other parameter the project
  had and the new version's template still declares keep their value (assumption: UsePreviousValue);
* ``Tags`` go to UpdateProvisionedProduct, so they need the product's RESOURCE_UPDATE constraint
  (UpdateProject's Tags documentation); a Service Catalog refusal comes back as ValidationException;
* a project from S3 templates (``TemplateProviders``) is CreateCompleted at once (no stack is modelled);
* an unknown project name -> ValidationException (assumption: SageMaker's usual answer for a missing
  entity named in a request).
"""

from __future__ import annotations

import base64
import copy
import threading
from urllib.parse import urlparse

import botocore.handlers
import botocore.session
from botocore.awsrequest import AWSResponse

from .servicecatalog import Call, SCError, ServiceCatalogDouble, _Raw
from .shapes import validate
from .wire import json_dumps, json_loads

__all__ = ["SageMakerProjectsDouble", "OPERATIONS"]

OPERATIONS = ("CreateProject", "DescribeProject", "ListProjects", "UpdateProject", "DeleteProject")
EVENTS = tuple(f"before-send.sagemaker.{op}" for op in OPERATIONS)
CLAIMED_HOST = "answered-by-sagemakerprojects-double.invalid"
IN_PROGRESS = ("Pending", "CreateInProgress", "UpdateInProgress", "DeleteInProgress")

_ACTIVE: list[SageMakerProjectsDouble] = []
_LOCK = threading.RLock()
_MODEL: list = []


def _service_model():
    if not _MODEL:
        _MODEL.append(botocore.session.get_session().get_service_model("sagemaker"))
    return _MODEL[0]


def _dispatch(request, **kwargs):
    with _LOCK:
        double = _ACTIVE[-1] if _ACTIVE else None
    return None if double is None else double.handle_request(request, **kwargs)


def _ensure_builtin_handlers() -> None:
    with _LOCK:
        for event in EVENTS:
            if (event, _dispatch) not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.append((event, _dispatch))


class SageMakerProjectsDouble:
    def __init__(self, catalog: ServiceCatalogDouble):
        self.catalog = catalog
        self.account_id = catalog.account_id
        self.calls: list[Call] = []
        self.model = _service_model()
        self._projects: dict[str, dict[str, dict]] = {}  # region -> name -> project
        self._counter = 0

    # ----------------------------------------------------------------------------------------- plumbing

    def __enter__(self) -> SageMakerProjectsDouble:
        _ensure_builtin_handlers()
        with _LOCK:
            _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        with _LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)

    def handle_request(self, request, **_kwargs) -> AWSResponse | None:
        if urlparse(request.url).hostname == CLAIMED_HOST:
            return None
        target = request.headers.get("X-Amz-Target") or b""
        target = target.decode() if isinstance(target, bytes) else target
        operation = target.split(".", 1)[1] if "." in target else ""
        if operation not in OPERATIONS:
            return None
        region = self.catalog._region_of(request)
        try:
            params = json_loads(request.body or b"")
            status, body = self.process(operation, params, region)
        except ValueError as exc:
            status, body = 400, SCError("SerializationException", str(exc))
        request.url = f"https://{CLAIMED_HOST}{urlparse(request.url).path}"  # keep moto's handler off it
        if status >= 300:
            payload = {"__type": body.code, "message": body.message}
        else:
            payload = body
        raw = json_dumps(payload)
        headers = {"x-amzn-requestid": f"sm-{len(self.calls):08d}", "content-type": "application/x-amz-json-1.1",
                   "content-length": str(len(raw))}
        return AWSResponse(request.url, status, headers, _Raw(raw))

    def process(self, operation: str, params: dict, region: str) -> tuple[int, object]:
        with self.catalog._lock:
            self.catalog.advance(region)
            call = Call(operation, copy.deepcopy(params), region)
            self.calls.append(call)
            op_model = self.model.operation_model(operation)
            problems = validate(params, op_model.input_shape) if op_model.input_shape else []
            try:
                if problems:
                    kind = "SerializationException" if any(p.kind == "serialization" for p in problems) else (
                        "ValidationException")
                    count = len(problems)
                    raise SCError(kind, f"{count} validation error{'s' if count != 1 else ''} detected: "
                                  + "; ".join(str(p) for p in problems))
                response = getattr(self, f"_op_{operation}")(region, params)
            except SCError as error:
                call.error = error.code
                return error.status, error
            wrong = validate(response, op_model.output_shape)
            if wrong:
                raise AssertionError(f"double produced an invalid {operation} response: {wrong}")
            return 200, response

    # ----------------------------------------------------------------------------------------- state

    def projects(self, region: str = "us-east-1") -> dict[str, dict]:
        return self._projects.setdefault(region, {})

    def _project(self, region: str, name: str) -> dict:
        project = self.projects(region).get(name)
        if project is None:
            raise SCError("ValidationException", f"Project {name} does not exist.")
        return project

    def _new_id(self) -> str:
        self._counter += 1
        return f"p-{self._counter:012d}"

    def _record(self, region: str, project: dict) -> dict | None:
        record_id = project.get("record")
        return self.catalog.region(region).records.get(record_id) if record_id else None

    def _status(self, region: str, project: dict) -> str:
        record = self._record(region, project)
        if record is None:
            return project["status"]
        phase = project["phase"]
        status = {"CREATED": "Pending" if phase == "Create" else f"{phase}InProgress",
                  "IN_PROGRESS": f"{phase}InProgress", "IN_PROGRESS_IN_ERROR": f"{phase}InProgress",
                  "SUCCEEDED": f"{phase}Completed", "FAILED": f"{phase}Failed"}[record["Status"]]
        if status == "DeleteCompleted":
            self.projects(region).pop(project["ProjectName"], None)
        return status

    def _sc(self, operation: str, params: dict, region: str) -> dict:
        """A Service Catalog call made on the project's behalf; its refusals are SageMaker's."""
        try:
            return self.catalog.call(operation, params, region)
        except SCError as error:
            code = "ResourceNotFound" if error.code == "ResourceNotFoundException" else "ValidationException"
            raise SCError(code, f"Service Catalog {operation}: {error.code}: {error.message}") from None

    def _token(self, project: dict) -> str:
        self._counter += 1
        return f"sm-{project['ProjectId']}-{self._counter}"

    # ----------------------------------------------------------------------------------------- operations

    def _op_CreateProject(self, region: str, params: dict) -> dict:
        name = params["ProjectName"]
        details, providers = params.get("ServiceCatalogProvisioningDetails"), params.get("TemplateProviders")
        if name in self.projects(region):
            raise SCError("ValidationException", f"Project {name} already exists.")
        if bool(details) == bool(providers):
            raise SCError("ValidationException",
                          "Specify exactly one of ServiceCatalogProvisioningDetails or TemplateProviders")
        project_id = self._new_id()
        now = self.catalog._now()
        project = {
            "ProjectName": name, "ProjectId": project_id, "CreationTime": now, "LastModifiedTime": now,
            "ProjectArn": f"arn:aws:sagemaker:{region}:{self.account_id}:project/{name.lower()}",
            "ProjectDescription": params.get("ProjectDescription"), "Tags": list(params.get("Tags", [])),
            "phase": "Create", "status": "CreateCompleted", "record": None,
        }
        if providers:
            project["TemplateProviderDetails"] = [
                {"CfnTemplateProviderDetail": {k: v for k, v in p["CfnTemplateProvider"].items()}} for p in providers]
        else:
            given = list(details.get("ProvisioningParameters", []))
            parameters = [*given, {"Key": "SageMakerProjectName", "Value": name},
                          {"Key": "SageMakerProjectId", "Value": project_id}]
            launch = {"ProductId": details["ProductId"], "ProvisionToken": self._token(project),
                      "ProvisionedProductName": f"SC-{self.account_id}-pp-{project_id[2:]}",
                      "ProvisioningParameters": parameters,
                      "Tags": [*params.get("Tags", []), {"Key": "sagemaker:project-name", "Value": name},
                               {"Key": "sagemaker:project-id", "Value": project_id}]}
            if details.get("ProvisioningArtifactId"):
                launch["ProvisioningArtifactId"] = details["ProvisioningArtifactId"]
            else:
                launch["ProvisioningArtifactId"] = self._latest_version(region, details["ProductId"])
            record = self._sc("ProvisionProduct", launch, region)["RecordDetail"]
            project.update(record=record["RecordId"], pp=record["ProvisionedProductId"],
                           sc={"ProductId": details["ProductId"], "ProvisioningArtifactId": record[
                               "ProvisioningArtifactId"], "ProvisioningParameters": given})
        self.projects(region)[name] = project
        return {"ProjectArn": project["ProjectArn"], "ProjectId": project_id}

    def _latest_version(self, region: str, product_id: str) -> str:
        product = self.catalog.region(region).products.get(product_id)
        if product is None:
            raise SCError("ValidationException", f"Product {product_id} does not exist.")
        active = [a for a in product["Artifacts"] if a["Active"]]
        if not active:
            raise SCError("ValidationException", f"Product {product_id} has no active version.")
        return max(active, key=lambda a: a["CreatedTime"])["Id"]

    def _op_DescribeProject(self, region: str, params: dict) -> dict:
        project = self._project(region, params["ProjectName"])
        status = self._status(region, project)
        answer = {k: project[k] for k in ("ProjectArn", "ProjectName", "ProjectId", "CreationTime",
                                          "LastModifiedTime")}
        answer["ProjectStatus"] = status
        if project.get("ProjectDescription") is not None:
            answer["ProjectDescription"] = project["ProjectDescription"]
        if project.get("sc"):
            answer["ServiceCatalogProvisioningDetails"] = copy.deepcopy(project["sc"])
            pp = self.catalog.region(region).provisioned.get(project["pp"])
            answer["ServiceCatalogProvisionedProductDetails"] = {"ProvisionedProductId": project["pp"]}
            if pp is not None:
                answer["ServiceCatalogProvisionedProductDetails"]["ProvisionedProductStatusMessage"] = pp["Status"]
        if project.get("TemplateProviderDetails"):
            answer["TemplateProviderDetails"] = copy.deepcopy(project["TemplateProviderDetails"])
        return answer

    def _op_ListProjects(self, region: str, params: dict) -> dict:
        items = list(self.projects(region).values())
        for project in items:
            project["ProjectStatus"] = self._status(region, project)
        items = [p for p in items if p["ProjectName"] in self.projects(region)]
        if params.get("NameContains"):
            items = [p for p in items if params["NameContains"] in p["ProjectName"]]
        by_name = params.get("SortBy") == "Name"
        items.sort(key=lambda p: p["ProjectName"] if by_name else p["CreationTime"],
                   reverse=params.get("SortOrder", "Descending") == "Descending")
        start = int(base64.b64decode(params["NextToken"]).decode()) if params.get("NextToken") else 0
        size = params.get("MaxResults") or 10
        page = items[start:start + size]
        summaries = [{k: p[k] for k in ("ProjectName", "ProjectArn", "ProjectId", "CreationTime", "ProjectStatus")}
                     for p in page]
        answer: dict = {"ProjectSummaryList": summaries}
        if start + size < len(items):
            answer["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
        return answer

    def _op_UpdateProject(self, region: str, params: dict) -> dict:
        project = self._project(region, params["ProjectName"])
        status = self._status(region, project)
        if status in IN_PROGRESS:
            raise SCError("ConflictException", f"Project {project['ProjectName']} is {status}; it cannot be updated")
        update = params.get("ServiceCatalogProvisioningUpdateDetails")
        if update is not None or params.get("Tags") is not None:
            if not project.get("sc"):
                raise SCError("ValidationException", "The project was not created from a Service Catalog product.")
            self._update_provisioned_product(region, project, update or {}, params.get("Tags"))
        if params.get("ProjectDescription") is not None:
            project["ProjectDescription"] = params["ProjectDescription"]
        project["LastModifiedTime"] = self.catalog._now()
        return {"ProjectArn": project["ProjectArn"]}

    def _update_provisioned_product(self, region: str, project: dict, update: dict, tags: list | None) -> None:
        catalog_region = self.catalog.region(region)
        product = catalog_region.products.get(project["sc"]["ProductId"])
        version = update.get("ProvisioningArtifactId") or self._latest_version(region, project["sc"]["ProductId"])
        artifact = next((a for a in (product or {}).get("Artifacts", []) if a["Id"] == version), None)
        declared = self.catalog._template_parameters(artifact) if artifact is not None else None
        pp = catalog_region.provisioned.get(project["pp"], {})
        given = {p["Key"]: p.get("Value", "") for p in update.get("ProvisioningParameters", [])}
        parameters = [{"Key": k, "Value": v} for k, v in given.items()]
        for key in pp.get("Parameters", {}):
            if key not in given and (declared is None or key in declared):
                parameters.append({"Key": key, "UsePreviousValue": True})
        request = {"ProvisionedProductId": project["pp"], "ProvisioningArtifactId": version,
                   "ProvisioningParameters": parameters, "UpdateToken": self._token(project)}
        if tags is not None:
            request["Tags"] = list(tags)
        record = self._sc("UpdateProvisionedProduct", request, region)["RecordDetail"]
        project.update(phase="Update", record=record["RecordId"])
        project["sc"]["ProvisioningArtifactId"] = version
        recorded = {p["Key"]: p.get("Value", "") for p in project["sc"].get("ProvisioningParameters", [])}
        recorded.update(given)
        project["sc"]["ProvisioningParameters"] = [{"Key": k, "Value": v} for k, v in recorded.items()]
        if tags is not None:
            project["Tags"] = list(tags)

    def _op_DeleteProject(self, region: str, params: dict) -> dict:
        project = self._project(region, params["ProjectName"])
        status = self._status(region, project)
        if status in IN_PROGRESS:
            raise SCError("ConflictException", f"Project {project['ProjectName']} is {status}.")
        if not project.get("sc"):
            del self.projects(region)[project["ProjectName"]]
            return {}
        record = self._sc("TerminateProvisionedProduct", {"ProvisionedProductId": project["pp"],
                                                          "TerminateToken": self._token(project)}, region)
        project.update(phase="Delete", record=record["RecordDetail"]["RecordId"])
        return {}

    # ----------------------------------------------------------------------------------------- for tests

    def wait(self, region: str = "us-east-1", rounds: int = 50) -> None:
        """Advance the clock until no project is in progress (test set-up: projects created, then used)."""
        for _ in range(rounds):
            self.catalog.advance(region)
            if not any(self._status(region, p) in IN_PROGRESS for p in list(self.projects(region).values())):
                return
        raise AssertionError("projects still in progress")

"""The AzureML-compatible HTTP API: RRS execute, swagger.json and the BES jobs.

Every answer that is not a success is an AzureML error object (protocol.py);
no input, however bad, reaches Django's 500 page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from mlservice import protocol
from mlservice.models import BatchJob, WebService, storable_id
from mlservice.protocol import ServiceError, bad

log = logging.getLogger(__name__)


def error_response(error: ServiceError) -> JsonResponse:
    return JsonResponse(error.body(), status=error.status)


def find_service(workspace_id: str, service_id: str) -> WebService:
    service = WebService.objects.filter(service_id=service_id).first() if storable_id(service_id) else None
    if service is not None and service.workspace_id == workspace_id:
        return service
    if not (storable_id(workspace_id) and WebService.objects.filter(workspace_id=workspace_id).exists()):
        raise ServiceError("NotFound", "WorkspaceNotFound", f"Workspace '{workspace_id}' was not found.", "workspace")
    if service is None:
        raise ServiceError("NotFound", "WebServiceNotFound", f"Web service '{service_id}' was not found.", "service")
    raise ServiceError(
        "NotFound",
        "WebServiceIdNotFoundInWorkspace",
        f"Web service '{service_id}' was not found in workspace '{workspace_id}'.",
        "service",
    )


def authenticate(request: HttpRequest, service: WebService) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    # Compare even when the header is malformed, so the timing says nothing.
    ok = service.check_key(key.strip() if scheme.lower() == "bearer" else "")
    if not ok or scheme.lower() != "bearer":
        raise ServiceError("Unauthorized", "ScoreRequestUnauthorized", "Invalid credentials provided.")


def read_body(request: HttpRequest) -> bytes:
    limit = settings.MLSERVICE_MAX_BODY_BYTES
    too_big = ServiceError(
        "MemoryQuotaViolation",
        "RequestBodyTooLarge",
        f"The request body is larger than the limit of {limit} bytes; send fewer rows per call, or use BES.",
    )
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_big
    # Read ourselves rather than through request.body, whose own size check
    # would answer in Django's format instead of AzureML's.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def ml_api(view: Callable) -> Callable:
    """Resolve the service, check the key and api-version, turn errors into AzureML answers."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, workspace_id: str, service_id: str, **kwargs) -> HttpResponse:
        try:
            service = find_service(workspace_id, service_id)
            authenticate(request, service)
            protocol.check_api_version(request.GET.get("api-version"))
            return view(request, service, **kwargs)
        except ServiceError as e:
            return error_response(e)
        except Exception:
            # Never the body or headers: they carry keys and connection strings.
            log.exception("mlservice: unexpected error in %s", view.__name__)
            return error_response(
                ServiceError("InternalError", "InternalError", "Unexpected error; see the server log.")
            )

    return wrapper


def method_not_allowed(allowed: str) -> JsonResponse:
    response = error_response(bad("RequestBodyInvalid", f"This URL answers {allowed} only."))
    response.status_code = 405
    response["Allow"] = allowed
    return response


@ml_api
def execute(request: HttpRequest, service: WebService) -> HttpResponse:
    if request.method != "POST":
        return method_not_allowed("POST")
    details = protocol.parse_flag("details", request.GET.get("details"))
    fmt = request.GET.get("format", "")
    if fmt and fmt.lower() != "swagger":
        raise bad(
            "InvalidQueryParameter",
            f"The format '{fmt}' is not supported; use format=swagger or leave it out.",
            "format",
        )
    swagger = bool(fmt)
    data = protocol.parse_json_body(read_body(request))
    params = protocol.parse_global_parameters(data.get("GlobalParameters"), bits=service.bits, ngrams=service.ngrams)
    table = protocol.parse_rrs_input(data, swagger=swagger, target_column=service.target_column)
    cells = len(table.rows) * (1 << params.bits)
    if cells > settings.MLSERVICE_MAX_OUTPUT_CELLS:
        raise ServiceError(
            "MemoryQuotaViolation",
            "OutputTooLarge",
            f"{len(table.rows)} rows with a hashing bitsize of {params.bits} make {cells} output cells, more than "
            f"the limit of {settings.MLSERVICE_MAX_OUTPUT_CELLS}; send fewer rows or use a smaller bitsize.",
        )
    scored = protocol.score(table, service.hasher(params.bits, params.ngrams), service.target_column)
    answer = protocol.rrs_response(scored, details=details, swagger=swagger, input_columns=len(table.columns))
    return JsonResponse(answer)


@ml_api
def swagger(request: HttpRequest, service: WebService) -> HttpResponse:
    if request.method != "GET":
        return method_not_allowed("GET")
    document = protocol.swagger_document(
        title=service.name,
        description=service.description or "Feature Hashing of a text column.",
        base_path=request.path.rsplit("/swagger.json", 1)[0],
        host=request.get_host(),
        scheme=request.scheme,
        target_column=service.target_column,
        bits=service.bits,
    )
    return JsonResponse(document)


# Set by the gateway on every call it forwards, never taken from its caller
# (gateway/httputil.py, SUBSCRIPTION_HEADER): whose jobs a call may see.
CALLER_HEADER = "X-Portico-Subscription"


def visible_jobs(request: HttpRequest, service: WebService):
    """The jobs a call may see: through the gateway its subscription's own, directly all of them."""
    caller = request.headers.get(CALLER_HEADER)
    return service.jobs.all() if caller is None else service.jobs.filter(owner=caller)


def find_job(request: HttpRequest, service: WebService, job_id: str) -> BatchJob:
    # Another subscription's job is NotFound, exactly as a job that does not exist.
    job = visible_jobs(request, service).filter(job_id=job_id).first() if storable_id(job_id) else None
    if job is None:
        raise ServiceError("NotFound", "JobNotFound", f"No job '{job_id}' in this web service.", "jobid")
    return job


@ml_api
def jobs(request: HttpRequest, service: WebService) -> HttpResponse:
    if request.method == "GET":
        listed = visible_jobs(request, service)[:100]
        return JsonResponse([{"Id": job.job_id, **job.status()} for job in listed], safe=False)
    if request.method != "POST":
        return method_not_allowed("GET, POST")
    data = protocol.parse_json_body(read_body(request))
    source, outputs = protocol.parse_bes_submit(data)
    # Checked now so a job with bad parameters fails at once, not in the worker.
    params = protocol.parse_global_parameters(data.get("GlobalParameters"), bits=service.bits, ngrams=service.ngrams)
    job = BatchJob(service=service, input_ref=source, owner=request.headers.get(CALLER_HEADER, "")[:64])
    if outputs is None:
        # AzureML's default: next to the input, named after the job.
        container = source["RelativeLocation"].strip("/").split("/", 1)[0]
        outputs = {"output1": {**source, "RelativeLocation": f"/{container}/{job.job_id}output1.csv"}}
    job.outputs = outputs
    job.global_parameters = {protocol.BITS_PARAMETER: params.bits, protocol.NGRAMS_PARAMETER: params.ngrams}
    job.save()
    return HttpResponse(json.dumps(job.job_id), content_type="application/json; charset=utf-8")


@ml_api
def job(request: HttpRequest, service: WebService, job_id: str) -> HttpResponse:
    job = find_job(request, service, job_id)
    if request.method == "GET":
        return JsonResponse(job.status())
    if request.method == "DELETE":
        job.cancel()
        return empty(204)
    return method_not_allowed("GET, DELETE")


@ml_api
def start_job(request: HttpRequest, service: WebService, job_id: str) -> HttpResponse:
    if request.method != "POST":
        return method_not_allowed("POST")
    job = find_job(request, service, job_id)
    if not job.start():
        raise ServiceError(
            "InvalidOperation",
            "CannotStartJob",
            f"The job cannot be started because it is in {job.state} state.",
            "jobid",
        )
    return empty(200)


def empty(status: int) -> HttpResponse:
    """AzureML's answer with no body (Start: 200, Delete: 204): no body, so no Content-Type.
    Django would label it text/html; a client would then look for a page that is not there."""
    response = HttpResponse(status=status)
    del response["Content-Type"]
    return response


@csrf_exempt
def unknown_endpoint(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other URL under /workspaces/: AzureML's NotFound, not Django's HTML page."""
    return error_response(
        ServiceError(
            "NotFound",
            "EndpointNotFound",
            "No such endpoint. The service answers .../execute, .../swagger.json and .../jobs.",
        )
    )

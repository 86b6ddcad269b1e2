"""Sample requests, responses and client code for a service's API help pages.

The code is filled in with the service's ids and this server's URL; the API
key stays a placeholder (the dashboard shows it separately, on request).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from mlservice import hashing, protocol
from mlservice.models import WebService

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KEY_PLACEHOLDER = "<YOUR API KEY>"
SAMPLE_TEXT = "This is a good day"


def public_connection_string() -> str:
    # The demo storage is the local Azurite with the well-known development
    # key, which is public; a real account's key would be a placeholder.
    return settings.MLSERVICE_DEMO_CONNECTION_STRING


def fill(code: str, **values: str) -> str:
    for name, value in values.items():
        code = code.replace(f"@@{name}@@", value)
    return code


def rrs(service: WebService, base_url: str) -> dict:
    url = f"{base_url}{service.base_path}/execute?api-version=2.0&details=true"
    request = {
        "Inputs": {"input1": {"ColumnNames": [service.target_column], "Values": [[SAMPLE_TEXT], ["value"]]}},
        "GlobalParameters": {},
    }
    table = protocol.Table([service.target_column], [[SAMPLE_TEXT], ["value"]])
    hasher = service.hasher(min(service.bits, 4))
    scored = protocol.score(table, hasher, service.target_column)
    response = protocol.rrs_response(scored, details=True, swagger=False, input_columns=1)
    values = {"URL": url, "COLUMN": service.target_column, "KEY": KEY_PLACEHOLDER, "TEXT": SAMPLE_TEXT}
    return {
        "rrs_url": url,
        "swagger_url": f"{base_url}{service.base_path}/swagger.json?api-version=2.0",
        "request_json": json.dumps(request, indent=2),
        "response_json": json.dumps(response, indent=2),
        "truncated": service.bits > 4,
        "columns": 1 << service.bits,
        "code": [
            ("Python", "python", fill(PY_RRS, **values)),
            ("C#", "csharp", fill(CS_RRS, **values)),
            ("R", "r", fill(R_RRS, **values)),
        ],
    }


def bes(service: WebService, base_url: str, connection_string: str) -> dict:
    jobs_url = f"{base_url}{service.base_path}/jobs"
    submit = {
        "Input": {"ConnectionString": connection_string, "RelativeLocation": "/mycontainer/mydatablob.csv"},
        "Outputs": {
            "output1": {"ConnectionString": connection_string, "RelativeLocation": "/mycontainer/myresultsblob.csv"}
        },
        "GlobalParameters": {},
    }
    status = {
        "StatusCode": "Finished",
        "Results": {
            "output1": {
                "ConnectionString": None,
                "RelativeLocation": "mycontainer/myresultsblob.csv",
                "BaseLocation": "http://127.0.0.1:10000/devstoreaccount1/",
                "SasBlobToken": "?se=2026-01-01T00%3A00%3A00Z&sp=r&sv=2025-05-05&sr=b&sig=...",
            }
        },
        "Details": None,
        "CreatedAt": "2026-01-01T10:00:00Z",
        "StartTime": "2026-01-01T10:00:01Z",
        "EndTime": "2026-01-01T10:00:03Z",
    }
    values = {
        "BASE": base_url,
        "WORKSPACE": service.workspace_id,
        "SERVICE": service.service_id,
        "JOBS": jobs_url,
        "KEY": KEY_PLACEHOLDER,
        "CONNECTION": connection_string,
    }
    python = (EXAMPLES / "bes_client.py").read_text() if (EXAMPLES / "bes_client.py").exists() else ""
    python = python.replace(
        'os.environ.get("AZUREML_WORKSPACE", "<REPLACE WITH YOUR WORKSPACE ID>")', repr(service.workspace_id)
    ).replace('os.environ.get("AZUREML_SERVICE", "<REPLACE WITH YOUR SERVICE ID>")', repr(service.service_id))
    python = python.replace(
        'os.environ.get("AZUREML_BASE_URL", "https://ussouthcentral.services.azureml.net")', repr(base_url)
    )
    return {
        "jobs_url": jobs_url,
        "submit_json": json.dumps(submit, indent=2),
        "csv_header": f"{service.target_column}\n{SAMPLE_TEXT}\n",
        "output_header": ",".join(
            [service.target_column] + hashing.feature_names(service.target_column, min(service.bits, 3))
        )
        + (",..." if service.bits > 3 else ""),
        "status_json": json.dumps(status, indent=2),
        "code": [
            ("Python", "python", python),
            ("C#", "csharp", fill(CS_BES, **values)),
            ("R", "r", fill(R_BES, **values)),
        ],
    }


PY_RRS = """import json
import requests

url = "@@URL@@"
api_key = "@@KEY@@"  # the web service's API key
data = {
    "Inputs": {"input1": {"ColumnNames": ["@@COLUMN@@"], "Values": [["@@TEXT@@"], ["value"]]}},
    "GlobalParameters": {},
}
headers = {"Content-Type": "application/json", "Authorization": "Bearer " + api_key}
response = requests.post(url, data=json.dumps(data), headers=headers, timeout=60)
if response.ok:
    print(response.json())
else:
    print("The request failed with status code:", response.status_code)
    print(response.headers)
    print(response.text)
"""

CS_RRS = """// dotnet add package System.Net.Http.Json
using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Threading.Tasks;

class Program
{
    static async Task Main()
    {
        const string apiKey = "@@KEY@@"; // the web service's API key
        var request = new Dictionary<string, object>
        {
            ["Inputs"] = new Dictionary<string, object>
            {
                ["input1"] = new
                {
                    ColumnNames = new[] { "@@COLUMN@@" },
                    Values = new[] { new[] { "@@TEXT@@" }, new[] { "value" } },
                },
            },
            ["GlobalParameters"] = new Dictionary<string, string>(),
        };
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var response = await client.PostAsJsonAsync("@@URL@@", request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode)
        {
            Console.WriteLine("Result: {0}", body);
        }
        else
        {
            Console.WriteLine("The request failed with status code: {0}", response.StatusCode);
            Console.WriteLine(response.Headers.ToString());
            Console.WriteLine(body);
        }
    }
}
"""

R_RRS = """library("httr")
library("jsonlite")

url <- "@@URL@@"
api_key <- "@@KEY@@" # the web service's API key
req <- list(
  Inputs = list(input1 = list(ColumnNames = list("@@COLUMN@@"), Values = list(list("@@TEXT@@"), list("value")))),
  GlobalParameters = setNames(list(), character(0))
)
response <- POST(url,
  add_headers("Content-Type" = "application/json", "Authorization" = paste("Bearer", api_key)),
  body = toJSON(req, auto_unbox = TRUE), timeout(60))
if (status_code(response) == 200) {
  print(content(response, "parsed"))
} else {
  print(paste("The request failed with status code:", status_code(response)))
  print(headers(response))
  print(content(response, "text"))
}
"""

CS_BES = """// dotnet add package Azure.Storage.Blobs
using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Azure.Storage.Blobs;

class Program
{
    const string JobsUrl = "@@JOBS@@";
    const string ApiKey = "@@KEY@@"; // the web service's API key
    const string ConnectionString = "@@CONNECTION@@";
    const string Container = "mycontainer";

    static async Task Main()
    {
        var container = new BlobContainerClient(ConnectionString, Container);
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient("mydatablob.csv").UploadAsync("mydata.csv", overwrite: true);

        var submit = new
        {
            Input = new { ConnectionString, RelativeLocation = $"/{Container}/mydatablob.csv" },
            Outputs = new { output1 = new { ConnectionString, RelativeLocation = $"/{Container}/myresultsblob.csv" } },
            GlobalParameters = new { },
        };
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        var content = new StringContent(JsonSerializer.Serialize(submit), Encoding.UTF8, "application/json");
        var response = await client.PostAsync(JobsUrl + "?api-version=2.0", content);
        response.EnsureSuccessStatusCode();
        var jobId = JsonSerializer.Deserialize<string>(await response.Content.ReadAsStringAsync());
        Console.WriteLine($"Job ID: {jobId}");

        (await client.PostAsync($"{JobsUrl}/{jobId}/start?api-version=2.0", null)).EnsureSuccessStatusCode();
        while (true)
        {
            using var status = JsonDocument.Parse(await client.GetStringAsync($"{JobsUrl}/{jobId}?api-version=2.0"));
            var code = status.RootElement.GetProperty("StatusCode").GetString();
            Console.WriteLine($"Status: {code}");
            if (code == "Failed") { Console.WriteLine(status.RootElement.GetProperty("Details").GetString()); return; }
            if (code == "Cancelled") return;
            if (code == "Finished")
            {
                var output = status.RootElement.GetProperty("Results").GetProperty("output1");
                var url = output.GetProperty("BaseLocation").GetString() + output.GetProperty("RelativeLocation").GetString()
                    + output.GetProperty("SasBlobToken").GetString();
                await System.IO.File.WriteAllBytesAsync("myresults.csv", await client.GetByteArrayAsync(url));
                Console.WriteLine("The results have been written to myresults.csv");
                return;
            }
            await Task.Delay(1000);
        }
    }
}
"""

R_BES = """library("httr")
library("jsonlite")
library("AzureStor")

jobs_url <- "@@JOBS@@"
api_key <- "@@KEY@@" # the web service's API key
connection_string <- "@@CONNECTION@@"
auth <- add_headers("Authorization" = paste("Bearer", api_key))

# Upload the input file.
endpoint <- storage_endpoint(sub(".*BlobEndpoint=([^;]+).*", "\\\\1", connection_string),
  key = sub(".*AccountKey=([^;]+).*", "\\\\1", connection_string))
container <- tryCatch(create_blob_container(endpoint, "mycontainer"), error = function(e) blob_container(endpoint, "mycontainer"))
upload_blob(container, "mydata.csv", "mydatablob.csv")

# Submit and start the job.
submit <- list(
  Input = list(ConnectionString = connection_string, RelativeLocation = "/mycontainer/mydatablob.csv"),
  Outputs = list(output1 = list(ConnectionString = connection_string, RelativeLocation = "/mycontainer/myresultsblob.csv")),
  GlobalParameters = setNames(list(), character(0))
)
response <- POST(paste0(jobs_url, "?api-version=2.0"), auth, content_type_json(),
  body = toJSON(submit, auto_unbox = TRUE), timeout(60))
stop_for_status(response)
job_id <- content(response, "parsed")
stop_for_status(POST(paste0(jobs_url, "/", job_id, "/start?api-version=2.0"), auth, timeout(60)))

# Poll until the job ends, then download the results.
repeat {
  status <- content(GET(paste0(jobs_url, "/", job_id, "?api-version=2.0"), auth, timeout(60)), "parsed")
  print(paste("Status:", status$StatusCode))
  if (status$StatusCode == "Failed") { print(status$Details); break }
  if (status$StatusCode == "Cancelled") break
  if (status$StatusCode == "Finished") {
    out <- status$Results$output1
    GET(paste0(out$BaseLocation, out$RelativeLocation, out$SasBlobToken), write_disk("myresults.csv", overwrite = TRUE))
    print("The results have been written to myresults.csv")
    break
  }
  Sys.sleep(1)
}
"""

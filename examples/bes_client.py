"""The guide's BES sample, in Python 3: upload a CSV, run a batch job, download the results.

Set AZUREML_WORKSPACE, AZUREML_SERVICE, AZUREML_API_KEY, AZUREML_BASE_URL,
the storage account (STORAGE_ACCOUNT_NAME and STORAGE_ACCOUNT_KEY, or a whole
STORAGE_CONNECTION_STRING, e.g. for Azurite), STORAGE_CONTAINER_NAME, and the
INPUT_FILE and OUTPUT_FILE paths.
"""

import json
import os
import time

import requests
from azure.storage.blob import BlobServiceClient

workspace = os.environ.get("AZUREML_WORKSPACE", "<REPLACE WITH YOUR WORKSPACE ID>")
service = os.environ.get("AZUREML_SERVICE", "<REPLACE WITH YOUR SERVICE ID>")
api_key = os.environ.get("AZUREML_API_KEY", "<REPLACE WITH THE API KEY FOR YOUR WEB SERVICE>")
base_url = os.environ.get("AZUREML_BASE_URL", "https://ussouthcentral.services.azureml.net").rstrip("/")
storage_account_name = os.environ.get("STORAGE_ACCOUNT_NAME", "<REPLACE WITH YOUR AZURE STORAGE ACCOUNT NAME>")
storage_account_key = os.environ.get("STORAGE_ACCOUNT_KEY", "<REPLACE WITH YOUR AZURE STORAGE KEY>")
storage_container_name = os.environ.get("STORAGE_CONTAINER_NAME", "<REPLACE WITH YOUR AZURE STORAGE CONTAINER NAME>")
input_file = os.environ.get("INPUT_FILE", "<REPLACE WITH THE LOCATION OF YOUR INPUT FILE>")  # Example: C:\\mydata.csv
output_file = os.environ.get(
    "OUTPUT_FILE", "<REPLACE WITH THE LOCATION OF YOUR OUTPUT FILE>"
)  # Example: C:\\myresults.csv
input_blob_name = "mydatablob.csv"
output_blob_name = "myresultsblob.csv"
connection_string = os.environ.get(
    "STORAGE_CONNECTION_STRING",
    "DefaultEndpointsProtocol=https;AccountName=" + storage_account_name + ";AccountKey=" + storage_account_key,
)


def printHttpError(response):
    print("The request failed with status code: " + str(response.status_code))
    print(response.headers)
    try:
        print(response.json())
    except ValueError:
        print(response.text)


def saveBlobToFile(blobUrl, resultsLabel):
    print("Reading the result from " + blobUrl)
    response = requests.get(blobUrl, timeout=300)
    if not response.ok:
        printHttpError(response)
        return False
    with open(output_file, "wb") as f:
        f.write(response.content)
    print(resultsLabel + " have been written to the file " + output_file)
    return True


def processResults(result):
    first = True
    results = result["Results"]
    for outputName in results:
        result_blob_location = results[outputName]
        sas_token = result_blob_location["SasBlobToken"]
        base_url = result_blob_location["BaseLocation"]
        relative_url = result_blob_location["RelativeLocation"]
        print("The results for " + outputName + " are available at the following Azure Storage location:")
        print("BaseLocation: " + base_url)
        print("RelativeLocation: " + relative_url)
        print("SasBlobToken: " + sas_token)
        if first:
            first = False
            url3 = base_url + relative_url + sas_token
            if not saveBlobToFile(url3, "The results for " + outputName):
                return False
    return True


def invokeBatchExecutionService():
    url = base_url + "/workspaces/" + workspace + "/services/" + service + "/jobs"
    blob_service = BlobServiceClient.from_connection_string(connection_string, connection_timeout=30, read_timeout=60)
    print("Uploading the input to blob storage...")
    container = blob_service.get_container_client(storage_container_name)
    if not container.exists():
        container.create_container()
    with open(input_file, "rb") as data_to_upload:
        container.upload_blob(input_blob_name, data_to_upload, overwrite=True)
    print("Uploaded the input to blob storage")
    input_blob_path = "/" + storage_container_name + "/" + input_blob_name
    payload = {
        "Input": {
            "ConnectionString": connection_string,
            "RelativeLocation": input_blob_path,
        },
        "Outputs": {
            "output1": {
                "ConnectionString": connection_string,
                "RelativeLocation": "/" + storage_container_name + "/" + output_blob_name,
            },
        },
        "GlobalParameters": {},
    }
    body = str.encode(json.dumps(payload))
    headers = {"Content-Type": "application/json", "Authorization": ("Bearer " + api_key)}
    if os.environ.get("SUBSCRIPTION_KEY"):
        headers["Ocp-Apim-Subscription-Key"] = os.environ["SUBSCRIPTION_KEY"]
    print("Submitting the job...")
    # submit the job
    response = requests.post(url + "?api-version=2.0", data=body, headers=headers, timeout=60)
    if not response.ok:
        printHttpError(response)
        return False
    result = response.text
    job_id = result[1:-1]  # remove the enclosing double-quotes
    print("Job ID: " + job_id)
    # start the job
    print("Starting the job...")
    response = requests.post(url + "/" + job_id + "/start?api-version=2.0", data=b"", headers=headers, timeout=60)
    if not response.ok:
        printHttpError(response)
        return False
    url2 = url + "/" + job_id + "?api-version=2.0"

    while True:
        print("Checking the job status...")
        status_headers = {k: v for k, v in headers.items() if k != "Content-Type"}
        response = requests.get(url2, headers=status_headers, timeout=60)
        if not response.ok:
            printHttpError(response)
            return False
        result = response.json()
        status = result["StatusCode"]
        print("status:" + str(status))
        if status == 0 or status == "NotStarted":
            print("Job " + job_id + " not yet started...")
        elif status == 1 or status == "Running":
            print("Job " + job_id + " running...")
        elif status == 2 or status == "Failed":
            print("Job " + job_id + " failed!")
            print("Error details: " + result["Details"])
            return False
        elif status == 3 or status == "Cancelled":
            print("Job " + job_id + " cancelled!")
            return False
        elif status == 4 or status == "Finished":
            print("Job " + job_id + " finished!")
            return processResults(result)
        time.sleep(1)  # wait one second


if __name__ == "__main__":
    raise SystemExit(0 if invokeBatchExecutionService() else 1)

"""The guide's RRS sample, in Python 3: score one text with the web service.

Set AZUREML_WORKSPACE, AZUREML_SERVICE, AZUREML_API_KEY and AZUREML_BASE_URL
(the guide's is https://ussouthcentral.services.azureml.net). Optional:
SUBSCRIPTION_KEY, sent as Ocp-Apim-Subscription-Key when calling through the
API Management gateway.
"""

import json
import os

import requests

workspace = os.environ.get("AZUREML_WORKSPACE", "<REPLACE WITH YOUR EXPERIMENT'S WEB SERVICE WORKSPACE ID>")
service = os.environ.get("AZUREML_SERVICE", "<REPLACE WITH YOUR EXPERIMENT'S WEB SERVICE SERVICE ID>")
api_key = os.environ.get("AZUREML_API_KEY", "<REPLACE WITH YOUR EXPERIMENT'S WEB SERVICE API KEY>")
base_url = os.environ.get("AZUREML_BASE_URL", "https://ussouthcentral.services.azureml.net").rstrip("/")

data = {
    "Inputs": {
        "input1": {
            "ColumnNames": ["Col2"],
            "Values": [["This is a good day"]],
        },
    },
    "GlobalParameters": {},
}
url = base_url + "/workspaces/" + workspace + "/services/" + service + "/execute?api-version=2.0&details=true"
headers = {"Content-Type": "application/json", "Authorization": ("Bearer " + api_key)}
if os.environ.get("SUBSCRIPTION_KEY"):
    headers["Ocp-Apim-Subscription-Key"] = os.environ["SUBSCRIPTION_KEY"]
body = str.encode(json.dumps(data))

response = requests.post(url, data=body, headers=headers, timeout=60)
if response.ok:
    print("result:" + response.text)
else:
    print("The request failed with status code: " + str(response.status_code))
    print(response.headers)
    try:
        print(response.json())
    except ValueError:
        print(response.text)
    raise SystemExit(1)

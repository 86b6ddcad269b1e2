"""Turn `manage.py load_demo --json` into shell exports for the example clients.

eval "$(.venv/bin/python manage.py load_demo --json | .venv/bin/python examples/demo_env.py)"
"""

import json
import shlex
import sys

demo = json.load(sys.stdin)
exports = {
    "AZUREML_BASE_URL": demo["url"].split("/workspaces/")[0],
    "AZUREML_WORKSPACE": demo["workspace_id"],
    "AZUREML_SERVICE": demo["service_id"],
    "AZUREML_API_KEY": demo["api_key"],
    "STORAGE_CONNECTION_STRING": demo["storage_connection_string"],
}
for name, value in exports.items():
    print(f"export {name}={shlex.quote(value)}")

"""Container healthcheck: healthy while $WORKBENCH_HEALTH_URL answers below 500.

An answer of 401/403 counts as healthy: the server is up and asks for its token.
"""

import os
import sys
import urllib.error
import urllib.request

url = os.environ.get("WORKBENCH_HEALTH_URL", "http://127.0.0.1:8866/")
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        sys.exit(0 if response.status < 500 else 1)
except urllib.error.HTTPError as err:
    sys.exit(0 if err.code < 500 else 1)
except OSError as err:
    sys.stderr.write(f"unhealthy: {url}: {err}\n")
    sys.exit(1)

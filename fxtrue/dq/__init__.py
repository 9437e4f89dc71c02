"""Data quality: Great Expectations 1.x suites as code (suites.py), the runner with its Data Docs site and
Cassandra summaries (runner.py), and the gates the batch layer applies (checks.py).

Import the submodules directly (great_expectations is heavy): `from fxtrue.dq.runner import Runner`.
"""

import logging

# GX logs every decorator registration and datasource save at INFO, at import time: keep it to warnings.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

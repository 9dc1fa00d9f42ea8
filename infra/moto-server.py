"""moto in server mode, serving one request at a time.

moto's TransactWriteItems snapshots the tables and restores the snapshot when
a transaction fails; with requests served in parallel threads (moto_server's
default), a failing transaction can thereby undo another request's committed
write. DynamoDB itself does not do that, so the tests run moto single-threaded.

Two of moto's helpers are memoised here, as they answer the same for the
whole life of the process: the list of moto's service modules (a directory
listing with a stat per module, which the dispatcher makes for every
request) and the method names of a response class (`inspect.getmembers`,
made for every call). Together about a third of what moto spends on a
DynamoDB GetItem; nothing else changes.

And a transaction snapshots each of its tables once: moto 5 deep-copies a
whole table for every item of a TransactWriteItems naming it (25 copies of
the table for a transaction of 25 writes), which makes a transaction on a
table of 5,000 records take seconds. The snapshot restored on failure is the
same (the table as it was before the transaction), taken once.

`GET /moto-api/data.json?service=ses` is moto's `data.json` for one service
only. moto's own serialises every object it tracks (every DynamoDB item of
every test so far), seconds per call late in a test run; the tests read the
mail SES sent, which is all they need.

Usage: python moto-server.py HOST PORT
"""

import copy
import functools
import sys
from urllib.parse import parse_qs

from werkzeug.serving import run_simple

import moto.backends
import moto.core.model_instances
import moto.core.responses
import moto.dynamodb.models
from moto.moto_api._internal.responses import MotoAPIResponse
from moto.server import DomainDispatcherApplication, create_backend_app

_MODULES = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _MODULES
moto.core.responses.method_names_from_class = functools.lru_cache(maxsize=None)(
    moto.core.responses.method_names_from_class
)


class _TableSnapshotsOnce:
    """`copy` for moto's DynamoDB backend: while a transaction runs, a table
    is deep-copied once however many of its items the transaction names."""

    snapshots = None

    def deepcopy(self, value, memo=None):
        if self.snapshots is None or not isinstance(value, moto.dynamodb.models.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in self.snapshots:
            self.snapshots[id(value)] = copy.deepcopy(value, memo)
        return self.snapshots[id(value)]


_copy = _TableSnapshotsOnce()
moto.dynamodb.models.copy = _copy
_transact_write_items = moto.dynamodb.models.DynamoDBBackend.transact_write_items


def _transact_write_items_snapshotting_once(backend, transact_items):
    _copy.snapshots = {}
    try:
        return _transact_write_items(backend, transact_items)
    finally:
        _copy.snapshots = None


moto.dynamodb.models.DynamoDBBackend.transact_write_items = _transact_write_items_snapshotting_once


def _model_data_of(service):
    """moto's own data.json walk over the models of `service` only (it reads
    `model_data` from its module at each call; one request at a time here)."""
    everything = moto.core.model_instances.model_data
    moto.core.model_instances.model_data = {service: everything.get(service, {})}
    try:
        _status, _headers, body = MotoAPIResponse().model_data(None, "", {})
    finally:
        moto.core.model_instances.model_data = everything
    return body


def _with_data_of_one_service(app):
    def serve(environ, start_response):
        services = parse_qs(environ.get("QUERY_STRING", "")).get("service")
        if environ.get("PATH_INFO") == "/moto-api/data.json" and services:
            body = _model_data_of(services[0]).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return serve


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    app = _with_data_of_one_service(DomainDispatcherApplication(create_backend_app))
    run_simple(host, port, app, threaded=False, use_reloader=False)

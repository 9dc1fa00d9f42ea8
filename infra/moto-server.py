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

And a transaction's snapshot copies only what the transaction can change:
moto 5 deep-copies a whole table (its items, its stream, the objects they
reach) for every item of a TransactWriteItems naming it, to restore it if
the transaction fails: 25 copies of the table for a transaction of 25
writes, milliseconds on an almost empty table and seconds on one of 5,000
records. DynamoDB spends nothing of the kind. Here a table is copied once
per transaction, and shallowly: its key-to-item maps are copied, and the
items the transaction names (the only ones it can change; an update changes
its item in place) are deep-copied; every other item is shared. Restored on
failure, the snapshot is the table as it was before the transaction, as
moto's own is.

`GET /moto-api/data.json?service=ses` is moto's `data.json` for one service
only. moto's own serialises every object it tracks (every DynamoDB item of
every test so far), seconds per call late in a test run; the tests read the
mail SES sent, which is all they need.

Usage: python moto-server.py HOST PORT
"""

import collections
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


class _TransactionSnapshots:
    """`copy` for moto's DynamoDB backend: while a transaction runs, a table's
    snapshot is taken once, copying only the items the transaction names."""

    snapshots = None
    named = None

    def deepcopy(self, value, memo=None):
        if self.snapshots is None or not isinstance(value, moto.dynamodb.models.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in self.snapshots:
            self.snapshots[id(value)] = self.snapshot(value)
        return self.snapshots[id(value)]

    def snapshot(self, table):
        taken = copy.copy(table)
        if table.range_key_attr is None:
            taken.items = collections.defaultdict(dict, table.items)
        else:
            taken.items = collections.defaultdict(dict, {key: dict(items) for key, items in table.items.items()})
        for hash_value, range_value in self.named.get(table.name, ()):
            if range_value is None:
                if hash_value in table.items:
                    taken.items[hash_value] = copy.deepcopy(table.items[hash_value])
            elif range_value in table.items.get(hash_value, {}):
                taken.items[hash_value][range_value] = copy.deepcopy(table.items[hash_value][range_value])
        if table.stream_shard is not None:
            shard = copy.copy(table.stream_shard)
            shard.items = list(table.stream_shard.items)
            shard.table = taken
            taken.stream_shard = shard
        return taken


def _named_keys(backend, transact_items):
    """{table name: {(hash, range)}} of the items a transaction names; what
    moto will refuse (unknown tables, missing keys) is left to it."""
    named = collections.defaultdict(set)
    for item in transact_items:
        try:
            _, op = next(iter(item.items()))
            table = backend.tables[op["TableName"]]
            attributes = op.get("Item") or op["Key"]
            hash_value = moto.dynamodb.models.DynamoType(attributes[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                range_value = moto.dynamodb.models.DynamoType(attributes[table.range_key_attr])
        except (KeyError, StopIteration, TypeError, AttributeError):
            continue
        named[table.name].add((hash_value, range_value))
    return named


_copy = _TransactionSnapshots()
moto.dynamodb.models.copy = _copy
_transact_write_items = moto.dynamodb.models.DynamoDBBackend.transact_write_items


def _transact_write_items_snapshotting_what_it_names(backend, transact_items):
    _copy.snapshots, _copy.named = {}, _named_keys(backend, transact_items)
    try:
        return _transact_write_items(backend, transact_items)
    finally:
        _copy.snapshots = _copy.named = None


moto.dynamodb.models.DynamoDBBackend.transact_write_items = _transact_write_items_snapshotting_what_it_names


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

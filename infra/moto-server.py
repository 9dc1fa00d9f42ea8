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

Usage: python moto-server.py HOST PORT
"""

import functools
import sys

from werkzeug.serving import run_simple

import moto.backends
import moto.core.responses
from moto.server import DomainDispatcherApplication, create_backend_app

_MODULES = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _MODULES
moto.core.responses.method_names_from_class = functools.lru_cache(maxsize=None)(
    moto.core.responses.method_names_from_class
)

if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False)

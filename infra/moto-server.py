"""moto in server mode, serving one request at a time.

moto's TransactWriteItems snapshots the tables and restores the snapshot when
a transaction fails; with requests served in parallel threads (moto_server's
default), a failing transaction can thereby undo another request's committed
write. DynamoDB itself does not do that, so the tests run moto single-threaded.

Usage: python moto-server.py HOST PORT
"""

import sys

from werkzeug.serving import run_simple

from moto.server import DomainDispatcherApplication, create_backend_app

if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False)

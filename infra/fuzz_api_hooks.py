"""Loaded by schemathesis before infra/fuzz-api runs (SCHEMATHESIS_HOOKS).

CPython 3.11 before 3.11.8 (Debian 12 ships 3.11.2) can fail `ast.parse` deep in
a call stack with "SystemError: AST constructor recursion depth mismatch".
Hypothesis parses a module's source to describe a lambda the first time it
meets one, which schemathesis' coverage phase does deep in its generators, and
the run then reports a Runtime Error instead of testing the operation. Parsing
those sources once here, at the top of the stack, fills Hypothesis' cache, so
the deep parse never happens. Newer Pythons need none of this.
"""

import ast
import inspect
import sys

if sys.version_info < (3, 12):
    try:
        import schemathesis.specs.openapi.coverage._schema  # noqa: F401  (load what the coverage phase uses)
        from hypothesis.internal import lambda_sources

        for name, module in list(sys.modules.items()):
            if not name.startswith(("schemathesis", "hypothesis")) or module is None:
                continue
            try:
                lines = tuple(inspect.findsource(module)[0])
            except (OSError, TypeError):
                continue
            if lines and lines not in lambda_sources.AST_LAMBDAS_CACHE:
                lambda_sources.AST_LAMBDAS_CACHE[lines] = lambda_sources.extract_all_lambdas(ast.parse("".join(lines)))
    except Exception as error:  # a different Hypothesis: run without the warm cache
        print(f"fuzz_api_hooks: cache not warmed ({error})", file=sys.stderr)

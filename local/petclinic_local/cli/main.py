"""`petclinic-ops`: the operator's command line.

    petclinic-ops --help                 the commands; README's "CLI" section has them in a table
    petclinic-ops COMMAND --help         one command's options and exit codes

Each command is registered by the module that runs it (cli/registry.py says how: its parser, its
run, the shared options it takes); this module builds the parser from the registry, runs the
command, and turns its errors into one line and an exit code.

Every command that calls AWS takes --profile, --region, --endpoint-url (else AWS_ENDPOINT_URL) and,
where it reads the control plane, --stack (cli/aws.py); the commands that start a fresh local
cloud run with none of the caller's AWS_* variables (aws.sealed_environment).

Exit codes (each command's --help says its own): 0 done (for `deploy`/`rollback`: the image is
live), 1 the deployment failed or an AWS call failed (`rotation cancel`: refused, nothing changed;
`local invoke`: the handler raised; `provision`/`teardown`/`drift`/`scale`: the run failed; a
follow that reached --timeout), 2 bad input or configuration (nothing was started: unknown
service, stack not found, no credentials...), 3 `deploy`/`rollback` queued or superseded
(another execution deploys).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence

from petclinic_local.cli import aws, registry
from petclinic_local.errors import QuietTimeout, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_DEPLOYED = 0, 1, 2, 3


@contextlib.contextmanager
def one_line_aws_errors() -> Iterator[None]:
    """Any AWS error a command did not handle, as one line (never a traceback)."""
    with aws.aws_errors(None, "AWS error"):
        yield


def main(argv: Sequence[str] | None = None) -> int:
    from petclinic_local.runner import StillRunning  # noqa: PLC0415

    args = registry.parser().parse_args(argv)
    sealed = getattr(args, "fresh_cloud", False) and not getattr(args, "endpoint_url", None)
    try:
        with aws.sealed_environment() if sealed else contextlib.nullcontext(), one_line_aws_errors():
            return int(args.run(args))
    except UsageError as exc:
        print(f"petclinic-ops: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (aws.AwsFailure, StillRunning, QuietTimeout) as exc:  # failed, or still running at its timeout
        print(f"petclinic-ops: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `petclinic-ops history X --json | head`: the reader left
        import os  # noqa: PLC0415

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

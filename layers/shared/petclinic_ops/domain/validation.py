"""Turn pydantic validation errors into one message that names each bad field."""

from pydantic import ValidationError


def describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden":
            message = "is not a known field"
        # Model-level validators have no location; their messages name the field themselves.
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)

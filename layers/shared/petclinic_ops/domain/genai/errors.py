"""The GenAI domain's errors shared by its modules."""


class ToolError(Exception):
    """A tool could not do what the model asked; the message goes back to the model."""

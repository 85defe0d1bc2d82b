"""The GenAI function's domain: the model router (router.py), the PetClinic tools (tools.py)
and the chat turn with its memory (chat.py). No boto3 and no HTTP here: the ports are
Protocols, implemented by petclinic_ops.adapters.genai_* in AWS and by fakes in tests."""

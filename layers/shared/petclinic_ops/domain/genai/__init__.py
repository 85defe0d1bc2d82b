"""The GenAI function's domain. No boto3 and no HTTP here: the ports are Protocols,
implemented by petclinic_ops.adapters.genai_* in AWS and by fakes in tests.

    router.py  the model router: a Converse call along the chain, cooldowns, the token budget
    tools.py   the PetClinic tools the model may call (owners, vets, pets)
    writes.py  what the tools may write to PetClinic, and the write that waits for a "yes"
    chat.py    one chat turn: the conversation's memory, the routed calls and the tool loop
    api.py     the chat API's input and output: the Lambda event to the user's text, the answer
               made safe for the chat widget
"""

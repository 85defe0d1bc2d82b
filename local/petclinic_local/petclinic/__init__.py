"""The PetClinic stack the control plane operates, as the local cloud provides it.

seed.py      what a local cloud starts with, after the control plane: the stacks of infra/
             (stacks.py), each repository's first image, the first deployments completed,
             the secrets pointed at a local database when a rotation needs one
stacks.py    infra/*.yaml uploaded content-addressed and provisioned through the provision
             function's own change sets (the workflow's parameters, without its orchestration)
database.py  a PetClinic application database on a real MySQL/MariaDB server (the
             rotations' target: what Aurora would hold)
"""

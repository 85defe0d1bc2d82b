"""The PetClinic stack the control plane operates, as the local cloud provides it.

seed.py      what the local cloud creates before deploying the control plane: the VPC's
             app subnets, the ECS cluster and its four services, their ECR repositories
             and first images, task roles, the database secrets
database.py  a PetClinic application database on a real MySQL/MariaDB server (the
             rotations' target: what Aurora would hold)
"""

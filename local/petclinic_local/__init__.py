"""petclinic-ops local cloud and operator CLI (never deployed)."""

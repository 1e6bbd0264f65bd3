"""gatekeeper: policy-as-code checks for GitOps repositories."""

__version__ = "0.1.0"

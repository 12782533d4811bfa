"""Data access: the only modules of the project that use boto3."""

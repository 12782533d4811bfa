"""Business rules, free of HTTP and of boto3: handlers call these, these call ``authlayer.dal``."""

"""AWS service wrappers used by the handlers."""

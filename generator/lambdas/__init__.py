"""Lambda handlers that templates embed as inline code (see generator.blocks.lambda_function).

Each module here is a real, importable and tested Python module that uses only the standard
library and boto3 (the Lambda runtime provides both).
"""

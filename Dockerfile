# The container-image variant of the users API (lesson 07): the same code and the same pinned,
# hashed dependencies as build/function.zip + build/layer.zip, on AWS's base image for the
# python3.13 runtime, for arm64. Build it with:
#   docker buildx build --platform linux/arm64 --provenance=false -t users-api .
# The digest pins one exact image, so a rebuild cannot pick up a different one. Update it on
# purpose: `docker buildx imagetools inspect public.ecr.aws/lambda/python:3.13` shows the current one.
FROM --platform=linux/arm64 public.ecr.aws/lambda/python:3.13@sha256:1e784863b7d21e1ba661e397520508598d000b9999bcc08d4c2f12eb52e74f95

# Dependencies first: Docker rebuilds this layer only when the requirements change.
COPY requirements-lambda.txt ${LAMBDA_TASK_ROOT}/
RUN pip install --no-cache-dir --require-hashes --no-deps --target "${LAMBDA_TASK_ROOT}" \
    --requirement "${LAMBDA_TASK_ROOT}/requirements-lambda.txt"

# The code: the content of src/, as at the root of the zip.
COPY src/ ${LAMBDA_TASK_ROOT}/

CMD ["handlers.api_gateway_handler.lambda_handler"]

# The three functions of lesson 07's zip, their shared layer, their logs and their aliases.

locals {
  function_zip = "${path.module}/../build/function.zip"
  layer_zip    = "${path.module}/../build/layer.zip"
  powertools = {
    POWERTOOLS_METRICS_NAMESPACE = "UsersService"
    POWERTOOLS_LOG_LEVEL         = var.environment == "prod" ? "INFO" : "DEBUG"
  }
}

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = "${local.prefix}-dependencies"
  filename                 = local.layer_zip
  source_code_hash         = filebase64sha256(local.layer_zip)
  compatible_runtimes      = ["python3.13"]
  compatible_architectures = [var.architecture]
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/aws/lambda/${local.prefix}-api"
  retention_in_days = var.log_retention_days
  #checkov:skip=CKV_AWS_158:encrypted by CloudWatch Logs' own key; a customer-managed KMS key is a cost decision per environment
  #checkov:skip=CKV_AWS_338:30 days in development; a year of retention is a decision for production (set log_retention_days)
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/aws/lambda/${local.prefix}-worker"
  retention_in_days = var.log_retention_days
  #checkov:skip=CKV_AWS_158:encrypted by CloudWatch Logs' own key; a customer-managed KMS key is a cost decision per environment
  #checkov:skip=CKV_AWS_338:30 days in development; a year of retention is a decision for production (set log_retention_days)
}

resource "aws_cloudwatch_log_group" "importer" {
  name              = "/aws/lambda/${local.prefix}-importer"
  retention_in_days = var.log_retention_days
  #checkov:skip=CKV_AWS_158:encrypted by CloudWatch Logs' own key; a customer-managed KMS key is a cost decision per environment
  #checkov:skip=CKV_AWS_338:30 days in development; a year of retention is a decision for production (set log_retention_days)
}

# The users API: API Gateway -> Lambda -> DynamoDB (lessons 03-04). The zip, or the container
# image of lesson 07's Dockerfile when api_image_uri is set.
resource "aws_lambda_function" "api" {
  function_name    = "${local.prefix}-api"
  role             = aws_iam_role.api.arn
  package_type     = var.api_image_uri == null ? "Zip" : "Image"
  image_uri        = var.api_image_uri
  runtime          = var.api_image_uri == null ? "python3.13" : null
  handler          = var.api_image_uri == null ? "handlers.api_gateway_handler.lambda_handler" : null
  filename         = var.api_image_uri == null ? local.function_zip : null
  source_code_hash = var.api_image_uri == null ? filebase64sha256(local.function_zip) : null
  layers           = var.api_image_uri == null ? [aws_lambda_layer_version.dependencies.arn] : null
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  publish          = true

  environment {
    variables = merge(local.powertools, {
      POWERTOOLS_SERVICE_NAME = "users-api"
      USERS_TABLE             = aws_dynamodb_table.users.name
    })
  }
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.api.name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }
  tracing_config {
    mode = "Active"
  }
  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }
  #checkov:skip=CKV_AWS_116:an API's caller gets the error synchronously; there is no event to send to a DLQ
  #checkov:skip=CKV_AWS_115:concurrency is limited per account for now; reserve some per function once traffic is known
  #checkov:skip=CKV_AWS_173:the environment holds names, no secrets: encrypted with Lambda's own key
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile (AWS Signer), out of this lesson's scope
}

# The sign-ups worker: SQS -> Lambda -> DynamoDB (lesson 05).
resource "aws_lambda_function" "worker" {
  function_name    = "${local.prefix}-worker"
  role             = aws_iam_role.worker.arn
  runtime          = "python3.13"
  handler          = "handlers.sqs_handler.lambda_handler"
  filename         = local.function_zip
  source_code_hash = filebase64sha256(local.function_zip)
  layers           = [aws_lambda_layer_version.dependencies.arn]
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  publish          = true

  environment {
    variables = merge(local.powertools, {
      POWERTOOLS_SERVICE_NAME = "users-worker"
      USERS_TABLE             = aws_dynamodb_table.users.name
      IDEMPOTENCY_TABLE       = aws_dynamodb_table.idempotency.name
    })
  }
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.worker.name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }
  tracing_config {
    mode = "Active"
  }
  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }
  #checkov:skip=CKV_AWS_116:failed messages go to the queue's own dead-letter queue (redrive policy), not to a function DLQ
  #checkov:skip=CKV_AWS_115:concurrency is limited per account for now; reserve some per function once traffic is known
  #checkov:skip=CKV_AWS_173:the environment holds names, no secrets: encrypted with Lambda's own key
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile (AWS Signer), out of this lesson's scope
}

# The users import: S3 -> Lambda -> DynamoDB (lesson 06).
resource "aws_lambda_function" "importer" {
  function_name    = "${local.prefix}-importer"
  role             = aws_iam_role.importer.arn
  runtime          = "python3.13"
  handler          = "handlers.s3_handler.lambda_handler"
  filename         = local.function_zip
  source_code_hash = filebase64sha256(local.function_zip)
  layers           = [aws_lambda_layer_version.dependencies.arn]
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  publish          = true

  environment {
    variables = merge(local.powertools, {
      POWERTOOLS_SERVICE_NAME = "users-importer"
      USERS_TABLE             = aws_dynamodb_table.users.name
    })
  }
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.importer.name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }
  tracing_config {
    mode = "Active"
  }
  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }
  #checkov:skip=CKV_AWS_116:S3 invokes it asynchronously: failures go to the on-failure destination of aws_lambda_function_event_invoke_config.importer
  #checkov:skip=CKV_AWS_115:concurrency is limited per account for now; reserve some per function once traffic is known
  #checkov:skip=CKV_AWS_173:the environment holds names, no secrets: encrypted with Lambda's own key
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile (AWS Signer), out of this lesson's scope
}

# Event sources and clients call the live alias, never $LATEST: releasing is moving the alias.
resource "aws_lambda_alias" "api" {
  name             = "live"
  function_name    = aws_lambda_function.api.function_name
  function_version = aws_lambda_function.api.version
}

resource "aws_lambda_alias" "worker" {
  name             = "live"
  function_name    = aws_lambda_function.worker.function_name
  function_version = aws_lambda_function.worker.version
}

resource "aws_lambda_alias" "importer" {
  name             = "live"
  function_name    = aws_lambda_function.importer.function_name
  function_version = aws_lambda_function.importer.version
}

resource "aws_lambda_provisioned_concurrency_config" "api" {
  count                             = var.provisioned_concurrency > 0 ? 1 : 0
  function_name                     = aws_lambda_alias.api.function_name
  qualifier                         = aws_lambda_alias.api.name
  provisioned_concurrent_executions = var.provisioned_concurrency
}

# What invokes the functions: the sign-ups queue (worker), the imports bucket (importer) and the
# HTTP API (api). Each one calls the function's live alias.

# --- SQS -> worker --------------------------------------------------------------------------

resource "aws_sqs_queue" "signups_dlq" {
  name                      = "${local.prefix}-signups-dlq"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps: time to look and redrive
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "signups" {
  name = "${local.prefix}-signups"
  # At least six times the function's timeout (AWS's advice): a message being processed stays
  # invisible until Lambda is done with it, retries included.
  visibility_timeout_seconds = 6 * aws_lambda_function.worker.timeout
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.signups_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "signups_dlq" {
  queue_url = aws_sqs_queue.signups_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.signups.arn]
  })
}

resource "aws_lambda_event_source_mapping" "signups" {
  event_source_arn        = aws_sqs_queue.signups.arn
  function_name           = aws_lambda_alias.worker.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"] # else a partial batch response is ignored
}

# --- S3 -> importer -------------------------------------------------------------------------

resource "aws_lambda_permission" "imports_bucket" {
  statement_id   = "AllowImportsBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.importer.function_name
  qualifier      = aws_lambda_alias.importer.name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.imports.arn
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_s3_bucket_notification" "imports" {
  bucket = aws_s3_bucket.imports.id
  lambda_function {
    lambda_function_arn = aws_lambda_alias.importer.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "imports/" # reports/ is written by the importer: no loop
    filter_suffix       = ".csv"
  }
  depends_on = [aws_lambda_permission.imports_bucket]
}

resource "aws_sqs_queue" "imports_failed" {
  name                      = "${local.prefix}-imports-failed"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# S3 invokes asynchronously: two retries, then the event goes to imports_failed.
resource "aws_lambda_function_event_invoke_config" "importer" {
  function_name                = aws_lambda_function.importer.function_name
  qualifier                    = aws_lambda_alias.importer.name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
  destination_config {
    on_failure {
      destination = aws_sqs_queue.imports_failed.arn
    }
  }
}

# --- HTTP API -> api --------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "users" {
  name          = "${local.prefix}-api"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "users" {
  api_id                 = aws_apigatewayv2_api.users.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_alias.api.invoke_arn
  payload_format_version = "1.0" # the handler's APIGatewayRestResolver reads the 1.0 event
  timeout_milliseconds   = 15000
}

resource "aws_apigatewayv2_route" "users" {
  for_each  = toset(["ANY /users", "ANY /users/{user_id}"])
  api_id    = aws_apigatewayv2_api.users.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.users.id}"
  #checkov:skip=CKV_AWS_309:the users API has no authorizer yet: adding one (JWT, IAM) is the next step before production
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.prefix}-api"
  retention_in_days = var.log_retention_days
  #checkov:skip=CKV_AWS_158:encrypted by CloudWatch Logs' own key; a customer-managed KMS key is a cost decision per environment
  #checkov:skip=CKV_AWS_338:30 days in development; a year of retention is a decision for production (set log_retention_days)
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.users.id
  name        = "$default"
  auto_deploy = true
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      route     = "$context.routeKey"
      status    = "$context.status"
      latency   = "$context.integrationLatency"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  qualifier     = aws_lambda_alias.api.name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.users.execution_arn}/*/*"
}

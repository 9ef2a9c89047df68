output "api_url" {
  description = "The users API: GET/POST {api_url}/users, GET {api_url}/users/{user_id}."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "signups_queue_url" {
  value = aws_sqs_queue.signups.url
}

output "imports_bucket" {
  description = "Upload CSV files under imports/; reports appear under reports/."
  value       = aws_s3_bucket.imports.bucket
}

output "function_names" {
  value = [aws_lambda_function.api.function_name, aws_lambda_function.worker.function_name,
  aws_lambda_function.importer.function_name]
}

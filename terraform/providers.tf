# The AWS provider. With aws_endpoint set (a moto server on loopback, lesson 08), every service
# is called there, with moto's fake credentials: nothing reaches AWS.
provider "aws" {
  region = var.region

  skip_credentials_validation = var.aws_endpoint != null
  skip_metadata_api_check     = var.aws_endpoint != null
  skip_requesting_account_id  = var.aws_endpoint != null
  s3_use_path_style           = var.aws_endpoint != null
  access_key                  = var.aws_endpoint != null ? "testing" : null
  secret_key                  = var.aws_endpoint != null ? "testing" : null

  endpoints {
    apigatewayv2 = var.aws_endpoint
    cloudwatch   = var.aws_endpoint
    dynamodb     = var.aws_endpoint
    iam          = var.aws_endpoint
    lambda       = var.aws_endpoint
    logs         = var.aws_endpoint
    s3           = var.aws_endpoint
    sqs          = var.aws_endpoint
    sts          = var.aws_endpoint
  }

  default_tags {
    tags = {
      Project     = var.project_name
      Environment = var.environment
    }
  }
}

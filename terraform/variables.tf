# Everything that differs between environments; the defaults are the development one.

variable "project_name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "users-service"
}

variable "environment" {
  description = "dev, staging or prod."
  type        = string
  default     = "dev"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "architecture" {
  description = "The functions' architecture: the build (lesson 07) must be for the same one."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "MB of memory of each function (CPU grows with it)."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Seconds each function may run."
  type        = number
  default     = 10
}

variable "log_retention_days" {
  description = "How long CloudWatch Logs keeps the functions' logs."
  type        = number
  default     = 30
}

variable "provisioned_concurrency" {
  description = "Execution environments kept initialised for the API's live alias (0: none)."
  type        = number
  default     = 0
}

variable "subnet_ids" {
  description = "Private subnets to run the functions in; empty: no VPC (the default)."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of the functions, when they run in a VPC."
  type        = list(string)
  default     = []
}

variable "api_image_uri" {
  description = "The container-image variant of the API (lesson 07's Dockerfile), pinned by digest: REPOSITORY@sha256:DIGEST. null: the zip."
  type        = string
  default     = null
  validation {
    condition     = var.api_image_uri == null || can(regex("@sha256:[0-9a-f]{64}$", var.api_image_uri))
    error_message = "Pin the image by digest (REPOSITORY@sha256:...), never a tag such as :latest."
  }
}

variable "aws_endpoint" {
  description = "Send every AWS call to this endpoint instead (a moto server: http://127.0.0.1:PORT)."
  type        = string
  default     = null
}
